package org.simdconv.internal.simd.common;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * Every conversion of the Vector API path between plain NCHW and the channel-blocked layout
 * ({@code nChw<lanes>c}, {@link BlockedPlanes}): whole tensors ({@link #reorder}), and the pieces
 * the kernels convert as they go, while the data is in cache: a block of one item, a band of rows,
 * a row staged into a kernel's array ({@link #stagedRow}).
 *
 * <p>Each {@code lanes} pixels of a row are one transpose in registers ({@link RegisterTranspose})
 * between the block's channel rows and its pixels, instead of {@code lanes} scalar loads and stores
 * per pixel (on the seed's first layer the scalar transposes took 39% of a blocked forward call).
 * The last {@code width % lanes} pixels go through one more transpose of a zero-padded square.
 *
 * <p>The conversions work one row at a time through a scratch array of {@link #scratchFloats} floats
 * that the caller owns (one per worker thread, from its workspace), so they allocate nothing.
 */
public final class Reorder {

    /** The workspace slot of the whole-tensor reorder's scratch rows. */
    private static final int SCRATCH_SLOT = 0;

    private static final CallTask.Pool<Conversion> CONVERSIONS = new CallTask.Pool<>(Conversion::new);

    private Reorder() {
    }

    /** Floats of the scratch array a conversion of planes {@code width} pixels wide needs. */
    public static int scratchFloats(int width) {
        return 2 * LANES * width + 2 * LANES * LANES;
    }

    /**
     * Copies {@code from} into {@code to}, the same shape in any two layouts: between plain NCHW and
     * blocks of the vector lanes item and block at a time on the threads of {@code par}, anything
     * else (another block size, a strided view) element by element ({@link Tensor#copyTo}).
     */
    public static void reorder(Tensor from, Tensor to, Workspace workspace, Parallelism par) {
        Layout a = from.layout(), b = to.layout();
        boolean toBlocked = a.isPlain() && b.block() == LANES, toPlain = a.block() == LANES && b.isPlain();
        if (from.rank() != 4 || !from.isContiguous() || !to.isContiguous() || !(toBlocked || toPlain)) {
            from.copyTo(to);
            return;
        }
        try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Conversion task = CONVERSIONS.take()) {
            BlockedPlanes planes = task.planes(from.dim(1), from.dim(2), from.dim(3));
            task.from = from;
            task.to = to;
            task.toBlocked = toBlocked;
            task.lease = lease;
            par.forEach(from.dim(0) * planes.blocks(), task);
        }
    }

    /** A whole tensor's conversion: a task is (item, block). */
    private static final class Conversion extends CallTask {
        BlockedPlanes planes;
        /**
         * The sizes of the last two calls, kept with the task: a call of the same sizes makes none (a
         * convolution reorders its two activations, of two sizes, call after call).
         */
        private final BlockedPlanes[] recent = new BlockedPlanes[2];

        BlockedPlanes planes(int channels, int height, int width) {
            for (BlockedPlanes p : recent) {
                if (p != null && p.channels() == channels && p.height() == height && p.width() == width) {
                    return planes = p;
                }
            }
            recent[1] = recent[0];
            recent[0] = new BlockedPlanes(channels, height, width);
            return planes = recent[0];
        }

        Tensor from;
        Tensor to;
        boolean toBlocked;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            int blocks = planes.blocks();
            float[] scratch = lease.worker(worker).floats(SCRATCH_SLOT, scratchFloats(planes.width()));
            if (toBlocked) {
                toBlocked(planes, from.segment(), from.byteOffset(), to.segment(), to.byteOffset(), task / blocks,
                        task % blocks, scratch);
            } else {
                toNchw(planes, from.segment(), from.byteOffset(), to.segment(), to.byteOffset(), task / blocks,
                        task % blocks, scratch);
            }
        }

        @Override
        protected void clear() {
            from = to = null;
            lease = null;
        }
    }

    /** Block {@code cb} of NCHW item {@code n} of {@code src} into the blocked tensor {@code dst}; offsets in bytes. */
    public static void toBlocked(BlockedPlanes planes, MemorySegment src, long srcOffset, MemorySegment dst,
                                 long dstOffset, int n, int cb, float[] scratch) {
        int w = planes.width(), rowFloats = w * LANES;
        long block = dstOffset + n * planes.itemBytes() + cb * planes.blockBytes();
        for (int h = 0; h < planes.height(); h++) {
            stagedRow(planes, src, srcOffset, n, cb, h, scratch, rowFloats, 1, w, LANES, scratch);
            MemorySegment.copy(scratch, rowFloats, dst, Tensor.FLOAT, block + h * planes.rowBytes(), rowFloats);
        }
    }

    /** Block {@code cb} of NCHW item {@code n} as one blocked plane in {@code dst[0 .. height*width*lanes)}. */
    public static void toBlockedPlane(BlockedPlanes planes, MemorySegment src, long srcOffset, int n, int cb,
                                      float[] dst, float[] scratch) {
        int w = planes.width();
        for (int h = 0; h < planes.height(); h++) {
            stagedRow(planes, src, srcOffset, n, cb, h, dst, h * w * LANES, 1, w, LANES, scratch);
        }
    }

    /** Block {@code cb} of item {@code n} of the blocked tensor {@code src} back into NCHW {@code dst}. */
    public static void toNchw(BlockedPlanes planes, MemorySegment src, long srcOffset, MemorySegment dst,
                              long dstOffset, int n, int cb, float[] scratch) {
        rowsToNchw(planes, src, srcOffset + n * planes.itemBytes() + cb * planes.blockBytes(), dst, dstOffset, n, cb,
                0, planes.height(), scratch);
    }

    /**
     * Rows {@code [h0, h1)} of block {@code cb} of NCHW item {@code n}, from a band of blocked rows
     * at byte {@code band} of {@code src} that holds them ({@code [cb][h - h0][w][lanes]}, blocks
     * {@code bandRows} rows apart): a band converted right after it was computed, while in cache.
     */
    public static void bandToNchw(BlockedPlanes planes, MemorySegment src, long band, int bandRows, MemorySegment dst,
                                  long dstOffset, int n, int cb, int h0, int h1, float[] scratch) {
        rowsToNchw(planes, src, band + (cb * (long) bandRows - h0) * planes.rowBytes(), dst, dstOffset, n, cb, h0, h1,
                scratch);
    }

    /** Rows {@code [h0, h1)} of block {@code cb} of item {@code n}, row h read at {@code block + h * rowBytes}. */
    private static void rowsToNchw(BlockedPlanes planes, MemorySegment src, long block, MemorySegment dst,
                                   long dstOffset, int n, int cb, int h0, int h1, float[] rows) {
        int w = planes.width(), rowFloats = w * LANES, live = planes.liveChannels(cb);
        long plane = planes.nchwPlaneBytes();
        int whole = w / LANES * LANES;
        for (int h = h0; h < h1; h++) {
            MemorySegment.copy(src, Tensor.FLOAT, block + h * planes.rowBytes(), rows, 0, rowFloats);
            for (int x = 0; x < whole; x += LANES) { // lanes pixels into the lanes channel rows
                RegisterTranspose.transpose(rows, x * LANES, LANES, rows, rowFloats + x, w);
            }
            for (int ci = 0; ci < live; ci++) {
                int out = rowFloats + ci * w;
                for (int x = whole; x < w; x++) {
                    rows[out + x] = rows[x * LANES + ci];
                }
            }
            long dstRow = dstOffset + ((long) n * planes.channels() + (long) cb * LANES) * plane
                    + (long) h * w * Float.BYTES;
            for (int ci = 0; ci < live; ci++) {
                MemorySegment.copy(rows, rowFloats + ci * w, dst, Tensor.FLOAT, dstRow + ci * plane, w);
            }
        }
    }

    /**
     * Row {@code h} of block {@code cb} of NCHW item {@code n}, blocked and split into its column
     * phases as a kernel's staged input lays them out: the lanes of pixel {@code x} go to
     * {@code out[at + ((x % strideW) * phaseLength + x / strideW) * pixelFloats]}. The block's
     * channel rows are copied in bulk into the scratch rows (channels past the last are zero), then
     * transposed {@code lanes} pixels at a time; {@code out} must not be {@code scratch} below
     * {@code lanes * width}.
     */
    public static void stagedRow(BlockedPlanes planes, MemorySegment src, long srcOffset, int n, int cb, int h,
                                 float[] out, int at, int strideW, int phaseLength, int pixelFloats, float[] scratch) {
        int w = planes.width(), live = planes.liveChannels(cb);
        float[] rows = scratch;
        if (live < LANES) {
            Arrays.fill(rows, live * w, LANES * w, 0f);
        }
        long plane = planes.nchwPlaneBytes();
        long srcRow = srcOffset + ((long) n * planes.channels() + (long) cb * LANES) * plane + (long) h * w * Float.BYTES;
        for (int ci = 0; ci < live; ci++) {
            MemorySegment.copy(src, Tensor.FLOAT, srcRow + ci * plane, rows, ci * w, w);
        }
        int whole = w / LANES * LANES;
        int square = 2 * LANES * w, transposed = square + LANES * LANES;
        if (strideW == 1) {
            for (int x = 0; x < whole; x += LANES) {
                RegisterTranspose.transpose(rows, x, w, out, at + x * pixelFloats, pixelFloats);
            }
        } else { // through a square, from which each pixel goes to its phase
            for (int x = 0; x < whole; x += LANES) {
                RegisterTranspose.transpose(rows, x, w, scratch, transposed, LANES);
                for (int i = 0; i < LANES; i++) {
                    FloatVector.fromArray(SPECIES, scratch, transposed + i * LANES)
                            .intoArray(out, at + phaseColumn(x + i, strideW, phaseLength) * pixelFloats);
                }
            }
        }
        if (whole < w) { // the last pixels: their channel rows into a square, transposed like the others
            int tail = w - whole;
            for (int ci = 0; ci < LANES; ci++) {
                System.arraycopy(rows, ci * w + whole, scratch, square + ci * LANES, tail);
            }
            RegisterTranspose.transpose(scratch, square, LANES, scratch, transposed, LANES);
            for (int i = 0; i < tail; i++) {
                FloatVector.fromArray(SPECIES, scratch, transposed + i * LANES)
                        .intoArray(out, at + phaseColumn(whole + i, strideW, phaseLength) * pixelFloats);
            }
        }
    }

    /** Where input column {@code x} goes in a row split into {@code strideW} phases. */
    private static int phaseColumn(int x, int strideW, int phaseLength) {
        return (x % strideW) * phaseLength + x / strideW;
    }
}
