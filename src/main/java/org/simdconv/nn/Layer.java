package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.random.RandomGenerator;
import org.simdconv.internal.Backend;
import org.simdconv.tensor.Tensor;

/**
 * One step of a {@link Sequential} model, as PyTorch's {@code nn.Module}: a layer is made with its
 * sizes ({@code new Conv2d(1, 32, 5)}), then given to one model, which allocates its parameters and
 * runs it. Between layers, activations stay in the layout the convolution prefers (channel blocks
 * of the vector width): ReLU and pooling compute in any layout, so a network reorders only at its
 * input and at the {@link Flatten} (and inside a convolution whose kernel cannot take that layout).
 *
 * <p>A layer keeps, for each input shape it has seen, its output and its input gradient (and what
 * else its backward pass needs), and reuses them from batch to batch: the tensor a pass returns
 * belongs to the layer and is overwritten by the next pass of the same shape. Not thread-safe: one
 * model trains on one thread at a time (its kernels use the model's threads).
 */
public abstract sealed class Layer permits Conv2d, Linear, ReLU, Pool2d, Flatten {

    private Execution execution;
    private Backend backend;

    Layer() {
    }

    /**
     * The shape of this layer's output for an input of {@code inputShape}.
     *
     * @throws IllegalArgumentException naming what does not fit, when the input cannot enter this layer
     */
    public abstract int[] outputShape(int... inputShape);

    /**
     * The floating-point operations of the forward pass on an input of {@code inputShape}, two per
     * multiply-add of its products; 0 for the layers that compute none (ReLU, pooling, flatten).
     */
    public long flops(int... inputShape) {
        return 0;
    }

    /** The trained tensors of this layer (none for most), once it belongs to a model. */
    public List<Parameter> parameters() {
        return List.of();
    }

    /** Called once by the model that takes this layer; allocates the parameters in {@code arena}. */
    void attach(Execution execution, Arena arena, String name) {
        if (this.execution != null) {
            throw new IllegalStateException(this + " already belongs to a model; make a new layer for another");
        }
        this.execution = execution;
        this.backend = execution.backend();
    }

    /** A parameter of this layer named {@code name}: its value and gradient, allocated in {@code arena}. */
    Parameter parameter(Arena arena, String name, int... shape) {
        return new Parameter(name, Tensor.allocate(arena, shape), Tensor.allocate(arena, shape), execution);
    }

    /** Draws the parameters afresh, as PyTorch's {@code reset_parameters}. */
    void initialize(RandomGenerator random) {
    }

    /** The forward pass: the output, owned by this layer. {@code x} is kept for the backward pass. */
    abstract Tensor forward(Tensor x);

    /**
     * The backward pass of the last forward: writes the parameters' gradients and returns the input
     * gradient (owned by this layer), or null when {@code inputGradient} is false.
     */
    abstract Tensor backward(Tensor gradOutput, boolean inputGradient);

    /** Releases the memory of every shape seen. */
    abstract void release();

    Execution execution() {
        return execution;
    }

    Backend backend() {
        return backend;
    }

    /** Throws unless {@code gradOutput} has the shape and layout of the last output. */
    void requireGradient(Tensor gradOutput, Tensor output) {
        if (output == null) {
            throw new IllegalStateException(this + ": backward before any forward pass");
        }
        if (!gradOutput.hasShapeOf(output) || !gradOutput.layout().equals(output.layout())) {
            throw new IllegalArgumentException(this + ": gradOutput " + Arrays.toString(gradOutput.shape()) + " "
                    + gradOutput.layout() + " must have the shape and layout of the last output "
                    + Arrays.toString(output.shape()) + " " + output.layout());
        }
    }
}
