package org.simdconv.internal.simd.blocked;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.simdconv.internal.simd.common.Reorder;
import org.simdconv.internal.simd.common.Vectors;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * The staged copy of a batch item that the blocked tiles read (with its column phases, one or four
 * blocks per pixel) holds every element at the offset the tiles compute, from NCHW and from
 * blocked memory alike, padding channels zero.
 */
class BlockedStagingTest {

    private static final int LANES = Vectors.LANES;

    @ParameterizedTest(name = "C={0} W={1} strideW={2}")
    @CsvSource({"3,7,1", "8,10,2", "9,11,3", "17,5,2", "3,50,2", "16,32,1", "20,37,3", "5,64,2"})
    void stagingPutsEveryColumnInItsPhase(int c, int w, int strideW) {
        assertStagedAsLaidOut(c, w, strideW, 1);
    }

    /** Four blocks per pixel, as the forward tiles read them: two groups, the last block partial or not. */
    @ParameterizedTest(name = "missing channels={0} W={1} strideW={2}")
    @CsvSource({"0,9,1", "3,10,2", "5,7,3", "1,35,2", "0,32,1"})
    void groupedStagingPutsFourBlocksInEveryPixel(int missing, int w, int strideW) {
        int group = BlockedDirectConvolution.GROUP;
        assertStagedAsLaidOut(2 * group * LANES - Math.min(missing, LANES - 1), w, strideW, group);
    }

    private static void assertStagedAsLaidOut(int c, int w, int strideW, int group) {
        int h = 3, n = 2;
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[n * c * h * w];
            for (int i = 0; i < values.length; i++) {
                values[i] = i + 1;
            }
            Tensor nchw = Tensor.allocate(arena, n, c, h, w).copyFrom(values);
            Tensor blocked = Tensor.allocate(arena, Layout.channelBlocked(LANES), n, c, h, w);
            nchw.copyTo(blocked);
            BlockedStaging staging = new BlockedStaging(c, h, w, strideW, LANES, group);
            float[] scratch = new float[Reorder.scratchFloats(w)];
            for (int item = 0; item < n; item++) {
                float[] fromNchw = staging.stageNchw(nchw.segment(), nchw.byteOffset(), item,
                        new float[(int) staging.itemFloats()], scratch);
                float[] fromBlocked = staging.stageBlocked(blocked.segment(), blocked.byteOffset(), item,
                        new float[(int) staging.itemFloats()]);
                for (int channel = 0; channel < Math.ceilDiv(c, LANES) * LANES; channel++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            int at = staging.blockOffset(channel / LANES) + y * staging.rowFloats()
                                    + staging.columnOffset(x) + channel % LANES;
                            float expected = channel < c ? values[((item * c + channel) * h + y) * w + x] : 0f;
                            String where = "item " + item + " channel " + channel + " at (" + y + ", " + x + ")";
                            assertEquals(expected, fromNchw[at], "from NCHW, " + where);
                            assertEquals(expected, fromBlocked[at], "from blocked, " + where);
                        }
                    }
                }
            }
        }
    }
}
