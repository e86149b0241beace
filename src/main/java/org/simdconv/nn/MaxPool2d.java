package org.simdconv.nn;

import org.simdconv.tensor.Tensor;

/**
 * Max pooling (seed 003): each output is the largest input of its window, and the backward pass
 * sends each output's gradient to the input it took, recorded by the forward pass (the arg-max),
 * and nothing to the others. Any layout: the output and the input gradient take the input's.
 *
 * <p>The arg-max, in the window's row-major order: of equal largest values the first wins; a NaN
 * wins over every number, and of several NaNs the last (PyTorch's rule), so a NaN input always
 * gives a NaN output. Padding never wins. With the ReLU before it fused in, an output that is not
 * positive (a NaN included) records no arg-max and sends its gradient nowhere, as the separate
 * ReLU's gradient ({@code dy} where {@code x > 0}) would.
 */
public final class MaxPool2d extends Pool2d {

    /** True when the ReLU before this pooling is computed here ({@link Sequential} decides). */
    private boolean rectify;

    /** Windows {@code kernel x kernel}, stride {@code kernel}, no padding (PyTorch's defaults). */
    public MaxPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    /** Square windows of {@code kernel}, {@code stride} apart, over the input padded by {@code padding}. */
    public MaxPool2d(int kernel, int stride, int padding) {
        super(kernel, stride, padding, true);
    }

    /** Computes the ReLU before this layer too: max pooling commutes with it. */
    void rectify() {
        rectify = true;
    }

    @Override
    void pool(Tensor x, ActivationBuffers b) {
        backend().layers().maxPool(b.pooling, x, b.output, b.argmax, rectify, workspace, execution().parallelism());
    }

    @Override
    void poolBackward(Tensor gradOutput, ActivationBuffers b) {
        backend().layers().maxPoolBackward(b.pooling, gradOutput, b.argmax, b.gradInput, workspace,
                execution().parallelism());
    }

    @Override
    public String toString() {
        return "MaxPool2d(" + window.describe() + ")";
    }
}
