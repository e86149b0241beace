package org.simdconv.internal.conv;


/**
 * Every size of one convolution, as the kernels read it: made by the public API from a checked
 * {@code Conv2dGeometry}, so kernels may trust it. Input {@code N x C x H x W}, weights
 * {@code K x C/groups x R x S} (OIHW), output {@code N x K x outH x outW}, with
 * (seed 001, 17.1.10, per side and dilated)
 * <pre>
 *   outH = floor((H + padTop + padBottom - dilationH*(R-1) - 1) / strideH) + 1
 * </pre>
 */
public record ConvProblem(
        int n, int c, int h, int w,
        int k, int r, int s,
        int strideH, int strideW,
        int padTop, int padBottom, int padLeft, int padRight,
        int dilationH, int dilationW,
        int groups,
        int outH, int outW) {

    public int channelsPerGroup() {
        return c / groups;
    }

    public int filtersPerGroup() {
        return k / groups;
    }

    public int[] inputShape() {
        return new int[] {n, c, h, w};
    }

    public int[] weightShape() {
        return new int[] {k, c / groups, r, s};
    }

    public int[] biasShape() {
        return new int[] {k};
    }

    public int[] outputShape() {
        return new int[] {n, k, outH, outW};
    }

    /** Channels of the activation on {@code side}: the input's, or the output's. */
    public int channels(Side side) {
        return side == Side.INPUT ? c : k;
    }

    /** Nominal FLOPs of any one pass: {@code 2 N K (C/g) R S Ho Wo} (padded taps included). */
    public long flops() {
        return 2L * n * k * channelsPerGroup() * r * s * outH * outW;
    }

    /** oneDNN benchdnn-style descriptor, for logs and test names. */
    @Override
    public String toString() {
        return "g" + groups + "mb" + n + "ic" + c + "ih" + h + "iw" + w + "oc" + k + "oh" + outH + "ow" + outW
                + "kh" + r + "kw" + s + "sh" + strideH + "sw" + strideW
                + "pt" + padTop + "pb" + padBottom + "pl" + padLeft + "pr" + padRight
                + "dh" + dilationH + "dw" + dilationW;
    }
}
