package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.BlockedTiles.LANES;

import org.simdconv.conv.Conv2dGeometry;

/**
 * The weight gradient of a depthwise convolution on one block of staged planes (seed 001, 17.3.3
 * with one channel per filter): for every tap, the sum over the output pixels whose input pixel
 * lies inside the input (a rectangle, so no padding is ever read) of {@code dy[pixel] * x[pixel +
 * tap]}. Three neighbouring taps of a kernel row share one sweep over the columns where all three
 * are inside ({@link DepthwiseTiles#threeTaps}: each output-gradient vector loaded once feeds three
 * FMAs); the columns left at the borders, and taps that do not make a group of three, are swept
 * one tap at a time ({@link DepthwiseTiles#tapGradient}).
 */
final class DepthwiseWeightGradient {

    /** Taps of a kernel row that share one sweep. */
    static final int TAPS = 3;

    private final Conv2dGeometry g;
    private final int[] firstRow, rows, firstColumn, columns;

    DepthwiseWeightGradient(Conv2dGeometry g) {
        this.g = g;
        int taps = g.r() * g.s();
        firstRow = new int[taps];
        rows = new int[taps];
        firstColumn = new int[taps];
        columns = new int[taps];
        for (int i = 0; i < g.r(); i++) {
            for (int j = 0; j < g.s(); j++) {
                int t = i * g.s() + j;
                firstRow[t] = first(g.padTop() - i * g.dilationH(), g.strideH());
                rows[t] = count(firstRow[t], g.h() - 1 + g.padTop() - i * g.dilationH(), g.strideH(), g.outH());
                firstColumn[t] = first(g.padLeft() - j * g.dilationW(), g.strideW());
                columns[t] = count(firstColumn[t], g.w() - 1 + g.padLeft() - j * g.dilationW(), g.strideW(), g.outW());
            }
        }
    }

    /** First output index {@code o >= 0} with {@code o*stride >= low}. */
    private static int first(int low, int stride) {
        return Math.max(0, Math.ceilDiv(low, stride));
    }

    /** How many of {@code first ..} have {@code o*stride <= high} and {@code o < size}. */
    private static int count(int first, int high, int stride, int size) {
        return Math.max(0, Math.min(size, Math.floorDiv(high, stride) + 1) - first);
    }

    /**
     * Adds one item's weight gradient of one block to {@code partial[at + tap*lanes ..]}, from its
     * staged input and output-gradient planes.
     */
    void accumulate(float[] in, float[] gradOut, float[] partial, int at) {
        for (int i = 0; i < g.r(); i++) {
            int j = 0;
            for (; j + TAPS <= g.s(); j += TAPS) {
                int t = i * g.s() + j;
                int lo = Math.max(firstColumn[t], Math.max(firstColumn[t + 1], firstColumn[t + 2]));
                int hi = Math.min(end(t), Math.min(end(t + 1), end(t + 2)));
                if (rows[t] == 0 || hi <= lo) { // rows are those of the kernel row, the same for all three
                    for (int k = 0; k < TAPS; k++) {
                        sweep(in, gradOut, partial, at, i, j + k, firstColumn[t + k], end(t + k));
                    }
                    continue;
                }
                DepthwiseTiles.threeTaps(in, inAt(i, j, firstRow[t], lo), g.strideH() * g.w() * LANES,
                        g.strideW() * LANES, g.dilationW() * LANES, gradOut, gradAt(firstRow[t], lo),
                        g.outW() * LANES, rows[t], hi - lo, partial, at + t * LANES);
                for (int k = 0; k < TAPS; k++) {
                    sweep(in, gradOut, partial, at, i, j + k, firstColumn[t + k], lo);
                    sweep(in, gradOut, partial, at, i, j + k, hi, end(t + k));
                }
            }
            for (; j < g.s(); j++) {
                int t = i * g.s() + j;
                sweep(in, gradOut, partial, at, i, j, firstColumn[t], end(t));
            }
        }
    }

    /** One past the last output column of tap {@code t}. */
    private int end(int t) {
        return firstColumn[t] + columns[t];
    }

    /** Tap (i, j) alone over its rows and output columns {@code [from, to)}. */
    private void sweep(float[] in, float[] gradOut, float[] partial, int at, int i, int j, int from, int to) {
        int t = i * g.s() + j;
        if (rows[t] == 0 || to <= from) {
            return;
        }
        DepthwiseTiles.tapGradient(in, inAt(i, j, firstRow[t], from), g.strideH() * g.w() * LANES,
                g.strideW() * LANES, gradOut, gradAt(firstRow[t], from), g.outW() * LANES, rows[t], to - from,
                partial, at + t * LANES);
    }

    /** Index, in the staged input plane, of tap (i, j) of output pixel (oh, ow). */
    private int inAt(int i, int j, int oh, int ow) {
        return ((oh * g.strideH() + i * g.dilationH() - g.padTop()) * g.w() + ow * g.strideW() + j * g.dilationW()
                - g.padLeft()) * LANES;
    }

    /** Index, in the staged output-gradient plane, of pixel (oh, ow). */
    private int gradAt(int oh, int ow) {
        return (oh * g.outW() + ow) * LANES;
    }
}
