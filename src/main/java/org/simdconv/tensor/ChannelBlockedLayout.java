package org.simdconv.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;

/**
 * The channel-blocked activation layout, {@code nChw<lanes>c} in oneDNN's words: an NCHW tensor
 * {@code N x C x H x W} held as {@code N x ceil(C/lanes) x H x W x lanes}, channel {@code c} of
 * pixel (h, w) at {@code [c / lanes][h][w][c % lanes]}. One vector holds one pixel's channels of a
 * block, which is what the blocked convolution kernels compute on. Channels past {@code C} in the
 * last block are zero. Tensors of few channels keep blocks of one channel, which is NCHW itself
 * ({@link #blockFor}).
 *
 * <p>The conversions to and from NCHW work one (item, block, row) at a time: {@code lanes} rows are
 * copied in bulk into a small array, transposed there, and copied out in bulk. Each thread reuses
 * its small array, so conversions allocate nothing after the first. Tensors must be contiguous and
 * of the right shapes: {@code Conv2d.toBlocked} and {@code Conv2d.toNchw} check them for users.
 */
public final class ChannelBlockedLayout {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    /** Each thread's scratch row pair, reused so that conversions allocate nothing. */
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private final int channels;
    private final int height;
    private final int width;
    private final int lanes;

    /** The layout of {@code channels x height x width} items in blocks of {@code lanes} channels. */
    public ChannelBlockedLayout(int channels, int height, int width, int lanes) {
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.lanes = lanes;
    }

    /**
     * Channels per block for a tensor of {@code channels} channels when the kernels' vectors hold
     * {@code lanes} floats: {@code lanes}, or 1 (the tensor stays plain NCHW) when the channels fill
     * less than half a block. Padding a first layer's one or three channels to a block would
     * multiply its memory by up to 16 and leave most lanes idle: the kernels for so few channels
     * vectorise along the width or over the other tensor's channels instead, and read plain rows
     * (oneDNN picks a plain layout for such tensors too).
     */
    public static int blockFor(int channels, int lanes) {
        return 2 * channels < lanes ? 1 : lanes;
    }

    /** Shape of the blocked tensor of an NCHW shape, in blocks of {@code lanes} channels. */
    public static int[] blockedShape(int[] nchw, int lanes) {
        return new int[] {nchw[0], Math.ceilDiv(nchw[1], lanes), nchw[2], nchw[3], lanes};
    }

    public int channels() {
        return channels;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public int lanes() {
        return lanes;
    }

    public int blocks() {
        return Math.ceilDiv(channels, lanes);
    }

    /** Bytes of one batch item. */
    public long itemBytes() {
        return (long) blocks() * height * width * lanes * Float.BYTES;
    }

    private float[] scratch() {
        float[][] holder = SCRATCH.get();
        if (holder[0].length < 2 * lanes * width) {
            holder[0] = new float[2 * lanes * width];
        }
        return holder[0];
    }

    /** Converts a whole contiguous NCHW tensor into a contiguous blocked one. */
    public void toBlocked(Tensor nchw, Tensor blocked) {
        for (int n = 0; n < nchw.dim(0); n++) {
            for (int cb = 0; cb < blocks(); cb++) {
                toBlocked(nchw.segment(), nchw.byteOffset(), blocked.segment(), blocked.byteOffset(), n, cb);
            }
        }
    }

    /** Converts a whole contiguous blocked tensor into a contiguous NCHW one. */
    public void toNchw(Tensor blocked, Tensor nchw) {
        for (int n = 0; n < nchw.dim(0); n++) {
            for (int cb = 0; cb < blocks(); cb++) {
                toNchw(blocked.segment(), blocked.byteOffset(), nchw.segment(), nchw.byteOffset(), n, cb);
            }
        }
    }

    /** Copies block {@code cb} of NCHW batch item {@code n} into the blocked tensor; offsets in bytes. */
    public void toBlocked(MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset, int n, int cb) {
        float[] scratch = scratch();
        int rowFloats = width * lanes;
        long dstBlock = dstOffset + n * itemBytes() + (long) cb * height * rowFloats * Float.BYTES;
        for (int h = 0; h < height; h++) {
            blockedRow(src, srcOffset, n, cb, h, scratch, scratch, lanes * width);
            MemorySegment.copy(scratch, lanes * width, dst, FLOAT, dstBlock + (long) h * rowFloats * Float.BYTES, rowFloats);
        }
    }

    /**
     * Row {@code h} of block {@code cb} of NCHW item {@code n}, blocked, into {@code out[at ..
     * at + width*lanes)}: the block's channel rows are copied in bulk into {@code scratch[0 ..
     * lanes*width)} (padding channels zero) and transposed from there.
     */
    private void blockedRow(MemorySegment src, long srcOffset, int n, int cb, int h, float[] scratch, float[] out,
                            int at) {
        int live = Math.min(lanes, channels - cb * lanes);
        if (live < lanes) {
            Arrays.fill(scratch, live * width, lanes * width, 0f);
        }
        long plane = (long) height * width * Float.BYTES;
        long srcRow = srcOffset + ((long) n * channels + (long) cb * lanes) * plane + (long) h * width * Float.BYTES;
        for (int ci = 0; ci < live; ci++) {
            MemorySegment.copy(src, FLOAT, srcRow + ci * plane, scratch, ci * width, width);
        }
        for (int x = 0; x < width; x++) {
            for (int ci = 0; ci < lanes; ci++) {
                out[at + x * lanes + ci] = scratch[ci * width + x];
            }
        }
    }

    /** Copies block {@code cb} of batch item {@code n} of the blocked tensor back into NCHW. */
    public void toNchw(MemorySegment src, long srcOffset, MemorySegment dst, long dstOffset, int n, int cb) {
        float[] scratch = scratch();
        int live = Math.min(lanes, channels - cb * lanes);
        int rowFloats = width * lanes;
        long plane = (long) height * width * Float.BYTES;
        long srcBlock = srcOffset + n * itemBytes() + (long) cb * height * rowFloats * Float.BYTES;
        for (int h = 0; h < height; h++) {
            MemorySegment.copy(src, FLOAT, srcBlock + (long) h * rowFloats * Float.BYTES, scratch, 0, rowFloats);
            int t = rowFloats;
            for (int ci = 0; ci < live; ci++) {
                for (int x = 0; x < width; x++) {
                    scratch[t + ci * width + x] = scratch[x * lanes + ci];
                }
            }
            long dstRow = dstOffset + ((long) n * channels + (long) cb * lanes) * plane + (long) h * width * Float.BYTES;
            for (int ci = 0; ci < live; ci++) {
                MemorySegment.copy(scratch, t + ci * width, dst, FLOAT, dstRow + ci * plane, width);
            }
        }
    }
}
