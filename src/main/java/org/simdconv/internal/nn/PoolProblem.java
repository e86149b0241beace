package org.simdconv.internal.nn;

/**
 * Every size of one 2-D pooling, checked by the layer that makes it: input {@code N x C x H x W},
 * windows {@code kh x kw} at strides {@code (sh, sw)} over the input padded by {@code (ph, pw)} on
 * each side, output {@code N x C x outH x outW} with {@code outH = floor((H + 2 ph - kh) / sh) + 1}
 * (PyTorch's {@code MaxPool2d} and {@code AvgPool2d}, {@code ceil_mode=False}).
 */
public record PoolProblem(int n, int c, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int outH,
                          int outW) {

    public int[] inputShape() {
        return new int[] {n, c, h, w};
    }

    public int[] outputShape() {
        return new int[] {n, c, outH, outW};
    }
}
