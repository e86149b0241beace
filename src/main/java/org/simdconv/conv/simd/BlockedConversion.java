package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.BlockedTiles.LANES;
import static org.simdconv.conv.simd.BlockedTiles.SPECIES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.ChannelBlockedLayout;
import org.simdconv.tensor.Tensor;

/**
 * The conversions of {@link ChannelBlockedLayout} with the Vector API, for the blocked kernels and
 * the blocked entry points: the same results, but every {@code lanes} pixels of a row are one
 * transpose in registers ({@link RegisterTranspose}) between the block's channel rows and its
 * pixels, and the last {@code width % lanes} pixels a gather each, instead of {@code lanes} scalar
 * loads and stores per pixel (on the seed's first layer the scalar transposes took 39% of a blocked
 * forward call; the gathers that replaced them cost four times the transposes at 16 lanes).
 * One (item, block, row) at a time through a per-thread scratch array, as the scalar conversions.
 */
final class BlockedConversion {

    /** Each thread's scratch row pair and its gather indices for the last width it converted. */
    private static final ThreadLocal<Scratch> SCRATCH = ThreadLocal.withInitial(Scratch::new);

    private static final class Scratch {
        float[] rows = new float[0];
        final float[] square = new float[LANES * LANES];
        int[] channelStride = new int[LANES];
        int width = -1;

        Scratch forWidth(int w) {
            if (rows.length < 2 * LANES * w) {
                rows = new float[2 * LANES * w];
            }
            if (width != w) {
                for (int i = 0; i < LANES; i++) {
                    channelStride[i] = i * w;
                }
                width = w;
            }
            return this;
        }
    }

    private BlockedConversion() {
    }

    /**
     * The whole NCHW tensor {@code nchw} into the blocked one at byte {@code blockedOffset} of
     * {@code blocked} ({@code toBlocked}), or back: item and block at a time on the pool's threads.
     */
    static void convert(Tensor nchw, MemorySegment blocked, long blockedOffset, boolean toBlocked, Parallelism par) {
        try (Conversion task = CONVERSIONS.take()) {
            task.nchw = nchw;
            task.blocked = blocked;
            task.blockedOffset = blockedOffset;
            task.toBlocked = toBlocked;
            task.layout = task.layoutOf(nchw);
            par.forEach(nchw.dim(0) * task.layout.blocks(), task);
        }
    }

    private static final CallTask.PerThread<Conversion> CONVERSIONS = new CallTask.PerThread<>(Conversion::new);

    /** A whole tensor's conversion: a task is (item, block). */
    private static final class Conversion extends CallTask {
        Tensor nchw;
        MemorySegment blocked;
        long blockedOffset;
        boolean toBlocked;
        /** Kept from call to call while the shape stays (it holds only sizes). */
        ChannelBlockedLayout layout;

        ChannelBlockedLayout layoutOf(Tensor t) {
            boolean same = layout != null && layout.channels() == t.dim(1) && layout.height() == t.dim(2)
                    && layout.width() == t.dim(3);
            return same ? layout : new ChannelBlockedLayout(t.dim(1), t.dim(2), t.dim(3), LANES);
        }

        @Override
        public void accept(int t) {
            int blocks = layout.blocks();
            if (toBlocked) {
                BlockedConversion.toBlocked(layout, nchw.segment(), nchw.byteOffset(), blocked, blockedOffset,
                        t / blocks, t % blocks);
            } else {
                toNchw(layout, blocked, blockedOffset, nchw.segment(), nchw.byteOffset(), t / blocks, t % blocks);
            }
        }

        @Override
        void clear() {
            nchw = null;
            blocked = null;
        }
    }

    /** Block {@code cb} of NCHW item {@code n} of {@code src} into the blocked tensor {@code dst}; offsets in bytes. */
    static void toBlocked(ChannelBlockedLayout layout, MemorySegment src, long srcOffset, MemorySegment dst,
                          long dstOffset, int n, int cb) {
        int w = layout.width(), rowFloats = w * LANES;
        Scratch s = SCRATCH.get().forWidth(w);
        long block = dstOffset + n * layout.itemBytes() + (long) cb * layout.height() * rowFloats * Float.BYTES;
        for (int h = 0; h < layout.height(); h++) {
            blockedRow(layout, src, srcOffset, n, cb, h, s, s.rows, rowFloats);
            MemorySegment.copy(s.rows, rowFloats, dst, Tensor.FLOAT, block + (long) h * rowFloats * Float.BYTES,
                    rowFloats);
        }
    }

    /** Block {@code cb} of NCHW item {@code n} as one blocked plane in {@code dst[0 .. height*width*lanes)}. */
    static void toBlockedPlane(ChannelBlockedLayout layout, MemorySegment src, long srcOffset, int n, int cb,
                               float[] dst) {
        int w = layout.width();
        Scratch s = SCRATCH.get().forWidth(w);
        for (int h = 0; h < layout.height(); h++) {
            blockedRow(layout, src, srcOffset, n, cb, h, s, dst, h * w * LANES);
        }
    }

    /** Block {@code cb} of item {@code n} of the blocked tensor {@code src} back into NCHW {@code dst}. */
    static void toNchw(ChannelBlockedLayout layout, MemorySegment src, long srcOffset, MemorySegment dst,
                       long dstOffset, int n, int cb) {
        rowsToNchw(layout, src, srcOffset + n * layout.itemBytes()
                + (long) cb * layout.height() * layout.width() * LANES * Float.BYTES, dst, dstOffset, n, cb, 0,
                layout.height());
    }

    /**
     * Rows {@code [h0, h1)} of block {@code cb} of NCHW item {@code n}, from a band of blocked rows
     * at byte {@code band} of {@code src} that holds them ({@code [cb][h - h0][w][lanes]}, blocks
     * {@code bandRows} rows apart): a band converted right after it was computed, while in cache.
     */
    static void bandToNchw(ChannelBlockedLayout layout, MemorySegment src, long band, int bandRows, MemorySegment dst,
                           long dstOffset, int n, int cb, int h0, int h1) {
        long rowBytes = (long) layout.width() * LANES * Float.BYTES;
        rowsToNchw(layout, src, band + (cb * (long) bandRows - h0) * rowBytes, dst, dstOffset, n, cb, h0, h1);
    }

    /** Rows {@code [h0, h1)} of block {@code cb} of item {@code n}, row h read at {@code block + h * rowBytes}. */
    private static void rowsToNchw(ChannelBlockedLayout layout, MemorySegment src, long block, MemorySegment dst,
                                   long dstOffset, int n, int cb, int h0, int h1) {
        int w = layout.width(), rowFloats = w * LANES, live = Math.min(LANES, layout.channels() - cb * LANES);
        Scratch s = SCRATCH.get().forWidth(w);
        float[] rows = s.rows;
        long plane = (long) layout.height() * w * Float.BYTES;
        int whole = w / LANES * LANES;
        for (int h = h0; h < h1; h++) {
            MemorySegment.copy(src, Tensor.FLOAT, block + (long) h * rowFloats * Float.BYTES, rows, 0, rowFloats);
            for (int x = 0; x < whole; x += LANES) { // lanes pixels into the lanes channel rows
                RegisterTranspose.transpose(rows, x * LANES, LANES, rows, rowFloats + x, w);
            }
            for (int ci = 0; ci < live; ci++) {
                int out = rowFloats + ci * w;
                for (int x = whole; x < w; x++) {
                    rows[out + x] = rows[x * LANES + ci];
                }
            }
            long dstRow = dstOffset + ((long) n * layout.channels() + (long) cb * LANES) * plane
                    + (long) h * w * Float.BYTES;
            for (int ci = 0; ci < live; ci++) {
                MemorySegment.copy(rows, rowFloats + ci * w, dst, Tensor.FLOAT, dstRow + ci * plane, w);
            }
        }
    }

    /**
     * Row {@code h} of block {@code cb} of NCHW item {@code n}, blocked, into {@code out[at ..
     * at + width*lanes)}: the block's channel rows are copied in bulk into the scratch rows
     * (channels past the last zero) and gathered from there pixel by pixel.
     */
    private static void blockedRow(ChannelBlockedLayout layout, MemorySegment src, long srcOffset, int n, int cb,
                                   int h, Scratch s, float[] out, int at) {
        stagedRow(layout, src, srcOffset, n, cb, h, s, out, at, 1, layout.width(), LANES);
    }

    /**
     * Row {@code h} of block {@code cb} of NCHW item {@code n}, blocked and split into its column
     * phases as {@link BlockedStaging} lays them out: the lanes of pixel {@code x} go to
     * {@code out[at + ((x % strideW) * phaseLength + x / strideW) * pixelFloats]}.
     */
    static void stagedRow(ChannelBlockedLayout layout, MemorySegment src, long srcOffset, int n, int cb, int h,
                          float[] out, int at, int strideW, int phaseLength, int pixelFloats) {
        stagedRow(layout, src, srcOffset, n, cb, h, SCRATCH.get().forWidth(layout.width()), out, at, strideW,
                phaseLength, pixelFloats);
    }

    private static void stagedRow(ChannelBlockedLayout layout, MemorySegment src, long srcOffset, int n, int cb,
                                  int h, Scratch s, float[] out, int at, int strideW, int phaseLength,
                                  int pixelFloats) {
        int w = layout.width(), live = Math.min(LANES, layout.channels() - cb * LANES);
        float[] rows = s.rows;
        if (live < LANES) {
            Arrays.fill(rows, live * w, LANES * w, 0f);
        }
        long plane = (long) layout.height() * w * Float.BYTES;
        long srcRow = srcOffset + ((long) n * layout.channels() + (long) cb * LANES) * plane + (long) h * w * Float.BYTES;
        for (int ci = 0; ci < live; ci++) {
            MemorySegment.copy(src, Tensor.FLOAT, srcRow + ci * plane, rows, ci * w, w);
        }
        int whole = w / LANES * LANES;
        if (strideW == 1) {
            for (int x = 0; x < whole; x += LANES) {
                RegisterTranspose.transpose(rows, x, w, out, at + x * pixelFloats, pixelFloats);
            }
        } else { // through a square, from which each pixel goes to its phase
            float[] square = s.square;
            for (int x = 0; x < whole; x += LANES) {
                RegisterTranspose.transpose(rows, x, w, square, 0, LANES);
                for (int i = 0; i < LANES; i++) {
                    FloatVector.fromArray(SPECIES, square, i * LANES)
                            .intoArray(out, at + phaseColumn(x + i, strideW, phaseLength) * pixelFloats);
                }
            }
        }
        for (int x = whole; x < w; x++) { // the last pixels, a gather each
            FloatVector.fromArray(SPECIES, rows, x, s.channelStride, 0)
                    .intoArray(out, at + phaseColumn(x, strideW, phaseLength) * pixelFloats);
        }
    }

    /** Where input column {@code x} goes in a row split into {@code strideW} phases. */
    private static int phaseColumn(int x, int strideW, int phaseLength) {
        return (x % strideW) * phaseLength + x / strideW;
    }
}
