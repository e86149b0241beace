package org.simdconv.internal.simd.firstlayer;

import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvKernel;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.internal.simd.common.SimdPrimitive;
import org.simdconv.internal.simd.common.Vectors;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * First layers: a few plain input channels (fewer than half a block) into at least half a block of
 * filters, vectorised over the output channels as oneDNN does for such layers: each tap (one input
 * channel at one kernel position) is broadcast to four blocks of filters. Forward
 * ({@link PlainInputConvolution}, four blocks by six pixels) and backward-weights
 * ({@link PlainInputWeightGradient}, four blocks by six taps). The input is read plain; the output
 * (or its gradient) is channel-blocked, or plain for the forward pass.
 */
public final class FirstLayerKernel implements ConvKernel {

    @Override
    public String name() {
        return "plain-input-4x6";
    }

    /** See {@link PlainInputConvolution#accepts} and {@link PlainInputWeightGradient#accepts}. */
    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return switch (pass) {
            case FORWARD -> PlainInputConvolution.accepts(g);
            case BACKWARD_WEIGHTS -> PlainInputWeightGradient.accepts(g);
            case BACKWARD_DATA -> false;
        };
    }

    @Override
    public ForwardPrimitive<float[]> forward(ConvProblem g) {
        return new Forward(g);
    }

    @Override
    public BackwardWeightsPrimitive backwardWeights(ConvProblem g) {
        return new BackwardWeights(g);
    }

    private static final class Forward extends SimdPrimitive implements ForwardPrimitive<float[]> {
        private final PlainInputConvolution conv;

        Forward(ConvProblem g) {
            super(g);
            this.conv = new PlainInputConvolution(g);
        }

        /** A plain input; the output plain or in blocks of the lanes. */
        @Override
        public boolean takes(Layout input, Layout output) {
            return input.isPlain() && plainOrLanes(output);
        }

        @Override
        public float[] pack(float[] oihw, float[] previous) {
            float[] packed = previous != null ? previous : new float[conv.weightLength()];
            conv.packWeights(oihw, packed);
            return packed;
        }

        @Override
        public void forward(Tensor input, float[] weights, Tensor bias, Tensor output, Workspace workspace,
                            Parallelism par) {
            conv.forward(input, weights, bias, output, workspace, par);
        }
    }

    private static final class BackwardWeights extends SimdPrimitive implements BackwardWeightsPrimitive {
        private final PlainInputWeightGradient grad;

        BackwardWeights(ConvProblem g) {
            super(g);
            this.grad = new PlainInputWeightGradient(g);
        }

        /** A plain input and an output gradient in blocks of the lanes (the plan reorders a plain one). */
        @Override
        public boolean takes(Layout input, Layout output) {
            return input.isPlain() && output.block() == Vectors.LANES;
        }

        @Override
        public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                    boolean accumulate, Workspace workspace, Parallelism par) {
            grad.backwardWeights(input, gradOutput, gradWeight, gradBias, accumulate, workspace, par);
        }
    }
}
