package org.simdconv.nn;

import java.util.Arrays;
import org.simdconv.internal.nn.PoolProblem;

/**
 * The window of a pooling layer: its size, stride and zero padding on each side, as PyTorch's
 * {@code MaxPool2d} and {@code AvgPool2d} take them ({@code ceil_mode=False}, no dilation).
 */
record PoolWindow(int kh, int kw, int sh, int sw, int ph, int pw) {

    PoolWindow {
        if (kh < 1 || kw < 1) {
            throw new IllegalArgumentException("kernel size must be >= 1, got " + kh + "x" + kw);
        }
        if (sh < 1 || sw < 1) {
            throw new IllegalArgumentException("stride must be >= 1, got " + sh + "x" + sw);
        }
        if (ph < 0 || pw < 0 || 2 * ph > kh || 2 * pw > kw) {
            // PyTorch's rule: a wider padding would make windows of padding alone.
            throw new IllegalArgumentException("padding must be >= 0 and at most half the kernel size, got padding "
                    + ph + "x" + pw + " for kernel " + kh + "x" + kw);
        }
    }

    /** The pooling of an NCHW input of {@code shape} by this window. */
    PoolProblem problem(int[] shape, Object layer) {
        if (shape.length != 4) {
            throw new IllegalArgumentException(layer + ": input must be N x C x H x W, got shape " + Arrays.toString(shape));
        }
        int h = shape[2], w = shape[3];
        if (h + 2 * ph < kh || w + 2 * pw < kw) {
            throw new IllegalArgumentException(layer + ": input " + h + "x" + w + " (padded by " + ph + "x" + pw
                    + ") is smaller than the window " + kh + "x" + kw);
        }
        return new PoolProblem(shape[0], shape[1], h, w, kh, kw, sh, sw, ph, pw, (h + 2 * ph - kh) / sh + 1,
                (w + 2 * pw - kw) / sw + 1);
    }

    /** PyTorch's wording: {@code kernel_size=2, stride=2, padding=0}. */
    String describe() {
        return "kernel_size=" + pair(kh, kw) + ", stride=" + pair(sh, sw) + ", padding=" + pair(ph, pw);
    }

    private static String pair(int a, int b) {
        return a == b ? Integer.toString(a) : "(" + a + ", " + b + ")";
    }
}
