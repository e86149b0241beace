package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.BlockedTiles.LANES;
import static org.simdconv.conv.simd.DepthwiseTiles.DENSE_PIXELS;
import static org.simdconv.conv.simd.DepthwiseTiles.PIXELS;
import static org.simdconv.conv.simd.DepthwiseTiles.PIXEL_BYTES;

import java.lang.foreign.MemorySegment;
import java.util.HashMap;
import java.util.Map;
import org.simdconv.conv.simd.DepthwiseTiles.TapList;

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
    private final BlockedDirectConvolution.OutputGrid grid;
    /** Every tap, row-major: kernel rows {@code [r0, r1)} are the entries {@code [r0*s, r1*s)}. */
    private final TapList taps;
    /** For every output column, the taps of its kernel columns (every kernel row). */
    private final TapList[] columnTaps;
    /** One past the last column that the row tiles cover. */
    private final int rowTilesEnd;

    DepthwisePlane(BlockedProblem p, BlockedDirectConvolution.OutputGrid grid) {
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
        Start first = new Start(starts == null ? out : starts, starts == null, start);
        int step = p.strideW() * LANES;
        boolean threeColumns = DepthwiseTiles.THIRTY_TWO_REGISTERS && p.s() == 3 && p.strideW() == 1
                && p.dilationW() == 1;
        long outStep = grid.strideW() * PIXEL_BYTES;
        long startStep = first.fromOutput() ? outStep : 0;
        for (int oh = 0; oh < p.outH(); oh++) {
            int from = p.firstRow(oh) * p.s(), to = p.endRow(oh) * p.s();
            int inRow = inAt(oh, 0);
            long outRow = outAt(outPlane, oh, 0);
            int ow = p.firstInteriorColumn();
            if (threeColumns) {
                int tiles = (rowTilesEnd - ow) / DENSE_PIXELS;
                long outAt = outRow + ow * outStep;
                DepthwiseTiles.eightPixelsThreeColumns(in, inRow + ow * step, p.dilationH() * p.inW() * LANES, p.firstRow(oh),
                        p.endRow(oh), w, w0, tiles, first.segment(), first.at(outAt), startStep, out, outAt, outStep);
                ow += tiles * DENSE_PIXELS;
            }
            for (; step == LANES && ow + DENSE_PIXELS <= rowTilesEnd; ow += DENSE_PIXELS) {
                long outAt = outRow + ow * outStep;
                DepthwiseTiles.eightPixels(in, inRow + ow * step, taps, from, to, w, w0, first.segment(),
                        first.at(outAt), startStep, out, outAt, outStep);
            }
            for (; ow + PIXELS <= rowTilesEnd; ow += PIXELS) {
                long outAt = outRow + ow * outStep;
                DepthwiseTiles.fourPixels(in, inRow + ow * step, step, taps, from, to, w, w0, first.segment(),
                        first.at(outAt), startStep, out, outAt, outStep);
            }
        }
        for (int ow = 0; ow < p.outW(); ow++) {
            if (ow == p.firstInteriorColumn()) {
                ow = Math.max(ow, rowTilesEnd);
                if (ow >= p.outW()) {
                    break;
                }
            }
            column(in, w, w0, out, outPlane, first, ow);
        }
    }

    /** Where the accumulators start: the output itself, or one vector at byte {@code at} of {@code segment}. */
    private record Start(MemorySegment segment, boolean fromOutput, long at) {
        long at(long outAt) {
            return fromOutput ? outAt : at;
        }
    }

    /** Every pixel of output column {@code ow}: interior rows four at a time, then the rest one by one. */
    private void column(float[] in, float[] w, int w0, MemorySegment out, long outPlane, Start first, int ow) {
        TapList columnList = columnTaps[ow];
        int rowStep = p.strideH() * p.inW() * LANES;
        long outRowStep = grid.strideH() * (long) grid.planeW() * PIXEL_BYTES;
        long startStep = first.fromOutput() ? outRowStep : 0;
        int oh = 0;
        for (; oh < p.outH(); oh++) {
            long outAt = outAt(outPlane, oh, ow);
            if (oh >= p.firstInteriorRow() && oh + PIXELS <= p.endInteriorRow()) {
                DepthwiseTiles.fourPixels(in, inAt(oh, ow), rowStep, columnList, 0, columnList.offsets().length, w, w0,
                        first.segment(), first.at(outAt), startStep, out, outAt, outRowStep);
                oh += PIXELS - 1;
            } else {
                DepthwiseTiles.onePixel(in, inAt(oh, ow), taps, p.firstRow(oh), p.endRow(oh), p.firstColumn(ow),
                        p.endColumn(ow), p.s(), w, w0, first.segment(), first.at(outAt), out, outAt);
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
