package org.simdconv.internal.simd.common;

import static org.simdconv.internal.simd.common.Vectors.LANES;

/**
 * The sizes of one channel-blocked activation ({@code nChw<lanes>c}): {@code channels} channels in
 * {@link #blocks()} blocks of the vector lanes, planes of {@code height x width} pixels, one vector
 * per pixel and block. Offsets of an item, a block, a row, as the kernels and {@link Reorder} need them.
 */
public record BlockedPlanes(int channels, int height, int width) {

    public int blocks() {
        return Math.ceilDiv(channels, LANES);
    }

    /** Bytes of one block's plane: {@code height * width} pixel vectors. */
    public long blockBytes() {
        return (long) height * width * LANES * Float.BYTES;
    }

    /** Bytes of one batch item: every block's plane. */
    public long itemBytes() {
        return blocks() * blockBytes();
    }

    /** Bytes of one row of a block's plane. */
    public long rowBytes() {
        return (long) width * LANES * Float.BYTES;
    }

    /** Bytes of one plane of the same tensor in NCHW. */
    public long nchwPlaneBytes() {
        return (long) height * width * Float.BYTES;
    }

    /** Channels of block {@code cb} that are real (the last block may be partly padding). */
    public int liveChannels(int cb) {
        return Math.min(LANES, channels - cb * LANES);
    }
}
