package org.simdconv.conv;

import java.util.Arrays;
import java.util.Objects;

/**
 * Every size of one 2-D convolution problem, resolved and checked.
 *
 * <p>Input {@code N x C x H x W} (NCHW), weights {@code K x C/groups x R x S} (OIHW, as in PyTorch and
 * oneDNN), bias {@code K}, output {@code N x K x Ho x Wo} with (seed 001, 17.1.10, generalised to
 * per-side padding and dilation)
 * <pre>
 *   Ho = floor((H + padTop + padBottom - dilationH*(R-1) - 1) / strideH) + 1
 *   Wo = floor((W + padLeft + padRight - dilationW*(S-1) - 1) / strideW) + 1
 * </pre>
 * A geometry exists only if it makes sense: {@link #of} rejects anything else with an
 * {@link IllegalArgumentException} naming the parameter and its value, before any memory is touched.
 */
public record Conv2dGeometry(
        int n, int c, int h, int w,
        int k, int r, int s,
        int strideH, int strideW,
        int padTop, int padBottom, int padLeft, int padRight,
        int dilationH, int dilationW,
        int groups,
        int outH, int outW) {

    /**
     * Checks a geometry built directly rather than through {@link #of}: kernels trust a geometry,
     * so an inconsistent one must not exist.
     */
    public Conv2dGeometry {
        int[] sizes = {n, c, h, w, k, r, s, strideH, strideW, dilationH, dilationW, groups, outH, outW};
        String[] names = {"n", "c", "h", "w", "k", "r", "s", "strideH", "strideW", "dilationH", "dilationW", "groups",
                "outH", "outW"};
        for (int i = 0; i < sizes.length; i++) {
            if (sizes[i] < 1) {
                throw new IllegalArgumentException(names[i] + " must be >= 1, got " + names[i] + "=" + sizes[i]);
            }
        }
        if (padTop < 0 || padBottom < 0 || padLeft < 0 || padRight < 0) {
            throw new IllegalArgumentException("padding must be >= 0 on every side, got top=" + padTop + " bottom="
                    + padBottom + " left=" + padLeft + " right=" + padRight);
        }
        if (c % groups != 0 || k % groups != 0) {
            throw new IllegalArgumentException("groups=" + groups + " must divide C=" + c + " and K=" + k);
        }
        int expectedH = outputSize("height", h, padTop, padBottom, r, dilationH, strideH);
        int expectedW = outputSize("width", w, padLeft, padRight, s, dilationW, strideW);
        if (outH != expectedH || outW != expectedW) {
            throw new IllegalArgumentException("output " + outH + "x" + outW + " does not follow from the sizes: expected "
                    + expectedH + "x" + expectedW);
        }
        requireAddressable("input", (long) n * c * h * w);
        requireAddressable("weight", (long) k * (c / groups) * r * s);
        requireAddressable("output", (long) n * k * outH * outW);
    }

    /**
     * The most elements a tensor of a convolution may hold: the oracle and the kernels' per-item
     * staging index Java arrays, so a larger tensor is refused here, early and by name, rather than
     * overflow an index later.
     */
    public static final long MAX_ELEMENTS = Integer.MAX_VALUE - 8;

    private static void requireAddressable(String tensor, long elements) {
        if (elements > MAX_ELEMENTS) {
            throw new IllegalArgumentException(tensor + " would hold " + elements + " elements, more than the "
                    + MAX_ELEMENTS + " (2^31 - 9) a tensor of simdconv's convolution may hold: split the batch");
        }
    }

    /** Resolves the geometry of input shape {@code NCHW} and weight shape {@code K,C/g,R,S}. */
    public static Conv2dGeometry of(int[] inputShape, int[] weightShape, Conv2dOptions options) {
        Objects.requireNonNull(inputShape, "inputShape");
        Objects.requireNonNull(weightShape, "weightShape");
        Objects.requireNonNull(options, "options");
        if (inputShape.length != 4) {
            throw new IllegalArgumentException("input must be 4-D (N, C, H, W), got shape " + Arrays.toString(inputShape));
        }
        if (weightShape.length != 4) {
            throw new IllegalArgumentException("weight must be 4-D (K, C/groups, R, S), got shape "
                    + Arrays.toString(weightShape));
        }
        int n = inputShape[0], c = inputShape[1], h = inputShape[2], w = inputShape[3];
        int k = weightShape[0], cPerGroup = weightShape[1], r = weightShape[2], s = weightShape[3];
        requirePositive("input", inputShape, new String[] {"N", "C", "H", "W"});
        requirePositive("weight", weightShape, new String[] {"K", "C/groups", "R", "S"});
        int g = options.groups();
        if (c % g != 0) {
            throw new IllegalArgumentException("groups=" + g + " must divide the input channels C=" + c);
        }
        if (k % g != 0) {
            throw new IllegalArgumentException("groups=" + g + " must divide the output channels K=" + k);
        }
        if (cPerGroup != c / g) {
            throw new IllegalArgumentException("weight shape " + Arrays.toString(weightShape) + " needs C/groups="
                    + (c / g) + " in dimension 1 (input C=" + c + ", groups=" + g + "), got " + cPerGroup);
        }
        int sh = options.strideH(), sw = options.strideW();
        int dh = options.dilationH(), dw = options.dilationW();
        int[] pad = resolvePadding(options.padding(), h, w, r, s, sh, sw, dh, dw);
        int outH = outputSize("height", h, pad[0], pad[1], r, dh, sh);
        int outW = outputSize("width", w, pad[2], pad[3], s, dw, sw);
        return new Conv2dGeometry(n, c, h, w, k, r, s, sh, sw, pad[0], pad[1], pad[2], pad[3], dh, dw, g, outH, outW);
    }

    /** Convenience form of {@link #of(int[], int[], Conv2dOptions)}. */
    public static Conv2dGeometry of(int n, int c, int h, int w, int k, int r, int s, Conv2dOptions options) {
        return of(new int[] {n, c, h, w}, new int[] {k, c / Math.max(1, options.groups()), r, s}, options);
    }

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

    private static void requirePositive(String tensor, int[] shape, String[] names) {
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] <= 0) {
                throw new IllegalArgumentException(tensor + " dimension " + names[i] + " must be >= 1, got "
                        + names[i] + "=" + shape[i] + " in shape " + Arrays.toString(shape));
            }
        }
    }

    /** Returns {top, bottom, left, right}. */
    private static int[] resolvePadding(Padding padding, int h, int w, int r, int s, int sh, int sw, int dh, int dw) {
        return switch (padding) {
            case Padding.Explicit e -> new int[] {e.top(), e.bottom(), e.left(), e.right()};
            case Padding.Valid v -> new int[] {0, 0, 0, 0};
            case Padding.Same same -> {
                int totalH = samePaddingTotal(h, r, sh, dh);
                int totalW = samePaddingTotal(w, s, sw, dw);
                yield new int[] {totalH / 2, totalH - totalH / 2, totalW / 2, totalW - totalW / 2};
            }
        };
    }

    private static int samePaddingTotal(int size, int kernel, int stride, int dilation) {
        int out = Math.ceilDiv(size, stride);
        long total = (long) (out - 1) * stride + (long) dilation * (kernel - 1) + 1 - size;
        return (int) Math.max(total, 0);
    }

    private static int outputSize(String axis, int size, int padBefore, int padAfter, int kernel, int dilation, int stride) {
        long padded = (long) size + padBefore + padAfter;
        long extent = (long) dilation * (kernel - 1) + 1;
        if (padded < extent) {
            throw new IllegalArgumentException("empty output: the padded input " + axis + " " + size + "+" + padBefore
                    + "+" + padAfter + "=" + padded + " is smaller than the dilated kernel " + axis + " "
                    + dilation + "*(" + kernel + "-1)+1=" + extent);
        }
        long out = (padded - extent) / stride + 1;
        if (out > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("output " + axis + " " + out + " is too large");
        }
        return (int) out;
    }
}
