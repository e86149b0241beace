package org.simdconv.internal.simd.firstlayer;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.firstlayer.PlainInputTiles.PIXELS;

import java.lang.foreign.MemorySegment;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.BlockedProblem;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.Reorder;
import org.simdconv.internal.simd.common.Vectors;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Parallelism;
import org.simdconv.internal.simd.common.BlockedPlanes;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * The forward pass of a first layer: a few input channels (fewer than half a block, so the
 * preferred layout keeps them plain) into channel-blocked output. Vectorised over the output channels, as oneDNN does for such layers: each
 * tap is one input channel at one kernel position, broadcast to four blocks of filters
 * ({@link PlainInputTiles}), and the input is never padded up to a block of channels.
 *
 * <p>Each batch item is staged into a heap array ({@link PlainStaging}), so that at any tap the
 * pixels of consecutive output columns are one float apart. Pixels are covered as the blocked
 * kernel covers them ({@code BlockedDirectConvolution}): the interior columns of every row by tiles
 * of six pixels with the kernel rows clipped per row, the other columns by tiles of six rows, the
 * rest one pixel at a time; taps that fall outside the input are never read, nor multiplied.
 * Output rows are the outer loop, so the few input rows a row of tiles reads stay in L1 while every
 * group of blocks uses them.
 *
 * <p>Weights are packed {@code [q][c][r][s][b][lanes]}: groups {@code q} of four blocks of filters
 * (the last group may hold fewer), so the four weight vectors of a tap are neighbours.
 */
final class PlainInputConvolution {

    /** Blocks of filters per group (the tile's width). */
    static final int GROUP = 4;
    /**
     * Output rows computed into a band workspace before they are converted to NCHW, when the output
     * is NCHW: twelve rows of a ResNet stem's 64 channels (344 KB) stay in L2. A whole blocked
     * output first wrote 25.7 MB to memory only to read it back for the conversion.
     */
    static final int BAND = 12;

    private final ConvProblem g;
    private final BlockedProblem p;
    private final PlainStaging staging;
    private final int rowFloats;
    private final int taps;
    private final int blocks;
    /** Bytes of one block's output plane. */
    private final long planeBytes;
    /** Tap lists by kernel-row range and kernel-column range: {@code [rows][columns]}. */
    private final TapList[][] tapLists;
    private final int[] rowClass;
    private final int[] columnClass;
    private final BlockedPlanes outputLayout;
    /** One past the interior columns that the row tiles cover. */
    private final int rowTilesEnd;

    /** The taps of one (row range, column range) class: input offsets and tap indices {@code (c*R + r)*S + s}. */
    private record TapList(int[] inOffsets, int[] taps, int count) {
    }

    PlainInputConvolution(ConvProblem g) {
        this.g = g;
        this.p = BlockedProblem.forward(g, LANES);
        this.staging = new PlainStaging(g.c(), g.h(), g.w(), g.strideW());
        this.outputLayout = new BlockedPlanes(g.k(), g.outH(), g.outW());
        this.rowFloats = staging.rowFloats();
        this.taps = g.c() * g.r() * g.s();
        this.blocks = Math.ceilDiv(g.k(), LANES);
        this.planeBytes = (long) g.outH() * g.outW() * LANES * Float.BYTES;
        this.rowClass = new int[g.outH()];
        this.columnClass = new int[g.outW()];
        this.tapLists = new TapList[(g.r() + 1) * (g.r() + 1)][(g.s() + 1) * (g.s() + 1)];
        for (int oh = 0; oh < g.outH(); oh++) {
            rowClass[oh] = rangeClass(p.firstRow(oh), p.endRow(oh), g.r());
        }
        for (int ow = 0; ow < g.outW(); ow++) {
            columnClass[ow] = rangeClass(p.firstColumn(ow), p.endColumn(ow), g.s());
        }
        for (int oh = 0; oh < g.outH(); oh++) {
            for (int ow = 0; ow < g.outW(); ow++) {
                if (tapLists[rowClass[oh]][columnClass[ow]] == null) {
                    tapLists[rowClass[oh]][columnClass[ow]] = tapList(p.firstRow(oh), p.endRow(oh), p.firstColumn(ow),
                            p.endColumn(ow));
                }
            }
        }
        int owA = p.firstInteriorColumn();
        this.rowTilesEnd = owA + (p.endInteriorColumn() - owA) / PIXELS * PIXELS;
    }

    /**
     * One group of plain input channels (fewer than half a block) into at least half a block of
     * filters, which the blocked entry points keep channel-blocked, on a machine with the 32 vector
     * registers the tile needs, with an item that fits a Java array.
     */
    static boolean accepts(ConvProblem g) {
        return Vectors.THIRTY_TWO_REGISTERS && g.groups() == 1 && 2 * g.c() < LANES && 2 * g.k() >= LANES
                && PlainStaging.fits(g.c(), g.h(), g.w(), g.strideW());
    }

    PlainStaging staging() {
        return staging;
    }

    /**
     * The forward pass on NCHW (plain) input into {@code output}, channel-blocked, or NCHW: then
     * {@link #BAND} rows at a time are computed into a blocked band and converted while in cache, so
     * the only output that reaches memory is the NCHW tensor (the conversion is counted in the
     * pass). Tasks are batch items, and groups of blocks too when there are fewer items than threads.
     */
    void forward(Tensor input, float[] w, Tensor bias, Tensor output, Workspace workspace, Parallelism par) {
        try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Forward task = forwardTasks.take()) {
            float[] b = lease.floats(BIAS, 0, blocks * LANES);
            java.util.Arrays.fill(b, 0, blocks * LANES, 0f);
            if (bias != null) {
                MemorySegment.copy(bias.segment(), Tensor.FLOAT, bias.byteOffset(), b, 0, g.k());
            }
            task.splits = WorkSplit.channelSplits(g.n(), groups(), par.threads());
            task.outBlocked = output.layout().isBlocked();
            task.input = input;
            task.output = output;
            task.w = w;
            task.b = b;
            task.lease = lease;
            par.forEach(g.n() * task.splits, task);
        }
    }

    /** Workspace slots of a forward call. */
    private static final int BIAS = 0;
    private static final int STAGED = 1;
    private static final int ROW = 2;
    private static final int BAND_SLOT = 3;
    private static final int SCRATCH = 4;

    private final CallTask.Pool<Forward> forwardTasks = new CallTask.Pool<>(Forward::new);

    /** Forward: a task is (item, range of filter groups). */
    private final class Forward extends CallTask {
        int splits;
        boolean outBlocked;
        Tensor input;
        Tensor output;
        float[] w;
        float[] b;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            int n = task / splits;
            int q0 = WorkSplit.start(groups(), splits, task % splits);
            int q1 = WorkSplit.start(groups(), splits, task % splits + 1);
            float[] in = staging.stage(input, n, lease.worker(worker).floats(STAGED, staging.itemFloats()),
                    lease.worker(worker).floats(ROW, staging.rowScratchFloats()));
            if (outBlocked) {
                PlainInputConvolution.this.run(in, output.segment(), output.byteOffset() + n * outputLayout.itemBytes(),
                        planeBytes, 0, q0, q1, w, b, 0, g.outH());
                return;
            }
            long bandBlockBytes = (long) BAND * g.outW() * LANES * Float.BYTES;
            MemorySegment band = lease.worker(worker).segment(BAND_SLOT, bandBlockBytes * blocks);
            float[] scratch = lease.worker(worker).floats(SCRATCH, Reorder.scratchFloats(g.outW()));
            for (int h0 = 0; h0 < g.outH(); h0 += BAND) {
                int h1 = Math.min(g.outH(), h0 + BAND);
                PlainInputConvolution.this.run(in, band, 0, bandBlockBytes, h0, q0, q1, w, b, h0, h1);
                for (int kb = q0 * GROUP; kb < Math.min(blocks, q1 * GROUP); kb++) {
                    Reorder.bandToNchw(outputLayout, band, 0, BAND, output.segment(), output.byteOffset(), n,
                            kb, h0, h1, scratch);
                }
            }
        }

        @Override
        protected void clear() {
            input = null;
            output = null;
            w = null;
            b = null;
            lease = null;
        }
    }

    /** Blocks of filters: {@code ceil(K / lanes)}. */
    int blocks() {
        return blocks;
    }

    /** Groups of up to four blocks: the unit of work of a task. */
    int groups() {
        return Math.ceilDiv(blocks, GROUP);
    }

    /** Floats of the packed weights. */
    int weightLength() {
        return blocks * LANES * taps;
    }

    /** Packs the OIHW weights {@code oihw} ({@code K x C x R x S}); filters past the last are zero. */
    void packWeights(float[] oihw, float[] packed) {
        for (int k = 0; k < blocks * LANES; k++) {
            int kb = k / LANES, q = kb / GROUP, groupBlocks = Math.min(GROUP, blocks - q * GROUP);
            int base = q * GROUP * LANES * taps + kb % GROUP * LANES + k % LANES;
            for (int t = 0; t < taps; t++) {
                packed[base + t * groupBlocks * LANES] = k < g.k() ? oihw[k * taps + t] : 0f;
            }
        }
    }

    /**
     * Writes output rows {@code [h0, h1)} of groups {@code [q0, q1)} of blocks of item {@code n},
     * staged in {@code in}, into blocked output planes at byte {@code outItem} of {@code out}, whose
     * blocks are {@code blockBytes} apart and start at output row {@code firstRow} (the whole
     * output, or a band of it), from the packed weights and the bias {@code bias} (a multiple of
     * the lanes long, zero past the last filter).
     */
    void run(float[] in, MemorySegment out, long outItem, long blockBytes, int firstRow, int q0, int q1, float[] w,
             float[] bias, int h0, int h1) {
        int owA = p.firstInteriorColumn();
        for (int oh = h0; oh < h1; oh++) {
            TapList row = tapLists[rowClass[oh]][columnClass[Math.min(owA, g.outW() - 1)]];
            for (int ow = owA; ow < rowTilesEnd; ow += PIXELS) {
                tile(in, inPixel(oh, ow), 1, row, out, outItem + pixel(oh - firstRow, ow), (long) LANES * Float.BYTES,
                        blockBytes, q0, q1, w, bias);
            }
        }
        int ohA = Math.max(h0, p.firstInteriorRow()), ohEnd = Math.min(h1, p.endInteriorRow());
        int ohTiled = ohA + Math.max(0, ohEnd - ohA) / PIXELS * PIXELS;
        for (int ow = 0; ow < g.outW(); ow++) {
            if (ow == owA && rowTilesEnd > owA) {
                ow = rowTilesEnd - 1;
                continue;
            }
            for (int oh = ohA; oh < ohTiled; oh += PIXELS) {
                tile(in, inPixel(oh, ow), g.strideH() * rowFloats, tapLists[rowClass[oh]][columnClass[ow]], out,
                        outItem + pixel(oh - firstRow, ow), (long) g.outW() * LANES * Float.BYTES, blockBytes, q0, q1, w,
                        bias);
            }
            for (int oh = h0; oh < h1; oh++) {
                if (oh == ohA && ohTiled > ohA) {
                    oh = ohTiled - 1;
                    continue;
                }
                TapList list = tapLists[rowClass[oh]][columnClass[ow]];
                for (int q = q0; q < q1; q++) {
                    int groupBlocks = Math.min(GROUP, blocks - q * GROUP);
                    PlainInputTiles.blocksOnePixel(groupBlocks, in, inPixel(oh, ow), list.inOffsets(), list.taps(),
                            list.count(), w, q * GROUP * LANES * taps, bias, q * GROUP * LANES, out,
                            outItem + q * GROUP * blockBytes + pixel(oh - firstRow, ow), blockBytes);
                }
            }
        }
    }

    /** Six pixels, {@code step} floats apart in the input and {@code outStep} bytes in the output, of groups {@code [q0, q1)}. */
    private void tile(float[] in, int inAt, int step, TapList list, MemorySegment out, long out0, long outStep,
                      long blockBytes, int q0, int q1, float[] w, float[] bias) {
        for (int q = q0; q < q1; q++) {
            int groupBlocks = Math.min(GROUP, blocks - q * GROUP), w0 = q * GROUP * LANES * taps;
            long o = out0 + q * GROUP * blockBytes;
            if (groupBlocks == GROUP && step == 1) {
                PlainInputTiles.fourBlocksSixPixelsDense(in, inAt, list.inOffsets(), list.taps(), list.count(), w, w0,
                        bias, q * GROUP * LANES, out, o, blockBytes, outStep);
            } else if (groupBlocks == GROUP) {
                PlainInputTiles.fourBlocksSixPixels(in, inAt, step, list.inOffsets(), list.taps(), list.count(), w, w0,
                        bias, q * GROUP * LANES, out, o, blockBytes, outStep);
            } else if (groupBlocks == 2) {
                PlainInputTiles.twoBlocksSixPixels(in, inAt, step, list.inOffsets(), list.taps(), list.count(), w, w0,
                        bias, q * GROUP * LANES, out, o, blockBytes, outStep);
            } else {
                for (int k = 0; k < groupBlocks; k++) {
                    PlainInputTiles.blockSixPixels(groupBlocks, k, in, inAt, step, list.inOffsets(), list.taps(),
                            list.count(), w, w0, bias, q * GROUP * LANES, out, o + k * blockBytes, outStep);
                }
            }
        }
    }

    /** Byte offset of output pixel (oh, ow) within a block's plane. */
    private long pixel(int oh, int ow) {
        return ((long) oh * g.outW() + ow) * LANES * Float.BYTES;
    }

    /** Staged index of output pixel (oh, ow) before its taps' offsets are added. */
    private int inPixel(int oh, int ow) {
        return (oh * g.strideH() - g.padTop()) * rowFloats + ow;
    }

    /** Numbers the range {@code [lo, hi)} of kernel indices below {@code extent}; every empty range is one class. */
    private static int rangeClass(int lo, int hi, int extent) {
        return hi > lo ? lo * (extent + 1) + hi : 0;
    }

    /** The taps of kernel rows {@code [r0, r1)} and columns {@code [s0, s1)}, channel by channel. */
    private TapList tapList(int r0, int r1, int s0, int s1) {
        int count = g.c() * Math.max(0, r1 - r0) * Math.max(0, s1 - s0);
        int[] in = new int[count], tap = new int[count];
        int t = 0;
        for (int c = 0; c < g.c(); c++) {
            for (int r = r0; r < r1; r++) {
                for (int s = s0; s < s1; s++, t++) {
                    in[t] = staging.tapOffset(c, r * g.dilationH(), s * g.dilationW() - g.padLeft());
                    tap[t] = (c * g.r() + r) * g.s() + s;
                }
            }
        }
        return new TapList(in, tap, count);
    }
}
