package org.simdconv.internal.simd.blocked;

import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import org.simdconv.internal.simd.common.BlockedPlanes;
import org.simdconv.internal.simd.common.Reorder;

/**
 * One batch item's input, channel-blocked, in a heap array that the tiles read their broadcasts
 * from ({@link BlockedTiles} says why an array): {@code [cg][ih][q][j][group*lanes]}, where input
 * column {@code iw = j*strideW + q} and each pixel holds the channels of {@code group} consecutive
 * blocks ({@code cg} numbers those groups of blocks). Splitting every row into its {@code strideW}
 * column phases makes the pixels of consecutive output columns, at any tap, neighbours in the
 * array (one pixel apart), so a strided convolution reads like a dense one. Holding four blocks per
 * pixel lets a tile run one loop over 32 channels (at 8 lanes) for each kernel tap instead of four
 * loops over 8: the set-up of each loop (its bounds checks, hoisted out of it by C2) was about a
 * third of the instructions of the forward tile. No padding is stored: the tiles clip their taps.
 *
 * <p>The caller gives the array (its worker's, from the call's workspace), so staging allocates
 * nothing.
 */
final class BlockedStaging {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int channels;
    private final int height;
    private final int width;
    private final int strideW;
    private final int phaseLength;
    private final int lanes;
    private final int group;
    /** The NCHW source's channels in blocks, as {@link #stageNchw} reads them. */
    private final BlockedPlanes layout;

    /** Staging of a tensor with one block per pixel; {@code lanes} must be the species' lanes. */
    BlockedStaging(int channels, int height, int width, int strideW, int lanes) {
        this(channels, height, width, strideW, lanes, 1);
    }

    /**
     * Staging with {@code group} blocks per pixel; the blocks of the tensor ({@code ceil(channels /
     * lanes)}) must be a multiple of {@code group}.
     */
    BlockedStaging(int channels, int height, int width, int strideW, int lanes, int group) {
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.strideW = strideW;
        this.phaseLength = Math.ceilDiv(width, strideW);
        this.lanes = lanes;
        this.group = group;
        this.layout = new BlockedPlanes(channels, height, width);
        if (Math.ceilDiv(channels, lanes) % group != 0) {
            throw new IllegalArgumentException("blocks " + Math.ceilDiv(channels, lanes) + " must be a multiple of group "
                    + group);
        }
    }

    /** Blocks of channels per staged pixel. */
    int group() {
        return group;
    }

    /** Floats between two staged pixels of a row phase. */
    int pixelFloats() {
        return group * lanes;
    }

    /** Floats between two staged rows. */
    int rowFloats() {
        return strideW * phaseLength * pixelFloats();
    }

    /** Floats of one group of blocks (one block when {@code group} is 1). */
    int groupFloats() {
        return height * rowFloats();
    }

    /** Float offset of the first lane of block {@code cb} at pixel (0, 0). */
    int blockOffset(int cb) {
        return cb / group * groupFloats() + cb % group * lanes;
    }

    /** Floats of one staged item; the blocked kernels accept a problem only when this fits an array. */
    long itemFloats() {
        return (long) Math.ceilDiv(channels, lanes) * height * strideW * phaseLength * lanes;
    }

    /** Float offset, within a staged row, of input column {@code column} (which may lie outside, for taps). */
    int columnOffset(int column) {
        return (Math.floorMod(column, strideW) * phaseLength + Math.floorDiv(column, strideW)) * pixelFloats();
    }

    /** The width of the rows staged: {@link Reorder#scratchFloats} of it is the scratch {@link #stageNchw} needs. */
    int width() {
        return width;
    }

    /**
     * Stages batch item {@code n} of an NCHW tensor into {@code staged} (at least {@link #itemFloats}
     * long), converting it row by row through {@code scratch} ({@link Reorder#scratchFloats} of the width).
     */
    float[] stageNchw(MemorySegment src, long srcOffset, int n, float[] staged, float[] scratch) {
        for (int cb = 0; cb < layout.blocks(); cb++) {
            for (int h = 0; h < height; h++) {
                Reorder.stagedRow(layout, src, srcOffset, n, cb, h, staged, blockOffset(cb) + h * rowFloats(),
                        strideW, phaseLength, pixelFloats(), scratch);
            }
        }
        return staged;
    }

    /**
     * Stages batch item {@code n} of a channel-blocked tensor ({@code N x ceil(C/lanes) x H x W x
     * lanes}, see {@code BlockedPlanes}): rows are copied in bulk when they stay as they are
     * (one block per pixel, stride 1), else pixel by pixel, one vector each, into their place.
     * Its padding lanes are copied as they are (the packed weights of those channels are zero).
     */
    float[] stageBlocked(MemorySegment src, long srcOffset, int n, float[] staged) {
        int blocks = Math.ceilDiv(channels, lanes);
        long rowBytes = (long) width * lanes * Float.BYTES;
        long item = srcOffset + (long) n * blocks * height * rowBytes;
        for (int cb = 0; cb < blocks; cb++) {
            for (int h = 0; h < height; h++) {
                long row = item + ((long) cb * height + h) * rowBytes;
                int rowBase = blockOffset(cb) + h * rowFloats();
                if (strideW == 1 && group == 1) {
                    MemorySegment.copy(src, FLOAT, row, staged, rowBase, width * lanes);
                } else {
                    for (int w = 0; w < width; w++) {
                        FloatVector.fromMemorySegment(SPECIES, src, row + (long) w * lanes * Float.BYTES,
                                ORDER).intoArray(staged, rowBase + columnOffset(w));
                    }
                }
            }
        }
        return staged;
    }
}
