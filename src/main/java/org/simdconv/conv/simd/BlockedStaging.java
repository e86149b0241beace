package org.simdconv.conv.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.simdconv.tensor.ChannelBlockedLayout;

/**
 * One batch item's input, channel-blocked, in a heap array that the tiles read their broadcasts
 * from ({@link BlockedTiles} says why an array): {@code [cb][ih][q][j][lanes]}, where input column
 * {@code iw = j*strideW + q}. Splitting every row into its {@code strideW} column phases makes the
 * pixels of consecutive output columns, at any tap, neighbours in the array (one vector apart), so
 * a strided convolution reads like a dense one. No padding is stored: the tiles clip their taps.
 *
 * <p>Each thread keeps its array and reuses it from call to call, so staging allocates nothing
 * after the first call of a size.
 */
final class BlockedStaging {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;
    private static final ThreadLocal<float[][]> ARRAYS = ThreadLocal.withInitial(() -> new float[2][]);

    private final int channels;
    private final int height;
    private final int width;
    private final int strideW;
    private final int phaseLength;
    private final int lanes;
    private final int slot;

    /** Staging for a convolution's input (the thread's first array); {@code lanes} must be the species' lanes. */
    BlockedStaging(int channels, int height, int width, int strideW, int lanes) {
        this(channels, height, width, strideW, lanes, 0);
    }

    /**
     * Staging into the thread's array number {@code slot} (0 or 1), so that a pass can hold two
     * staged tensors at once (backward-weights: the input and the output gradient).
     */
    BlockedStaging(int channels, int height, int width, int strideW, int lanes, int slot) {
        this.slot = slot;
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.strideW = strideW;
        this.phaseLength = Math.ceilDiv(width, strideW);
        this.lanes = lanes;
    }

    /** Floats between two staged rows. */
    int rowFloats() {
        return strideW * phaseLength * lanes;
    }

    int blockFloats() {
        return height * rowFloats();
    }

    /** Floats of one staged item; the blocked kernels accept a problem only when this fits an array. */
    long itemFloats() {
        return (long) Math.ceilDiv(channels, lanes) * height * strideW * phaseLength * lanes;
    }

    /** Float offset, within a staged row, of input column {@code column} (which may lie outside, for taps). */
    int columnOffset(int column) {
        return (Math.floorMod(column, strideW) * phaseLength + Math.floorDiv(column, strideW)) * lanes;
    }

    /**
     * Stages batch item {@code n} of an NCHW tensor into this thread's array, which it returns; it
     * stays valid until this thread stages again.
     */
    float[] stageNchw(MemorySegment src, long srcOffset, int n) {
        float[] staged = ensure(ARRAYS.get(), slot, (int) itemFloats());
        ChannelBlockedLayout layout = new ChannelBlockedLayout(channels, height, width, lanes);
        for (int cb = 0; cb < layout.blocks(); cb++) {
            for (int h = 0; h < height; h++) {
                BlockedConversion.stagedRow(layout, src, srcOffset, n, cb, h, staged,
                        cb * blockFloats() + h * rowFloats(), strideW, phaseLength);
            }
        }
        return staged;
    }

    /**
     * Stages batch item {@code n} of a channel-blocked tensor ({@code N x ceil(C/lanes) x H x W x
     * lanes}, see {@code ChannelBlockedLayout}): rows are copied in bulk, pixel by pixel into their
     * column phases when the stride is above 1. Its padding lanes are copied as they are (the packed
     * weights of those channels are zero).
     */
    float[] stageBlocked(MemorySegment src, long srcOffset, int n) {
        float[] staged = ensure(ARRAYS.get(), slot, (int) itemFloats());
        int blocks = Math.ceilDiv(channels, lanes);
        long rowBytes = (long) width * lanes * Float.BYTES;
        long item = srcOffset + (long) n * blocks * height * rowBytes;
        for (int cb = 0; cb < blocks; cb++) {
            for (int h = 0; h < height; h++) {
                long row = item + ((long) cb * height + h) * rowBytes;
                int rowBase = cb * blockFloats() + h * rowFloats();
                if (strideW == 1) {
                    MemorySegment.copy(src, FLOAT, row, staged, rowBase, width * lanes);
                } else {
                    for (int w = 0; w < width; w++) {
                        MemorySegment.copy(src, FLOAT, row + (long) w * lanes * Float.BYTES, staged,
                                rowBase + columnOffset(w), lanes);
                    }
                }
            }
        }
        return staged;
    }

    private static float[] ensure(float[][] arrays, int slot, int length) {
        if (arrays[slot] == null || arrays[slot].length < length) {
            arrays[slot] = new float[length];
        }
        return arrays[slot];
    }
}
