package org.simdconv.conv.simd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.simdconv.tensor.ChannelBlockedLayout;
import org.simdconv.tensor.Tensor;

/**
 * The layout conversions of the blocked kernels: NCHW to channel-blocked and back is the identity,
 * every element lands where {@code nChw<lanes>c} says, the padding lanes are zero, and the staged
 * copy (with its column phases) holds every element at the offset the tiles compute.
 */
class ChannelBlockedLayoutTest {

    private static final int LANES = BlockedTiles.LANES;
    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3}")
    @CsvSource({"1,1,1,1", "2,5,3,7", "1,8,4,4", "3,9,2,11", "2,17,5,3", "1,33,1,19"})
    void roundTripIsTheIdentityAndFollowsTheLayout(int n, int c, int h, int w) {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = integers(n * c * h * w, new Random(c * 31 + w));
            Tensor nchw = Tensor.allocate(arena, n, c, h, w).copyFrom(values);
            ChannelBlockedLayout layout = new ChannelBlockedLayout(c, h, w, LANES);
            MemorySegment blocked = arena.allocate(layout.itemBytes() * n);
            blocked.fill((byte) 0x7f); // garbage that the conversion must overwrite, padding included
            for (int item = 0; item < n; item++) {
                for (int cb = 0; cb < layout.blocks(); cb++) {
                    layout.toBlocked(nchw.segment(), nchw.byteOffset(), blocked, 0, item, cb);
                }
            }
            for (int item = 0; item < n; item++) {
                for (int cb = 0; cb < layout.blocks(); cb++) {
                    for (int y = 0; y < h; y++) {
                        for (int x = 0; x < w; x++) {
                            for (int ci = 0; ci < LANES; ci++) {
                                int channel = cb * LANES + ci;
                                long at = ((((long) item * layout.blocks() + cb) * h + y) * w + x) * LANES + ci;
                                float expected = channel < c ? values[((item * c + channel) * h + y) * w + x] : 0f;
                                assertEquals(expected, blocked.getAtIndex(FLOAT, at),
                                        "item " + item + " channel " + channel + " at (" + y + ", " + x + ")");
                            }
                        }
                    }
                }
            }
            Tensor back = Tensor.allocate(arena, n, c, h, w);
            for (int item = 0; item < n; item++) {
                for (int cb = 0; cb < layout.blocks(); cb++) {
                    layout.toNchw(blocked, 0, back.segment(), back.byteOffset(), item, cb);
                }
            }
            assertArrayEquals(values, back.toArray());
        }
    }

    /** The Vector API conversions write exactly what the scalar ones write, padding lanes included. */
    @ParameterizedTest(name = "N={0} C={1} H={2} W={3}")
    @CsvSource({"1,1,1,1", "2,5,3,7", "1,8,4,4", "3,9,2,11", "2,17,5,3", "1,33,1,19", "2,3,4,8", "1,20,2,17",
            "1,16,2,32", "2,19,2,37", "1,40,1,64", "1,3,3,50"})
    void vectorConversionsMatchTheScalarOnes(int n, int c, int h, int w) {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = integers(n * c * h * w, new Random(c * 17 + w));
            Tensor nchw = Tensor.allocate(arena, n, c, h, w).copyFrom(values);
            ChannelBlockedLayout layout = new ChannelBlockedLayout(c, h, w, LANES);
            MemorySegment scalar = arena.allocate(layout.itemBytes() * n);
            MemorySegment vector = arena.allocate(layout.itemBytes() * n);
            vector.fill((byte) 0x7f); // garbage that the conversion must overwrite, padding included
            Tensor back = Tensor.allocate(arena, n, c, h, w);
            int planeFloats = h * w * LANES;
            for (int item = 0; item < n; item++) {
                for (int cb = 0; cb < layout.blocks(); cb++) {
                    layout.toBlocked(nchw.segment(), nchw.byteOffset(), scalar, 0, item, cb);
                    BlockedConversion.toBlocked(layout, nchw.segment(), nchw.byteOffset(), vector, 0, item, cb);
                    float[] plane = new float[planeFloats];
                    BlockedConversion.toBlockedPlane(layout, nchw.segment(), nchw.byteOffset(), item, cb, plane);
                    float[] expected = scalar.asSlice(((long) item * layout.blocks() + cb) * planeFloats * Float.BYTES,
                            (long) planeFloats * Float.BYTES).toArray(FLOAT);
                    assertArrayEquals(expected, plane, "plane of item " + item + " block " + cb);
                    BlockedConversion.toNchw(layout, vector, 0, back.segment(), back.byteOffset(), item, cb);
                }
            }
            assertArrayEquals(scalar.toArray(FLOAT), vector.toArray(FLOAT));
            assertArrayEquals(values, back.toArray());
        }
    }

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
        assertStagedAsLaidOut(2 * group * LANES - Math.min(missing, LANES - 1), w, strideW, group); // a partial last block
    }

    /**
     * Stages an NCHW tensor, and its blocked copy, and checks every channel of every pixel at the
     * place {@link BlockedStaging} says (block offset, row, column phase), padding channels zero.
     */
    private static void assertStagedAsLaidOut(int c, int w, int strideW, int group) {
        int h = 3, n = 2;
        try (Arena arena = Arena.ofConfined()) {
            float[] values = new float[n * c * h * w];
            for (int i = 0; i < values.length; i++) {
                values[i] = i + 1;
            }
            Tensor nchw = Tensor.allocate(arena, n, c, h, w).copyFrom(values);
            ChannelBlockedLayout layout = new ChannelBlockedLayout(c, h, w, LANES);
            Tensor blocked = Tensor.allocate(arena, ChannelBlockedLayout.blockedShape(new int[] {n, c, h, w}, LANES));
            layout.toBlocked(nchw, blocked);
            BlockedStaging staging = new BlockedStaging(c, h, w, strideW, LANES, 0, group);
            for (int item = 0; item < n; item++) {
                float[] fromNchw = staging.stageNchw(nchw.segment(), nchw.byteOffset(), item).clone();
                float[] fromBlocked = staging.stageBlocked(blocked.segment(), blocked.byteOffset(), item);
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

    private static float[] integers(int count, Random random) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = random.nextInt(1000) - 500;
        }
        return values;
    }
}
