package org.simdconv.internal.reference;

import org.simdconv.internal.conv.ConvProblem;

/**
 * The convolution passes exactly as the seed documents derive them, on {@code double[]} arrays in
 * NCHW / OIHW order. This is the oracle every fast kernel is tested against, so it is written to
 * be read, not to be fast: every sum is spelled out, and the backward passes build the
 * zero-inserted ("dilated") gradient the seeds draw instead of clever index arithmetic.
 *
 * <p>Double precision makes it a better oracle for float kernels (its own rounding error is
 * negligible next to theirs) and lets finite-difference checks run with tight tolerances.
 */
public final class ReferenceConvolution {

    private ReferenceConvolution() {
    }

    /**
     * Forward pass, {@code Z = W * A + b} (seed 000, eq. 1-4; seed 001, 17.1 with several input
     * channels summed per filter and one bias per filter):
     * <pre>
     *   Z[n,k,i,j] = b[k] + sum over c in k's group, r, s of
     *                W[k,c,r,s] * A[n, c, i*sh - pt + r*dh, j*sw - pl + s*dw]
     * </pre>
     * where {@code A} is zero outside the input (zero padding).
     */
    public static double[] forward(ConvProblem g, double[] input, double[] weight, double[] bias) {
        double[] out = new double[g.n() * g.k() * g.outH() * g.outW()];
        int cg = g.channelsPerGroup();
        for (int n = 0; n < g.n(); n++) {
            for (int k = 0; k < g.k(); k++) {
                int firstChannel = (k / g.filtersPerGroup()) * cg;
                for (int i = 0; i < g.outH(); i++) {
                    for (int j = 0; j < g.outW(); j++) {
                        double z = bias == null ? 0 : bias[k];
                        for (int c = 0; c < cg; c++) {
                            for (int r = 0; r < g.r(); r++) {
                                for (int s = 0; s < g.s(); s++) {
                                    int y = i * g.strideH() - g.padTop() + r * g.dilationH();
                                    int x = j * g.strideW() - g.padLeft() + s * g.dilationW();
                                    z += weight[weightIndex(g, k, c, r, s)]
                                            * paddedInput(g, input, n, firstChannel + c, y, x);
                                }
                            }
                        }
                        out[outputIndex(g, n, k, i, j)] = z;
                    }
                }
            }
        }
        return out;
    }

    /**
     * Backward-data (seed 000, eq. 5-8; seed 001, 17.3.1-17.3.4; seed 002): the incoming gradient is
     * zero-dilated by {@code stride-1} ({@link #insertZeros}), zero-padded so that a "full"
     * convolution covers the padded input, and cross-correlated with each kernel rotated by 180
     * degrees; the results of all filters of the group are summed:
     * <pre>
     *   dA[n,c,y,x] = sum over k in c's group, r, s of
     *                 rot180(W)[k,c,r,s] * P[n,k, y + r*dh, x + s*dw]
     *   P[n,k,u,v]  = D[n,k, u - (dh*(R-1) - pt), v - (dw*(S-1) - pl)]   (0 outside D)
     *   D           = insertZeros(dZ, sh, sw)
     * </pre>
     * A padding larger than the kernel extent makes the offset negative: P then starts inside D.
     */
    public static double[] backwardData(ConvProblem g, double[] gradOutput, double[] weight) {
        double[] gradInput = new double[g.n() * g.c() * g.h() * g.w()];
        int dilatedH = (g.outH() - 1) * g.strideH() + 1;
        int dilatedW = (g.outW() - 1) * g.strideW() + 1;
        int offsetH = g.dilationH() * (g.r() - 1) - g.padTop();
        int offsetW = g.dilationW() * (g.s() - 1) - g.padLeft();
        int cg = g.channelsPerGroup();
        for (int n = 0; n < g.n(); n++) {
            for (int k = 0; k < g.k(); k++) {
                double[] d = insertZeros(plane(gradOutput, (n * g.k() + k), g.outH(), g.outW()),
                        g.outH(), g.outW(), g.strideH(), g.strideW());
                int firstChannel = (k / g.filtersPerGroup()) * cg;
                for (int c = 0; c < cg; c++) {
                    for (int y = 0; y < g.h(); y++) {
                        for (int x = 0; x < g.w(); x++) {
                            double sum = 0;
                            for (int r = 0; r < g.r(); r++) {
                                for (int s = 0; s < g.s(); s++) {
                                    double rotated = weight[weightIndex(g, k, c, g.r() - 1 - r, g.s() - 1 - s)];
                                    int u = y + r * g.dilationH() - offsetH;
                                    int v = x + s * g.dilationW() - offsetW;
                                    sum += rotated * valueOrZero(d, dilatedH, dilatedW, u, v);
                                }
                            }
                            gradInput[inputIndex(g, n, firstChannel + c, y, x)] += sum;
                        }
                    }
                }
            }
        }
        return gradInput;
    }

    /**
     * Backward-weights (seed 000, eq. 9-11; seed 001, 17.3.5; seed 002: {@code dW = A * dilate(dZ)}):
     * the padded input cross-correlated with the zero-dilated incoming gradient, summed over the batch:
     * <pre>
     *   dW[k,c,r,s] = sum over n, u, v of D[n,k,u,v] * A[n, c, u - pt + r*dh, v - pl + s*dw]
     * </pre>
     */
    public static double[] backwardWeights(ConvProblem g, double[] input, double[] gradOutput) {
        double[] gradWeight = new double[g.k() * g.channelsPerGroup() * g.r() * g.s()];
        int dilatedH = (g.outH() - 1) * g.strideH() + 1;
        int dilatedW = (g.outW() - 1) * g.strideW() + 1;
        int cg = g.channelsPerGroup();
        for (int n = 0; n < g.n(); n++) {
            for (int k = 0; k < g.k(); k++) {
                double[] d = insertZeros(plane(gradOutput, (n * g.k() + k), g.outH(), g.outW()),
                        g.outH(), g.outW(), g.strideH(), g.strideW());
                int firstChannel = (k / g.filtersPerGroup()) * cg;
                for (int c = 0; c < cg; c++) {
                    for (int r = 0; r < g.r(); r++) {
                        for (int s = 0; s < g.s(); s++) {
                            double sum = 0;
                            for (int u = 0; u < dilatedH; u++) {
                                for (int v = 0; v < dilatedW; v++) {
                                    int y = u - g.padTop() + r * g.dilationH();
                                    int x = v - g.padLeft() + s * g.dilationW();
                                    sum += d[u * dilatedW + v] * paddedInput(g, input, n, firstChannel + c, y, x);
                                }
                            }
                            gradWeight[weightIndex(g, k, c, r, s)] += sum;
                        }
                    }
                }
            }
        }
        return gradWeight;
    }

    /** Backward-bias (seed 000, eq. 12-13; seed 001, 17.3.6): {@code db[k] = sum over n, i, j of dZ[n,k,i,j]}. */
    public static double[] backwardBias(ConvProblem g, double[] gradOutput) {
        double[] gradBias = new double[g.k()];
        int planeSize = g.outH() * g.outW();
        for (int n = 0; n < g.n(); n++) {
            for (int k = 0; k < g.k(); k++) {
                for (int p = 0; p < planeSize; p++) {
                    gradBias[k] += gradOutput[(n * g.k() + k) * planeSize + p];
                }
            }
        }
        return gradBias;
    }

    /**
     * Zero insertion (seed 001, 17.3.2): puts {@code strideH-1} zero rows between the rows of an
     * {@code h x w} plane and {@code strideW-1} zero columns between its columns, giving a plane of
     * {@code ((h-1)*strideH+1) x ((w-1)*strideW+1)}. With stride 1 it is a copy.
     */
    public static double[] insertZeros(double[] plane, int h, int w, int strideH, int strideW) {
        int dilatedW = (w - 1) * strideW + 1;
        double[] out = new double[((h - 1) * strideH + 1) * dilatedW];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                out[i * strideH * dilatedW + j * strideW] = plane[i * w + j];
            }
        }
        return out;
    }

    private static double[] plane(double[] tensor, int planeIndex, int h, int w) {
        double[] out = new double[h * w];
        System.arraycopy(tensor, planeIndex * h * w, out, 0, h * w);
        return out;
    }

    private static double valueOrZero(double[] plane, int h, int w, int y, int x) {
        return (y < 0 || y >= h || x < 0 || x >= w) ? 0 : plane[y * w + x];
    }

    private static double paddedInput(ConvProblem g, double[] input, int n, int c, int y, int x) {
        return (y < 0 || y >= g.h() || x < 0 || x >= g.w()) ? 0 : input[inputIndex(g, n, c, y, x)];
    }

    private static int inputIndex(ConvProblem g, int n, int c, int y, int x) {
        return ((n * g.c() + c) * g.h() + y) * g.w() + x;
    }

    private static int weightIndex(ConvProblem g, int k, int c, int r, int s) {
        return ((k * g.channelsPerGroup() + c) * g.r() + r) * g.s() + s;
    }

    private static int outputIndex(ConvProblem g, int n, int k, int i, int j) {
        return ((n * g.k() + k) * g.outH() + i) * g.outW() + j;
    }
}
