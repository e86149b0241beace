package org.simdconv.internal.simd;

import java.lang.foreign.MemorySegment;
import org.simdconv.internal.nn.LayerKernels;
import org.simdconv.internal.nn.PoolProblem;
import org.simdconv.internal.simd.dense.DenseProducts;
import org.simdconv.internal.simd.elementwise.Elementwise;
import org.simdconv.internal.simd.pooling.Pooling;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/** The layers around the convolution on the Vector API path: one family per kind of work. */
final class SimdLayers implements LayerKernels {

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor b, Tensor y, Workspace workspace, Parallelism par) {
        DenseProducts.forward(x, w, b, y, workspace, par);
    }

    @Override
    public void linearBackwardData(Tensor dy, Tensor w, Tensor dx, Workspace workspace, Parallelism par) {
        DenseProducts.backwardData(dy, w, dx, workspace, par);
    }

    @Override
    public void linearBackwardWeights(Tensor x, Tensor dy, Tensor dw, Tensor db, Workspace workspace,
                                      Parallelism par) {
        DenseProducts.backwardWeights(x, dy, dw, db, workspace, par);
    }

    @Override
    public void relu(Tensor x, Tensor y, Parallelism par) {
        Elementwise.relu(x, y, par);
    }

    @Override
    public void reluBackward(Tensor x, Tensor dy, Tensor dx, Parallelism par) {
        Elementwise.reluBackward(x, dy, dx, par);
    }

    @Override
    public void maxPool(PoolProblem p, Tensor x, Tensor y, MemorySegment argmax, boolean rectify,
                        Workspace workspace, Parallelism par) {
        Pooling.maxPool(p, x, y, argmax, rectify, workspace, par);
    }

    @Override
    public void maxPoolBackward(PoolProblem p, Tensor dy, MemorySegment argmax, Tensor dx, Workspace workspace,
                                Parallelism par) {
        Pooling.maxPoolBackward(p, dy, argmax, dx, workspace, par);
    }

    @Override
    public void avgPool(PoolProblem p, Tensor x, Tensor y, Workspace workspace, Parallelism par) {
        Pooling.avgPool(p, x, y, workspace, par);
    }

    @Override
    public void avgPoolBackward(PoolProblem p, Tensor dy, Tensor dx, Workspace workspace, Parallelism par) {
        Pooling.avgPoolBackward(p, dy, dx, workspace, par);
    }

    @Override
    public void sgdStep(Tensor p, Tensor grad, Tensor velocity, float lr, float momentum, float weightDecay,
                        boolean first, Parallelism par) {
        Elementwise.sgdStep(p, grad, velocity, lr, momentum, weightDecay, first, par);
    }
}
