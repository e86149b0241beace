package org.simdconv.internal.simd.blocked;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.blocked.BlockedTiles.PIXELS;
import static org.simdconv.internal.simd.blocked.BlockedTiles.WIDE_PIXELS;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.simdconv.internal.simd.common.BlockedPlanes;
import org.simdconv.internal.simd.common.BlockedProblem;
import org.simdconv.internal.simd.common.OutputGrid;
import org.simdconv.internal.simd.common.Vectors;
import org.simdconv.internal.simd.common.Zeros;

/**
 * Runs a {@link BlockedProblem} on one batch item and a range of output-channel blocks, by covering
 * every output pixel with the tiles of {@link BlockedTiles}:
 * <ol>
 *   <li>the interior columns (every kernel column inside the input) of every row, four columns at
 *       a time, kernel rows clipped per row;</li>
 *   <li>the other columns (the borders, and the last interior columns that do not fill four), four
 *       interior rows at a time, kernel columns clipped per column;</li>
 *   <li>the pixels left (corners), one at a time, both clipped.</li>
 * </ol>
 * Which tile computes a pixel depends only on the geometry, so results do not depend on threads.
 *
 * <p>Loop order, for cache locality: input-channel blocks in chunks outermost, so the weights of a
 * chunk for every output block ({@code blocks x chunk x R x S x lanes x lanes} floats) stay within
 * {@link #WEIGHT_CHUNK_BYTES} of L2; then bands of {@link #BAND} output rows, so that the input rows
 * a band reads stay in L2 (and mostly L1) while every pair of output blocks passes over them; then
 * pairs of output blocks; then pixels. The sums continue across chunks through the output (see
 * {@link BlockedTiles}), so chunking does not change any result.
 *
 * <p>Weights are packed by {@link BlockedWeights}: {@code [kb][cg][r][s][ci][ko]}, where {@code cg}
 * numbers the groups of {@link #group} input blocks that the staged input ({@link BlockedStaging})
 * holds per pixel and {@code ci} runs over their channels. The output is channel-blocked ({@link BlockedPlanes}) and
 * must hold its start values (bias, zero, or the old values when accumulating) before {@link #run}
 * is called: see {@link #fill}.
 */
final class BlockedDirectConvolution {

    /** Budget for the weights of one chunk of input blocks, for all output blocks of a group. */
    static final int WEIGHT_CHUNK_BYTES = 512 * 1024;
    /** Output rows per band: the input rows a band reads stay in L2 while every block pair uses them. */
    static final int BAND = 4;
    /**
     * Input blocks staged per pixel ({@link BlockedStaging}) when a group's input blocks are a
     * multiple of it: each tap is then one loop over {@code GROUP * lanes} channels.
     */
    static final int GROUP = 4;

    private final BlockedProblem p;
    private final OutputGrid grid;
    private final BlockedStaging staging;
    private final int weightBlock;
    private final long outBlockBytes;
    private final long outItemBytes;
    private final int chunk;
    /** Tap lists by chunk, kernel-row range and kernel-column range: {@code [chunk][rows][columns]}. */
    private final BlockedTaps[][][] taps;
    private final int[] rowClass;
    private final int[] columnClass;

    BlockedDirectConvolution(BlockedProblem p) {
        this(p, OutputGrid.dense(p));
    }

    BlockedDirectConvolution(BlockedProblem p, OutputGrid grid) {
        this.p = p;
        this.grid = grid;
        this.staging = new BlockedStaging(p.inChannels(), p.inH(), p.inW(), p.strideW(), LANES, group(p));
        this.weightBlock = p.r() * p.s() * LANES * LANES;
        this.outBlockBytes = (long) grid.planeH() * grid.planeW() * LANES * Float.BYTES;
        this.outItemBytes = outBlockBytes * p.totalOutBlocks();
        int group = staging.group();
        this.chunk = Math.max(group, WEIGHT_CHUNK_BYTES / (p.outBlocks() * weightBlock * Float.BYTES) / group * group);
        int[][] rowRanges = new int[p.outH()][];
        for (int oh = 0; oh < p.outH(); oh++) {
            rowRanges[oh] = range(p.firstRow(oh), p.endRow(oh));
        }
        int[][] columnRanges = new int[p.outW()][];
        for (int ow = 0; ow < p.outW(); ow++) {
            columnRanges[ow] = range(p.firstColumn(ow), p.endColumn(ow));
        }
        this.rowClass = classes(rowRanges, p.r());
        this.columnClass = classes(columnRanges, p.s());
        int chunks = Math.ceilDiv(p.inBlocks(), chunk);
        this.taps = new BlockedTaps[chunks][(p.r() + 1) * (p.r() + 1)][(p.s() + 1) * (p.s() + 1)];
        for (int oh = 0; oh < p.outH(); oh++) {
            for (int ow = 0; ow < p.outW(); ow++) {
                for (int c = 0; c < chunks; c++) {
                    if (taps[c][rowClass[oh]][columnClass[ow]] == null) {
                        taps[c][rowClass[oh]][columnClass[ow]] = tapList(c * chunk, Math.min(p.inBlocks(), (c + 1) * chunk),
                                rowRanges[oh], columnRanges[ow]);
                    }
                }
            }
        }
    }

    /**
     * Blocks per staged pixel: {@link #GROUP} when a group's input blocks are a multiple of it, else
     * two when they are even (32 channels at 16 lanes: each tap's loop runs over 32 channels rather
     * than 16), else 1.
     */
    static int group(BlockedProblem p) {
        return p.inBlocks() % GROUP == 0 ? GROUP : p.inBlocks() % 2 == 0 ? 2 : 1;
    }

    /** True when the staged input of one item fits a Java array. */
    static boolean fitsArrays(BlockedProblem p) {
        return new BlockedStaging(p.inChannels(), p.inH(), p.inW(), p.strideW(), LANES).itemFloats()
                < Integer.MAX_VALUE - 64;
    }

    BlockedProblem problem() {
        return p;
    }

    OutputGrid grid() {
        return grid;
    }

    BlockedStaging staging() {
        return staging;
    }

    /**
     * Writes the start value of every output of blocks {@code [kbFrom, kbTo)} of batch item
     * {@code n}: {@code bias[kb*lanes + ko]}, or zero when {@code bias} is null. {@code bias} holds
     * a multiple of the lanes.
     */
    void fill(MemorySegment out, long outOffset, int n, int kbFrom, int kbTo, float[] bias) {
        long pixels = (long) grid.planeH() * grid.planeW();
        for (int kb = kbFrom; kb < kbTo; kb++) {
            long at = outOffset + n * outItemBytes + kb * outBlockBytes;
            if (bias == null) { // two branches, not a vector chosen by a condition: C2 would box it
                Zeros.fill(out, at, pixels * LANES * Float.BYTES);
                continue;
            }
            FloatVector start = FloatVector.fromArray(SPECIES, bias, kb * LANES);
            for (long i = 0; i < pixels; i++) {
                start.intoMemorySegment(out, at + i * LANES * Float.BYTES, ORDER);
            }
        }
    }

    /**
     * Adds the convolution of a staged batch item ({@link BlockedStaging}) to its output blocks
     * {@code [kbFrom, kbTo)}; {@code outOffset} is the byte where the output item {@code n} starts.
     */
    void run(float[] in, MemorySegment out, long outOffset, float[] w, int n, int kbFrom, int kbTo) {
        long outItem = outOffset + n * outItemBytes;
        for (BlockedTaps[][] chunkTaps : taps) {
            for (int oh0 = 0; oh0 < p.outH(); oh0 += BAND) {
                int oh1 = Math.min(p.outH(), oh0 + BAND);
                for (int kb = kbFrom; kb < kbTo; kb += pairs(kb, kbTo) ? 2 : 1) {
                    rows(in, out, outItem, w, kb, pairs(kb, kbTo), chunkTaps, oh0, oh1);
                }
            }
            for (int kb = kbFrom; kb < kbTo; kb += pairs(kb, kbTo) ? 2 : 1) {
                columns(in, out, outItem, w, kb, pairs(kb, kbTo), chunkTaps);
            }
        }
    }

    /** True when output block {@code kb} has a partner {@code kb + 1} in its group and in the range. */
    private boolean pairs(int kb, int kbTo) {
        return kb + 1 < kbTo && (kb + 1) / p.outBlocks() == kb / p.outBlocks();
    }

    /** Array offset of the staged blocks of block {@code kb}'s group. */
    private int inBase(int kb) {
        return staging.blockOffset((kb / p.outBlocks()) * p.inBlocks());
    }

    /** The row tiles of output rows {@code [oh0, oh1)} of block {@code kb} (and {@code kb + 1} when {@code pair}). */
    private void rows(float[] in, MemorySegment out, long outItem, float[] w, int kb, boolean pair,
                      BlockedTaps[][] chunkTaps, int oh0, int oh1) {
        int owA = p.firstInteriorColumn(), owWide = wideTilesEnd(pair), owTiled = rowTilesEnd(pair);
        if (owTiled == owA) {
            return;
        }
        int inBase = inBase(kb);
        int w0 = kb * p.inBlocks() * weightBlock;
        int w1 = w0 + p.inBlocks() * weightBlock;
        long o0 = outItem + kb * outBlockBytes;
        long o1 = o0 + outBlockBytes;
        long rowStep = (long) grid.strideW() * LANES * Float.BYTES;
        for (int oh = oh0; oh < oh1; oh++) {
            BlockedTaps rowTaps = chunkTaps[rowClass[oh]][columnClass[owA]];
            for (int ow = owA; ow < owWide; ow += WIDE_PIXELS) {
                long o = outPixel(oh, ow);
                if (staging.group() == GROUP) {
                    BlockedTiles.twoBlocksEightPixelsGrouped(in, inBase + inPixel(oh, ow), rowTaps, w, w0, w1, out,
                            o0 + o, o1 + o, rowStep);
                } else {
                    BlockedTiles.twoBlocksEightPixelsStrided(in, inBase + inPixel(oh, ow), staging.pixelFloats(),
                            rowTaps, w, w0, w1, out, o0 + o, o1 + o, rowStep);
                }
            }
            for (int ow = owWide; ow < owTiled; ow += PIXELS) {
                long o = outPixel(oh, ow);
                if (pair && staging.group() == GROUP) {
                    BlockedTiles.twoBlocksFourPixelsGrouped(in, inBase + inPixel(oh, ow), rowTaps, w, w0, w1, out,
                            o0 + o, o1 + o, rowStep);
                } else if (pair && staging.group() > 1) {
                    BlockedTiles.twoBlocksFourPixelsStrided(in, inBase + inPixel(oh, ow), staging.pixelFloats(),
                            rowTaps, w, w0, w1, out, o0 + o, o1 + o, rowStep);
                } else if (pair) {
                    BlockedTiles.twoBlocksFourPixels(in, inBase + inPixel(oh, ow), rowTaps, w, w0, w1, out, o0 + o,
                            o1 + o, rowStep);
                } else {
                    BlockedTiles.oneBlockFourPixels(in, inBase + inPixel(oh, ow), staging.pixelFloats(), rowTaps, w,
                            w0, out, o0 + o, rowStep);
                }
            }
        }
    }

    /**
     * One past the interior columns that the eight-pixel tiles cover: with a pair of blocks, on a
     * machine with 32 vector registers ({@link Vectors#THIRTY_TWO_REGISTERS}); else none. With one
     * or two blocks per staged pixel, the four-pixel tile's eight accumulators are too few to cover
     * the FMA latency of two units: the eight-pixel tile made the tf-cnn second layer (32 channels
     * staged two blocks per pixel) 16% faster in an interleaved A/B (medians of five runs).
     */
    private int wideTilesEnd(boolean pair) {
        int owA = p.firstInteriorColumn();
        return Vectors.THIRTY_TWO_REGISTERS && pair
                ? owA + (p.endInteriorColumn() - owA) / WIDE_PIXELS * WIDE_PIXELS : owA;
    }

    /** One past the interior columns that the row tiles cover: eight-pixel tiles, then four-pixel ones. */
    private int rowTilesEnd(boolean pair) {
        int owWide = wideTilesEnd(pair);
        return owWide + (p.endInteriorColumn() - owWide) / PIXELS * PIXELS;
    }

    /** Every column the row tiles leave: the borders, and the interior columns that do not fill a tile. */
    private void columns(float[] in, MemorySegment out, long outItem, float[] w, int kb, boolean pair,
                         BlockedTaps[][] chunkTaps) {
        int inBase = inBase(kb);
        int w0 = kb * p.inBlocks() * weightBlock;
        int w1 = pair ? w0 + p.inBlocks() * weightBlock : -1;
        long o0 = outItem + kb * outBlockBytes;
        long o1 = o0 + outBlockBytes;
        int owA = p.firstInteriorColumn(), owTiled = rowTilesEnd(pair);
        for (int ow = 0; ow < owA; ow++) {
            column(in, inBase, w, w0, w1, out, o0, o1, ow, chunkTaps);
        }
        for (int ow = owTiled; ow < p.outW(); ow++) {
            column(in, inBase, w, w0, w1, out, o0, o1, ow, chunkTaps);
        }
    }

    /** One column outside the row tiles: its interior rows four at a time, the others one by one. */
    private void column(float[] in, int inBase, float[] w, int w0, int w1, MemorySegment out, long o0, long o1,
                        int ow, BlockedTaps[][] chunkTaps) {
        int ohA = p.firstInteriorRow(), ohTiled = ohA + (p.endInteriorRow() - ohA) / PIXELS * PIXELS;
        long columnStep = (long) grid.strideH() * grid.planeW() * LANES * Float.BYTES;
        for (int oh = 0; oh < ohA; oh++) {
            onePixel(in, inBase, w, w0, w1, out, o0, o1, oh, ow, chunkTaps);
        }
        int inStep = p.strideH() * staging.rowFloats();
        for (int oh = ohA; oh < ohTiled; oh += PIXELS) {
            long o = outPixel(oh, ow);
            BlockedTaps taps = chunkTaps[rowClass[oh]][columnClass[ow]];
            if (w1 >= 0) {
                BlockedTiles.twoBlocksFourPixelsStrided(in, inBase + inPixel(oh, ow), inStep, taps, w, w0, w1, out,
                        o0 + o, o1 + o, columnStep);
            } else {
                BlockedTiles.oneBlockFourPixels(in, inBase + inPixel(oh, ow), inStep, taps, w, w0, out, o0 + o,
                        columnStep);
            }
        }
        for (int oh = ohTiled; oh < p.outH(); oh++) {
            onePixel(in, inBase, w, w0, w1, out, o0, o1, oh, ow, chunkTaps);
        }
    }

    private void onePixel(float[] in, int inBase, float[] w, int w0, int w1, MemorySegment out, long o0, long o1,
                          int oh, int ow, BlockedTaps[][] chunkTaps) {
        int at = inBase + inPixel(oh, ow);
        long o = outPixel(oh, ow);
        BlockedTaps t = chunkTaps[rowClass[oh]][columnClass[ow]];
        if (w1 >= 0) {
            BlockedTiles.twoBlocksOnePixel(in, at, t, w, w0, w1, out, o0 + o, o1 + o);
        } else {
            BlockedTiles.oneBlockOnePixel(in, at, t, w, w0, out, o0 + o);
        }
    }

    /** Byte offset, within an output block's plane, of output pixel (oh, ow) ({@link OutputGrid}). */
    private long outPixel(int oh, int ow) {
        return ((long) (grid.originH() + oh * grid.strideH()) * grid.planeW() + grid.originW() + ow * grid.strideW())
                * LANES * Float.BYTES;
    }

    /**
     * Array offset, within a group's staged blocks, of output pixel (oh, ow) before the taps are
     * added: its first input row and its column within every phase. The taps add the kernel row,
     * and the column phase and shift ({@link BlockedStaging#columnOffset}).
     */
    private int inPixel(int oh, int ow) {
        return (oh * p.strideH() - p.padTop()) * staging.rowFloats() + ow * staging.pixelFloats();
    }

    /**
     * The taps of input blocks {@code [cb0, cb1)}, kernel rows {@code rows} and columns
     * {@code columns}: one per staged group of blocks, with the real channels of the group.
     */
    private BlockedTaps tapList(int cb0, int cb1, int[] rows, int[] columns) {
        int group = staging.group();
        int count = Math.ceilDiv(cb1 - cb0, group) * (rows[1] - rows[0]) * (columns[1] - columns[0]);
        int[] in = new int[count], weights = new int[count], channels = new int[count];
        int perGroup = p.inChannels() / p.groups();
        int t = 0;
        for (int cb = cb0; cb < cb1; cb += group) {
            for (int r = rows[0]; r < rows[1]; r++) {
                for (int s = columns[0]; s < columns[1]; s++, t++) {
                    in[t] = staging.blockOffset(cb) + r * p.dilationH() * staging.rowFloats()
                            + staging.columnOffset(s * p.dilationW() - p.padLeft());
                    weights[t] = cb * weightBlock + (r * p.s() + s) * group * LANES * LANES;
                    channels[t] = Math.min(group * LANES, perGroup - cb * LANES);
                }
            }
        }
        return new BlockedTaps(in, weights, channels, count);
    }

    /** The range {@code [lo, hi)}, or {@code [0, 0)} when it is empty. */
    private static int[] range(int lo, int hi) {
        return hi > lo ? new int[] {lo, hi} : new int[] {0, 0};
    }

    /** Numbers every range {@code [lo, hi)} of kernel indices, {@code 0 <= lo <= hi <= extent}. */
    private static int[] classes(int[][] ranges, int extent) {
        int[] out = new int[ranges.length];
        for (int i = 0; i < ranges.length; i++) {
            out[i] = ranges[i][0] * (extent + 1) + ranges[i][1];
        }
        return out;
    }
}
