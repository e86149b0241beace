package org.simdconv.internal.nn;

import java.lang.foreign.MemorySegment;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * The arithmetic of the layers around the convolution, one implementation per backend: the scalar
 * reference (the oracle, in double) and the Vector API path. The layer that calls has checked every
 * tensor: shapes, density, layouts (activations of a pooling or a ReLU share one layout, plain or
 * channel-blocked; dense-layer tensors are plain), and no result overlapping an operand.
 */
public interface LayerKernels {

    /**
     * A fully connected layer's forward pass (seed 003): {@code y[n][o] = b[o] + sum_i x[n][i] * w[o][i]}
     * for {@code x} of shape N x I, {@code w} O x I (PyTorch's {@code Linear.weight}), {@code b} O or null.
     */
    void linearForward(Tensor x, Tensor w, Tensor b, Tensor y, Workspace workspace, Parallelism par);

    /** The input gradient: {@code dx[n][i] = sum_o dy[n][o] * w[o][i]}. */
    void linearBackwardData(Tensor dy, Tensor w, Tensor dx, Workspace workspace, Parallelism par);

    /**
     * The weight and bias gradients, summed over the batch: {@code dw[o][i] = sum_n dy[n][o] * x[n][i]},
     * {@code db[o] = sum_n dy[n][o]} (when {@code db} is not null). Written, not added.
     */
    void linearBackwardWeights(Tensor x, Tensor dy, Tensor dw, Tensor db, Workspace workspace, Parallelism par);

    /** {@code y = max(x, 0)}, element by element; a NaN stays a NaN. */
    void relu(Tensor x, Tensor y, Parallelism par);

    /** {@code dx = dy where x > 0, else 0} ({@code x} may be the ReLU's output: the same test). */
    void reluBackward(Tensor x, Tensor dy, Tensor dx, Parallelism par);

    /**
     * Max pooling: each output is the largest input of its window (padding never wins), and
     * {@code argmax} receives, for every output element, which input it took, in an order this
     * implementation chooses and only its {@link #maxPoolBackward} reads ({@code y.storageBytes()}
     * bytes: a 32-bit int per element of the output's storage). Going through the window in
     * row-major order, an element wins when it is larger than the best so far or a NaN (PyTorch's
     * rule: among equal values the first wins, a NaN wins over every number).
     *
     * <p>With {@code rectify}, the pooling of {@code ReLU(x)} in one pass (max commutes with ReLU):
     * {@code y = max(maxpool(x), 0)}, and an output that is not positive took no input (its arg-max
     * is -1, so the backward pass sends its gradient nowhere), exactly as a ReLU layer's gradient
     * {@code dy where y > 0} before an unfused pooling.
     */
    void maxPool(PoolProblem p, Tensor x, Tensor y, MemorySegment argmax, boolean rectify, Workspace workspace,
                 Parallelism par);

    /**
     * The max-pooling gradient (seed 003): every output's gradient goes to the input its window took
     * ({@code argmax}), all others get zero; windows that overlap add their gradients.
     */
    void maxPoolBackward(PoolProblem p, Tensor dy, MemorySegment argmax, Tensor dx, Workspace workspace,
                         Parallelism par);

    /** Average pooling: the mean of the window, padding counted as zeros ({@code count_include_pad}). */
    void avgPool(PoolProblem p, Tensor x, Tensor y, Workspace workspace, Parallelism par);

    /** The average-pooling gradient (seed 003): each output's gradient spread evenly over its window. */
    void avgPoolBackward(PoolProblem p, Tensor dy, Tensor dx, Workspace workspace, Parallelism par);

    /**
     * One SGD step on one parameter, PyTorch's {@code torch.optim.SGD} without dampening or Nesterov:
     * {@code g = grad + weightDecay * p}; {@code v = g} on the first step, else {@code v = momentum
     * * v + g}; {@code p = p - lr * v}. With momentum 0, {@code p = p - lr * g} and the velocity is
     * neither read nor written (it may be null). Float operations in this order, no fused
     * multiply-add, so every backend gives the same bits.
     */
    void sgdStep(Tensor p, Tensor grad, Tensor velocity, float lr, float momentum, float weightDecay, boolean first,
                 Parallelism par);
}
