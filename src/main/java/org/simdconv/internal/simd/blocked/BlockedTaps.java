package org.simdconv.internal.simd.blocked;


/**
 * The taps one tile sums over, flattened into one list: for every input-channel block of a chunk,
 * kernel row and kernel column inside the input, the offset of its first channel from the tile's
 * first pixel in the staged input ({@link BlockedStaging}), the offset of its weights, and how many
 * of the block's channels are real (fewer than the lanes only in a last, partial block, such as the
 * three channels of a first layer: their padding is never multiplied). One
 * flat loop instead of three nested ones keeps C2 from spilling the accumulators (see
 * {@link BlockedTiles}).
 */
record BlockedTaps(int[] inOffsets, int[] weightOffsets, int[] channels, int count) {
}
