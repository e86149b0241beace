package org.simdconv.nn;

import java.util.function.Function;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * What max and average pooling share (seed 003): the window, the buffers kept per input shape in
 * the input's layout, and the forward and backward passes around the kernel that differs.
 */
public abstract sealed class Pool2d extends Layer permits MaxPool2d, AvgPool2d {

    final PoolWindow window;
    final Workspace workspace = new Workspace();
    private final PerShape<ActivationBuffers> perShape = new PerShape<>();
    private final Function<int[], ActivationBuffers> make;
    private ActivationBuffers last;

    Pool2d(int kernel, int stride, int padding, boolean argmax) {
        this.window = new PoolWindow(kernel, kernel, stride, stride, padding, padding);
        this.make = shape -> ActivationBuffers.pooling(window.problem(shape, this), argmax);
    }

    @Override
    public int[] outputShape(int... inputShape) {
        return window.problem(inputShape, this).outputShape();
    }

    @Override
    final Tensor forward(Tensor x) {
        last = perShape.of(x, make).matching(x);
        pool(x, last);
        return last.output;
    }

    @Override
    final Tensor backward(Tensor gradOutput, boolean inputGradient) {
        requireGradient(gradOutput, last == null ? null : last.output);
        if (!inputGradient) {
            return null;
        }
        poolBackward(gradOutput, last);
        return last.gradInput;
    }

    /** The forward kernel: {@code x} into {@code b.output} (and the arg-max). */
    abstract void pool(Tensor x, ActivationBuffers b);

    /** The backward kernel: {@code gradOutput} into {@code b.gradInput}. */
    abstract void poolBackward(Tensor gradOutput, ActivationBuffers b);

    @Override
    final void release() {
        perShape.close();
        workspace.release();
        last = null;
    }
}
