package org.simdconv.internal.simd.depthwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.depthwise.DepthwiseTiles.DENSE_PIXELS;
import static org.simdconv.internal.simd.depthwise.DepthwiseTiles.PIXELS;
import static org.simdconv.internal.simd.depthwise.DepthwiseTiles.PIXEL_BYTES;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import org.simdconv.internal.simd.depthwise.DepthwiseTiles.TapList;
import org.simdconv.internal.simd.common.BackwardDataPhase;
import org.simdconv.internal.simd.common.BlockedProblem;
import org.simdconv.internal.simd.common.OutputGrid;
import org.simdconv.internal.simd.common.Vectors;

/**
 * The spatial part of a {@link BlockedProblem} (its channel counts are ignored), run by the
 * depthwise tiles on one channel block: the forward pass, or one stride phase of backward-data
 * ({@link BackwardDataPhase}), whose output pixels lie on a sub-grid of the plane ({@code grid}).
 * Pixels are covered as the blocked direct kernel covers them, so that taps are clipped at the
 * borders and never read from a padded copy:
 * <ol>
 *   <li>the interior columns (every kernel column inside the input) of every row, eight pixels at a
 *       time at stride 1 (sharing each input load between the taps of a row when the kernel is
 *       three columns wide) and then four, with the kernel rows clipped per row;</li>
 *   <li>the other columns (borders, and interior columns that did not fill a tile), four interior
 *       rows at a time, with the kernel columns clipped per column;</li>
 *   <li>the pixels left (corners), one at a time, clipped both ways.</li>
 * </ol>
 * Every tile adds a pixel's taps in kernel-row-major order, so results do not depend on the tiles.
 */
final class DepthwisePlane {

    private final BlockedProblem p;
    private final OutputGrid grid;
    /** Every tap, row-major: kernel rows {@code [r0, r1)} are the entries {@code [r0*s, r1*s)}. */
    private final TapList taps;
    /** For every output column, the taps of its kernel columns (every kernel row). */
    private final TapList[] columnTaps;
    /** One past the last column that the row tiles cover. */
    private final int rowTilesEnd;
    /** Kernel rows {@code [firstRows[oh], endRows[oh])} and columns likewise lie inside the input. */
    private final int[] firstRows, endRows, firstColumns, endColumns;
    /** The same problem on NCHW planes, when it {@link #sweepsInPlace}; else null. */
    private final DepthwiseRows rows;

    DepthwisePlane(BlockedProblem p, OutputGrid grid) {
        this.p = p;
        this.grid = grid;
        this.taps = tapList(0, p.s());
        this.columnTaps = new TapList[p.outW()];
        Map<Integer, TapList> byRange = new HashMap<>();
        for (int ow = 0; ow < p.outW(); ow++) {
            int s0 = p.firstColumn(ow), s1 = p.endColumn(ow);
            columnTaps[ow] = byRange.computeIfAbsent(s0 * (p.s() + 1) + s1, key -> tapList(s0, s1));
        }
        int interior = p.endInteriorColumn() - p.firstInteriorColumn();
        int dense = p.strideW() == 1 ? interior / DENSE_PIXELS * DENSE_PIXELS : 0;
        this.rowTilesEnd = p.firstInteriorColumn() + dense + (interior - dense) / PIXELS * PIXELS;
        // Kept, not recomputed per pixel: each takes a division, and the border pixels are many.
        this.firstRows = new int[p.outH()];
        this.endRows = new int[p.outH()];
        for (int oh = 0; oh < p.outH(); oh++) {
            firstRows[oh] = p.firstRow(oh);
            endRows[oh] = p.endRow(oh);
        }
        this.firstColumns = new int[p.outW()];
        this.endColumns = new int[p.outW()];
        for (int ow = 0; ow < p.outW(); ow++) {
            firstColumns[ow] = p.firstColumn(ow);
            endColumns[ow] = p.endColumn(ow);
        }
        this.rows = sweepsInPlace() ? new DepthwiseRows(p) : null;
    }

    /** The taps of kernel columns {@code [s0, s1)} of every kernel row, row-major. */
    private TapList tapList(int s0, int s1) {
        int count = p.r() * (s1 - s0);
        int[] offsets = new int[count], weights = new int[count];
        int t = 0;
        for (int i = 0; i < p.r(); i++) {
            for (int j = s0; j < s1; j++, t++) {
                offsets[t] = (i * p.dilationH() * p.inW() + j * p.dilationW()) * LANES;
                weights[t] = (i * p.s() + j) * LANES;
            }
        }
        return new TapList(offsets, weights);
    }

    /** Taps per channel: one block's weights are {@code taps() * lanes} floats. */
    int taps() {
        return p.r() * p.s();
    }

    /**
     * Writes this problem on one block into the output plane at byte {@code outPlane}, from the
     * input plane staged in {@code in} (from index 0), with the weights
     * {@code w[w0 + tap*lanes + lane]}. Each output pixel starts from the vector at byte
     * {@code start} of {@code starts} (the bias, or zeros), or when {@code starts} is null from the
     * output's own value (accumulating).
     */
    void run(float[] in, float[] w, int w0, MemorySegment out, long outPlane, MemorySegment starts, long start) {
        MemorySegment firstSegment = starts == null ? out : starts; // where the accumulators start
        boolean fromOutput = starts == null;
        int step = p.strideW() * LANES;
        boolean threeColumns = Vectors.THIRTY_TWO_REGISTERS && p.s() == 3 && p.strideW() == 1
                && p.dilationW() == 1;
        long outStep = grid.strideW() * PIXEL_BYTES;
        long startStep = fromOutput ? outStep : 0;
        for (int oh = 0; oh < p.outH(); oh++) {
            int from = firstRows[oh] * p.s(), to = endRows[oh] * p.s();
            int inRow = inAt(oh, 0);
            long outRow = outAt(outPlane, oh, 0);
            int ow = p.firstInteriorColumn();
            if (threeColumns) {
                int tiles = (rowTilesEnd - ow) / DENSE_PIXELS;
                long outAt = outRow + ow * outStep;
                DepthwiseTiles.eightPixelsThreeColumns(in, inRow + ow * step, p.dilationH() * p.inW() * LANES, firstRows[oh],
                        endRows[oh], w, w0, tiles, firstSegment, (fromOutput ? outAt : start), startStep, out, outAt, outStep);
                ow += tiles * DENSE_PIXELS;
            }
            for (; step == LANES && ow + DENSE_PIXELS <= rowTilesEnd; ow += DENSE_PIXELS) {
                long outAt = outRow + ow * outStep;
                DepthwiseTiles.eightPixels(in, inRow + ow * step, taps, from, to, w, w0, firstSegment,
                        (fromOutput ? outAt : start), startStep, out, outAt, outStep);
            }
            for (; ow + PIXELS <= rowTilesEnd; ow += PIXELS) {
                long outAt = outRow + ow * outStep;
                DepthwiseTiles.fourPixels(in, inRow + ow * step, step, taps, from, to, w, w0, firstSegment,
                        (fromOutput ? outAt : start), startStep, out, outAt, outStep);
            }
        }
        for (int ow = 0; ow < p.outW(); ow++) {
            if (ow == p.firstInteriorColumn()) {
                ow = Math.max(ow, rowTilesEnd);
                if (ow >= p.outW()) {
                    break;
                }
            }
            column(in, w, w0, out, outPlane, firstSegment, fromOutput, start, ow);
        }
    }

    /**
     * True when {@link #runInPlace} can run this problem: a 3x3 kernel at stride 1 and dilation 1
     * (MobileNet's layer, forward and backward-data), with a dense output.
     */
    boolean sweepsInPlace() {
        return p.r() == 3 && p.s() == 3 && p.strideH() == 1 && p.strideW() == 1 && p.dilationH() == 1
                && p.dilationW() == 1 && grid.strideH() == 1 && grid.strideW() == 1;
    }

    /**
     * {@link #run} on one channel of NCHW tensors, for problems that {@link #sweepsInPlace}
     * ({@link DepthwiseRows}): the planes at bytes {@code inPlane} and {@code outPlane}, the weights
     * {@code w[w0 + tap*lanes]}, every output starting from {@code bias} or, when
     * {@code accumulate}, from its own value; through the arrays {@code x} and {@code y}
     * ({@link #nchwArrayFloats}).
     */
    void runNchw(MemorySegment in, long inPlane, float[] w, int w0, MemorySegment out, long outPlane, float bias,
                 boolean accumulate, float[] x, float[] y) {
        rows.run(in, inPlane, w, w0, LANES, out, outPlane, bias, accumulate, x, y);
    }

    /** Floats of the input ({@code input}) or output array {@link #runNchw} needs. */
    int nchwArrayFloats(boolean input) {
        return input ? rows.inputArrayFloats() : rows.outputArrayFloats();
    }

    /**
     * {@link #run} for problems that {@link #sweepsInPlace}, reading the input plane where it lies,
     * at byte {@code inPlane} of {@code in}, instead of from a staged copy: a sweep along the
     * interior columns of every output row (two rows at a time, {@link DepthwiseTiles#sweepTwoRows},
     * else {@link DepthwiseTiles#sweepThreeRows}; where rows are clipped, one sweep over the one or
     * two kernel rows inside), a sweep down each border column whose taps span two kernel columns
     * ({@link DepthwiseTiles#sweepTwoColumnsDown}), and the pixels left (corners) one by one.
     */
    void runInPlace(MemorySegment in, long inPlane, float[] w, int w0, MemorySegment out, long outPlane,
                    MemorySegment starts, long start) {
        MemorySegment firstSegment = starts == null ? out : starts; // where the accumulators start
        boolean fromOutput = starts == null;
        long rowBytes = p.inW() * PIXEL_BYTES, outRowBytes = grid.planeW() * PIXEL_BYTES;
        int owA = p.firstInteriorColumn(), owB = p.endInteriorColumn();
        int ohA = p.firstInteriorRow(), ohB = p.endInteriorRow();
        for (int oh = 0; oh < p.outH() && owB > owA; oh++) {
            int r0 = firstRows[oh], r1 = endRows[oh];
            long tap = tapAt(inPlane, oh, owA), outAt = outAt(outPlane, oh, owA);
            long startStep = fromOutput ? PIXEL_BYTES : 0;
            if (r1 - r0 == 3 && oh + 1 < p.outH() && endRows[oh + 1] - firstRows[oh + 1] == 3) {
                long outAt1 = outAt(outPlane, oh + 1, owA);
                DepthwiseTiles.sweepTwoRows(in, tap, rowBytes, w, w0, owB - owA, firstSegment, (fromOutput ? outAt : start),
                        (fromOutput ? outAt1 : start), startStep, out, outAt, outAt1);
                oh++; // row oh + 1 is done too
            } else if (r1 - r0 == 3) {
                DepthwiseTiles.sweepThreeRows(in, tap, tap + rowBytes, tap + 2 * rowBytes, w, w0, owB - owA,
                        firstSegment, (fromOutput ? outAt : start), startStep, out, outAt);
            } else if (r1 - r0 == 2) {
                DepthwiseTiles.sweepTwoKernelRows(in, tap + r0 * rowBytes, rowBytes, w, w0 + 3 * r0 * LANES, owB - owA,
                        firstSegment, (fromOutput ? outAt : start), startStep, out, outAt);
            } else if (r1 - r0 == 1) {
                DepthwiseTiles.sweepOneRow(in, tap + r0 * rowBytes, w, w0 + 3 * r0 * LANES, owB - owA, firstSegment,
                        (fromOutput ? outAt : start), startStep, out, outAt);
            } else {
                for (int ow = owA; ow < owB; ow++) {
                    pixelInPlace(in, inPlane, rowBytes, w, w0, out, outPlane, firstSegment, fromOutput, start, oh, ow);
                }
            }
        }
        int sweptFrom = owB > owA ? owA : p.outW(); // the columns swept along the rows: [sweptFrom, owB)
        for (int ow = 0; ow < p.outW(); ow++) {
            if (ow == sweptFrom) {
                ow = owB - 1;
                continue;
            }
            int s0 = firstColumns[ow];
            boolean down = endColumns[ow] - s0 == 2 && ohB > ohA; // swept down rows [ohA, ohB)
            if (down) {
                long outAt = outAt(outPlane, ohA, ow);
                DepthwiseTiles.sweepTwoColumnsDown(in, tapAt(inPlane, ohA, ow) + s0 * PIXEL_BYTES, rowBytes, s0, w, w0,
                        ohB - ohA, firstSegment, (fromOutput ? outAt : start), fromOutput ? outRowBytes : 0, out, outAt,
                        outRowBytes);
            }
            for (int oh = 0; oh < p.outH(); oh++) {
                if (down && oh == ohA) {
                    oh = ohB - 1;
                    continue;
                }
                pixelInPlace(in, inPlane, rowBytes, w, w0, out, outPlane, firstSegment, fromOutput, start, oh, ow);
            }
        }
    }

    private void pixelInPlace(MemorySegment in, long inPlane, long rowBytes, float[] w, int w0, MemorySegment out,
                              long outPlane, MemorySegment firstSegment, boolean fromOutput, long start,
                              int oh, int ow) {
        long outAt = outAt(outPlane, oh, ow);
        DepthwiseTiles.onePixelInPlace(in, tapAt(inPlane, oh, ow), rowBytes, firstRows[oh], endRows[oh],
                firstColumns[ow], endColumns[ow], p.s(), w, w0, firstSegment, (fromOutput ? outAt : start), out, outAt);
    }

    /**
     * Byte of tap (0, 0) of output pixel (oh, ow) in an input plane at byte {@code inPlane}
     * (stride 1, dilation 1): outside the plane when padded, but only taps inside are read.
     */
    private long tapAt(long inPlane, int oh, int ow) {
        return inPlane + ((long) (oh - p.padTop()) * p.inW() + ow - p.padLeft()) * PIXEL_BYTES;
    }

    /** Every pixel of output column {@code ow}: interior rows four at a time, then the rest one by one. */
    private void column(float[] in, float[] w, int w0, MemorySegment out, long outPlane, MemorySegment firstSegment,
                        boolean fromOutput, long start, int ow) {
        TapList columnList = columnTaps[ow];
        int rowStep = p.strideH() * p.inW() * LANES;
        long outRowStep = grid.strideH() * (long) grid.planeW() * PIXEL_BYTES;
        long startStep = fromOutput ? outRowStep : 0;
        int oh = 0;
        for (; oh < p.outH(); oh++) {
            long outAt = outAt(outPlane, oh, ow);
            if (oh >= p.firstInteriorRow() && oh + PIXELS <= p.endInteriorRow()) {
                DepthwiseTiles.fourPixels(in, inAt(oh, ow), rowStep, columnList, 0, columnList.offsets().length, w, w0,
                        firstSegment, (fromOutput ? outAt : start), startStep, out, outAt, outRowStep);
                oh += PIXELS - 1;
            } else {
                DepthwiseTiles.onePixel(in, inAt(oh, ow), taps, firstRows[oh], endRows[oh], firstColumns[ow],
                        endColumns[ow], p.s(), w, w0, firstSegment, (fromOutput ? outAt : start), out, outAt);
            }
        }
    }

    /**
     * Index of tap (0, 0) of output pixel (oh, ow) in the staged input: outside the plane when
     * padded, but only taps that lie inside are ever read.
     */
    private int inAt(int oh, int ow) {
        return ((oh * p.strideH() - p.padTop()) * p.inW() + ow * p.strideW() - p.padLeft()) * LANES;
    }

    private long outAt(long outPlane, int oh, int ow) {
        return outPlane + ((long) (grid.originH() + oh * grid.strideH()) * grid.planeW() + grid.originW()
                + (long) ow * grid.strideW()) * PIXEL_BYTES;
    }
}
