package org.simdconv.nn;

import java.util.function.Function;
import org.simdconv.tensor.Tensor;

/**
 * {@code y = max(x, 0)} element by element; the gradient passes where the output is positive and is
 * zero elsewhere. Any layout: the output and the input gradient take the input's.
 */
public final class ReLU extends Layer {

    private final PerShape<ActivationBuffers> perShape = new PerShape<>();
    private final Function<int[], ActivationBuffers> make = ActivationBuffers::elementwise;
    private ActivationBuffers last;
    /** True when the max pooling after this layer computes it: this layer passes values and gradients on. */
    private boolean fused;

    public ReLU() {
    }

    @Override
    public int[] outputShape(int... inputShape) {
        return inputShape.clone();
    }

    /** Leaves the work to the max pooling after this layer ({@link MaxPool2d#rectify()}). */
    void fuseIntoNext() {
        fused = true;
    }

    @Override
    Tensor forward(Tensor x) {
        if (fused) {
            return x;
        }
        last = perShape.of(x, make).matching(x);
        backend().layers().relu(x, last.output, execution().parallelism());
        return last.output;
    }

    @Override
    Tensor backward(Tensor gradOutput, boolean inputGradient) {
        if (fused) {
            return inputGradient ? gradOutput : null;
        }
        requireGradient(gradOutput, last == null ? null : last.output);
        if (!inputGradient) {
            return null;
        }
        backend().layers().reluBackward(last.output, gradOutput, last.gradInput, execution().parallelism());
        return last.gradInput;
    }

    @Override
    void release() {
        perShape.close();
        last = null;
    }

    @Override
    public String toString() {
        return "ReLU()";
    }
}
