package org.simdconv.nn;

import org.simdconv.tensor.Tensor;

/**
 * Average pooling (seed 003): each output is the mean of its window, padding counted as zeros
 * (PyTorch's {@code count_include_pad=True}), and the backward pass spreads each output's gradient
 * evenly over its window. Any layout: the output and the input gradient take the input's.
 */
public final class AvgPool2d extends Pool2d {

    /** Windows {@code kernel x kernel}, stride {@code kernel}, no padding (PyTorch's defaults). */
    public AvgPool2d(int kernel) {
        this(kernel, kernel, 0);
    }

    /** Square windows of {@code kernel}, {@code stride} apart, over the input padded by {@code padding}. */
    public AvgPool2d(int kernel, int stride, int padding) {
        super(kernel, stride, padding, false);
    }

    @Override
    void pool(Tensor x, ActivationBuffers b) {
        backend().layers().avgPool(b.pooling, x, b.output, workspace, execution().parallelism());
    }

    @Override
    void poolBackward(Tensor gradOutput, ActivationBuffers b) {
        backend().layers().avgPoolBackward(b.pooling, gradOutput, b.gradInput, workspace, execution().parallelism());
    }

    @Override
    public String toString() {
        return "AvgPool2d(" + window.describe() + ")";
    }
}
