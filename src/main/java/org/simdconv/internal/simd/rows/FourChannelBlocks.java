package org.simdconv.internal.simd.rows;

import org.simdconv.internal.simd.common.WorkSplit;

/**
 * Output channels in blocks of four inside each group, the unit of {@link
 * DirectRowKernel#rowsOfFourChannels}. A block starts at a multiple of four from its group's first
 * channel and lies wholly inside the group; the last one to three channels of a group that does not
 * divide by four stay single.
 */
final class FourChannelBlocks {

    static final int SIZE = 4;

    private FourChannelBlocks() {
    }

    /** True when output channel {@code k} (of groups of {@code perGroup}) lies in a full block. */
    static boolean inBlock(int k, int perGroup) {
        return k % perGroup < perGroup / SIZE * SIZE;
    }

    /** True when a full block starts at {@code k}. */
    static boolean startsBlock(int k, int perGroup) {
        return inBlock(k, perGroup) && (k % perGroup) % SIZE == 0;
    }

    /**
     * The weights {@code [channel][perChannel]} with every full block's four channels interleaved
     * ({@code [block][i][4]}, {@code i < perChannel}); single channels keep their plain rows.
     */
    static float[] interleave(float[] weights, int channels, int perGroup, int perChannel) {
        return interleave(weights, channels, perGroup, perChannel, null);
    }

    /** {@link #interleave} of the first {@code into.length} weights into {@code into}, when it is not null. */
    static float[] interleave(float[] weights, int channels, int perGroup, int perChannel, float[] into) {
        float[] out = into == null ? weights.clone() : into;
        if (into != null) {
            System.arraycopy(weights, 0, out, 0, out.length);
        }
        for (int k = 0; k < channels; k++) {
            if (startsBlock(k, perGroup)) {
                for (int i = 0; i < perChannel; i++) {
                    for (int j = 0; j < SIZE; j++) {
                        out[k * perChannel + i * SIZE + j] = weights[(k + j) * perChannel + i];
                    }
                }
            }
        }
        return out;
    }

    /** Where output channel {@code k}'s first weight is in the interleaved array. */
    static int weightBase(int k, int perGroup, int perChannel) {
        if (!inBlock(k, perGroup)) {
            return k * perChannel;
        }
        int first = k - (k % perGroup) % SIZE;
        return first * perChannel + (k - first);
    }

    /** The step between channel {@code k}'s consecutive weights in the interleaved array. */
    static int weightStride(int k, int perGroup) {
        return inBlock(k, perGroup) ? SIZE : 1;
    }

    /**
     * The output channels {@code [from, to)} of one task, as the first channels of the full blocks
     * that lie inside the range and the single channels left.
     */
    record ChannelTiles(int[] blockStarts, int[] singles) {
    }

    static ChannelTiles tiles(int from, int to, int perGroup) {
        int blocks = 0, singles = 0;
        for (int k = from; k < to; ) {
            if (startsBlock(k, perGroup) && k + SIZE <= to) {
                blocks++;
                k += SIZE;
            } else {
                singles++;
                k++;
            }
        }
        ChannelTiles tiles = new ChannelTiles(new int[blocks], new int[singles]);
        blocks = 0;
        singles = 0;
        for (int k = from; k < to; ) {
            if (startsBlock(k, perGroup) && k + SIZE <= to) {
                tiles.blockStarts()[blocks++] = k;
                k += SIZE;
            } else {
                tiles.singles()[singles++] = k++;
            }
        }
        return tiles;
    }

    /** The tiles of each of {@code splits} slices of {@code channels} channels ({@link WorkSplit}). */
    static ChannelTiles[] ofSplits(int channels, int splits, int perGroup) {
        ChannelTiles[] tiles = new ChannelTiles[splits];
        for (int i = 0; i < splits; i++) {
            tiles[i] = tiles(WorkSplit.start(channels, splits, i), WorkSplit.start(channels, splits, i + 1), perGroup);
        }
        return tiles;
    }
}
