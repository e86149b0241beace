package org.simdconv.conv;

import java.util.Objects;

/**
 * The hyper-parameters of a 2-D convolution that do not follow from the tensor shapes: stride,
 * padding, dilation and groups. Immutable; the {@code with...} methods return a changed copy.
 *
 * <p>Dilation counts from 1 as in PyTorch (1 = a dense kernel); oneDNN counts the same thing from 0.
 */
public record Conv2dOptions(int strideH, int strideW, Padding padding, int dilationH, int dilationW, int groups) {

    public Conv2dOptions {
        Objects.requireNonNull(padding, "padding");
        if (strideH < 1 || strideW < 1) {
            throw new IllegalArgumentException("stride must be >= 1, got strideH=" + strideH + " strideW=" + strideW);
        }
        if (dilationH < 1 || dilationW < 1) {
            throw new IllegalArgumentException("dilation must be >= 1 (1 = dense kernel), got dilationH="
                    + dilationH + " dilationW=" + dilationW);
        }
        if (groups < 1) {
            throw new IllegalArgumentException("groups must be >= 1, got groups=" + groups);
        }
    }

    /** Stride 1, no padding, no dilation, one group. */
    public static Conv2dOptions defaults() {
        return new Conv2dOptions(1, 1, Padding.valid(), 1, 1, 1);
    }

    public Conv2dOptions withStride(int stride) {
        return withStride(stride, stride);
    }

    public Conv2dOptions withStride(int strideH, int strideW) {
        return new Conv2dOptions(strideH, strideW, padding, dilationH, dilationW, groups);
    }

    public Conv2dOptions withPadding(Padding padding) {
        return new Conv2dOptions(strideH, strideW, padding, dilationH, dilationW, groups);
    }

    public Conv2dOptions withDilation(int dilation) {
        return withDilation(dilation, dilation);
    }

    public Conv2dOptions withDilation(int dilationH, int dilationW) {
        return new Conv2dOptions(strideH, strideW, padding, dilationH, dilationW, groups);
    }

    public Conv2dOptions withGroups(int groups) {
        return new Conv2dOptions(strideH, strideW, padding, dilationH, dilationW, groups);
    }
}
