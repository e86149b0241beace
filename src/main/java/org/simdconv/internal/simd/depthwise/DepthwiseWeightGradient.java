package org.simdconv.internal.simd.depthwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.Vectors;

/**
 * The weight gradient of a depthwise convolution on one block of staged planes (seed 001, 17.3.5
 * with one channel per filter): for every tap, the sum over the output pixels whose input pixel
 * lies inside the input (a rectangle, so no padding is ever read) of {@code dy[pixel] * x[pixel +
 * tap]}. Three neighbouring taps of a kernel row share one sweep over the columns where all three
 * are inside ({@link DepthwiseTiles#threeTaps}: each output-gradient vector loaded once feeds three
 * FMAs); the columns left at the borders, and taps that do not make a group of three, are swept
 * one tap at a time ({@link DepthwiseTiles#tapGradient}). A 3x3 kernel at stride 1 sweeps all nine
 * taps at once over the pixels where they all lie inside ({@link DepthwiseTiles#nineTaps}).
 */
final class DepthwiseWeightGradient {

    /** Taps of a kernel row that share one sweep. */
    static final int TAPS = 3;

    private final ConvProblem g;
    private final int[] firstRow, rows, firstColumn, columns;
    /** A 3x3 kernel at stride 1 and dilation 1, with the registers for {@link DepthwiseTiles#nineTaps}. */
    private final boolean nineTaps;
    /** Output rows and columns {@code [from, to)} whose pixels read all their taps inside the input. */
    private final int[] interiorRows, interiorColumns;
    /** The output rows and columns outside those. */
    private final int[] borderRows, borderColumns;

    DepthwiseWeightGradient(ConvProblem g) {
        this.g = g;
        this.nineTaps = Vectors.THIRTY_TWO_REGISTERS && g.r() == 3 && g.s() == 3 && g.strideH() == 1
                && g.strideW() == 1 && g.dilationH() == 1 && g.dilationW() == 1;
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
        interiorRows = new int[] {0, g.outH()};
        interiorColumns = new int[] {0, g.outW()};
        for (int t = 0; t < taps; t++) {
            interiorRows[0] = Math.max(interiorRows[0], firstRow[t]);
            interiorRows[1] = Math.min(interiorRows[1], firstRow[t] + rows[t]);
            interiorColumns[0] = Math.max(interiorColumns[0], firstColumn[t]);
            interiorColumns[1] = Math.min(interiorColumns[1], firstColumn[t] + columns[t]);
        }
        borderRows = outside(interiorRows[0], interiorRows[1], g.outH());
        borderColumns = outside(interiorColumns[0], interiorColumns[1], g.outW());
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
    void accumulate(MemorySegment in, long inBase, MemorySegment gradOut, long gradBase, float[] partial, int at) {
        if (nineTaps) {
            accumulateNineTaps(in, inBase, gradOut, gradBase, partial, at);
            return;
        }
        for (int i = 0; i < g.r(); i++) {
            int j = 0;
            for (; j + TAPS <= g.s(); j += TAPS) {
                int t = i * g.s() + j;
                int lo = Math.max(firstColumn[t], Math.max(firstColumn[t + 1], firstColumn[t + 2]));
                int hi = Math.min(end(t), Math.min(end(t + 1), end(t + 2)));
                if (rows[t] == 0 || hi <= lo) { // rows are those of the kernel row, the same for all three
                    for (int k = 0; k < TAPS; k++) {
                        sweep(in, inBase, gradOut, gradBase, partial, at, i, j + k, firstColumn[t + k], end(t + k));
                    }
                    continue;
                }
                DepthwiseTiles.threeTaps(in, inBase, inAt(i, j, firstRow[t], lo), g.strideH() * g.w() * LANES,
                        g.strideW() * LANES, g.dilationW() * LANES, gradOut, gradBase, gradAt(firstRow[t], lo),
                        g.outW() * LANES, rows[t], hi - lo, partial, at + t * LANES);
                for (int k = 0; k < TAPS; k++) {
                    sweep(in, inBase, gradOut, gradBase, partial, at, i, j + k, firstColumn[t + k], lo);
                    sweep(in, inBase, gradOut, gradBase, partial, at, i, j + k, hi, end(t + k));
                }
            }
            for (; j < g.s(); j++) {
                int t = i * g.s() + j;
                sweep(in, inBase, gradOut, gradBase, partial, at, i, j, firstColumn[t], end(t));
            }
        }
    }

    /**
     * A 3x3 kernel at stride 1: the pixels where all nine taps lie inside the input in one sweep
     * ({@link DepthwiseTiles#nineTaps}); each border row beside that interior with the six taps of
     * its two kernel rows ({@link DepthwiseTiles#sixTapsAlongRow}), each border column with those
     * of its two kernel columns ({@link DepthwiseTiles#sixTapsDownColumn}); the corners, and
     * borders of wider padding, one tap at a time.
     */
    private void accumulateNineTaps(MemorySegment in, long inBase, MemorySegment gradOut, long gradBase, float[] partial, int at) {
        if (interiorRows[1] <= interiorRows[0] || interiorColumns[1] <= interiorColumns[0]) {
            for (int t = 0; t < 9; t++) { // no pixel reads all nine taps: each tap on its own
                clipped(in, inBase, gradOut, gradBase, partial, at, t, 0, g.outH(), 0, g.outW());
            }
            return;
        }
        int oh0 = interiorRows[0], oh1 = interiorRows[1], ow0 = interiorColumns[0], ow1 = interiorColumns[1];
        DepthwiseTiles.nineTaps(in, inBase, inAt(0, 0, oh0, ow0), g.w() * LANES, gradOut, gradBase, gradAt(oh0, ow0),
                g.outW() * LANES, oh1 - oh0, ow1 - ow0, partial, at);
        for (int oh : borderRows) {
            int r0 = -1, count = 0;
            for (int r = 0; r < 3; r++) {
                if (inside(firstRow[3 * r], rows[3 * r], oh)) {
                    r0 = r0 < 0 ? r : r0;
                    count++;
                }
            }
            if (count == 2) {
                DepthwiseTiles.sixTapsAlongRow(in, inBase, inAt(r0, 0, oh, ow0), g.w() * LANES, gradOut, gradBase,
                        gradAt(oh, ow0), ow1 - ow0, partial, at + 3 * r0 * LANES);
            } else {
                for (int t = 0; t < 9; t++) {
                    clipped(in, inBase, gradOut, gradBase, partial, at, t, oh, oh + 1, ow0, ow1);
                }
            }
        }
        for (int ow : borderColumns) {
            int s0 = -1, count = 0;
            for (int j = 0; j < 3; j++) {
                if (inside(firstColumn[j], columns[j], ow)) {
                    s0 = s0 < 0 ? j : s0;
                    count++;
                }
            }
            if (count == 2) {
                DepthwiseTiles.sixTapsDownColumn(in, inBase, inAt(0, s0, oh0, ow), g.w() * LANES, gradOut, gradBase,
                        gradAt(oh0, ow), g.outW() * LANES, oh1 - oh0, partial, at + s0 * LANES);
            } else {
                for (int t = 0; t < 9; t++) {
                    clipped(in, inBase, gradOut, gradBase, partial, at, t, oh0, oh1, ow, ow + 1);
                }
            }
            for (int oh : borderRows) { // the corners
                for (int t = 0; t < 9; t++) {
                    clipped(in, inBase, gradOut, gradBase, partial, at, t, oh, oh + 1, ow, ow + 1);
                }
            }
        }
    }

    /** The indices of {@code [0, size)} outside {@code [from, to)}. */
    private static int[] outside(int from, int to, int size) {
        return java.util.stream.IntStream.range(0, size).filter(i -> i < from || i >= to).toArray();
    }

    /** True when {@code o} lies in {@code [first, first + count)}. */
    private static boolean inside(int first, int count, int o) {
        return o >= first && o < first + count;
    }

    /** Tap {@code t} alone over the part of output rows {@code [oh0, oh1)} and columns {@code [ow0, ow1)} where it lies inside. */
    private void clipped(MemorySegment in, long inBase, MemorySegment gradOut, long gradBase, float[] partial, int at,
                         int t, int oh0, int oh1, int ow0, int ow1) {
        rectangle(in, inBase, gradOut, gradBase, partial, at, t, Math.max(oh0, firstRow[t]),
                Math.min(oh1, firstRow[t] + rows[t]), Math.max(ow0, firstColumn[t]), Math.min(ow1, end(t)));
    }

    /** Tap {@code t} alone over output rows {@code [oh0, oh1)} and columns {@code [ow0, ow1)}. */
    private void rectangle(MemorySegment in, long inBase, MemorySegment gradOut, long gradBase, float[] partial, int at, int t, int oh0, int oh1, int ow0,
                           int ow1) {
        if (oh1 <= oh0 || ow1 <= ow0) {
            return;
        }
        DepthwiseTiles.tapGradient(in, inBase, inAt(t / g.s(), t % g.s(), oh0, ow0), g.strideH() * g.w() * LANES,
                g.strideW() * LANES, gradOut, gradBase, gradAt(oh0, ow0), g.outW() * LANES, oh1 - oh0, ow1 - ow0, partial,
                at + t * LANES);
    }

    /** One past the last output column of tap {@code t}. */
    private int end(int t) {
        return firstColumn[t] + columns[t];
    }

    /** Tap (i, j) alone over its rows and output columns {@code [from, to)}. */
    private void sweep(MemorySegment in, long inBase, MemorySegment gradOut, long gradBase, float[] partial, int at, int i, int j, int from, int to) {
        int t = i * g.s() + j;
        if (rows[t] == 0 || to <= from) {
            return;
        }
        DepthwiseTiles.tapGradient(in, inBase, inAt(i, j, firstRow[t], from), g.strideH() * g.w() * LANES,
                g.strideW() * LANES, gradOut, gradBase, gradAt(firstRow[t], from), g.outW() * LANES, rows[t], to - from,
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
