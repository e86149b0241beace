package org.simdconv.internal.simd.common;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * The Vector API reorders ({@link Reorder}) against the element-by-element one of
 * {@link Tensor#copyTo}, which follows the layout's definition: NCHW to blocks of the lanes and
 * back, every element where {@code nChw<lanes>c} says, padding lanes zero over garbage, on one and
 * two threads; widths below, at and past whole vectors, so that the transposed squares and the
 * last pixels are both covered.
 */
class ReorderTest {

    private static final int LANES = Vectors.LANES;

    @ParameterizedTest(name = "N={0} C={1} H={2} W={3} threads={4}")
    @CsvSource({"1,1,1,1,1", "2,5,3,7,2", "1,8,4,4,1", "3,9,2,11,2", "2,17,5,3,1", "1,33,1,19,2", "2,3,4,8,1",
        "1,20,2,17,2", "1,16,2,32,1", "2,19,2,37,2", "1,40,1,64,1", "1,3,3,50,2"})
    void vectorReordersMatchTheLayoutsDefinition(int n, int c, int h, int w, int threads) {
        try (Arena arena = Arena.ofShared(); ForkJoinPool pool = new ForkJoinPool(threads)) {
            Parallelism par = Parallelism.on(pool);
            float[] values = integers(n * c * h * w, new Random(c * 17 + w));
            Tensor nchw = Tensor.allocate(arena, n, c, h, w).copyFrom(values);
            Layout blocked = Layout.channelBlocked(LANES);
            Tensor expected = Tensor.allocate(arena, blocked, n, c, h, w);
            nchw.copyTo(expected);
            Tensor actual = Tensor.allocate(arena, blocked, n, c, h, w);
            actual.segment().fill((byte) 0x7f); // garbage the reorder must overwrite, padding included
            Reorder.reorder(nchw, actual, new Workspace(), par);
            assertArrayEquals(expected.segment().toArray(Tensor.FLOAT), actual.segment().toArray(Tensor.FLOAT),
                    "blocked memory, padding lanes included");
            for (int item = 0; item < n; item++) {
                for (int ch = 0; ch < c; ch++) {
                    assertEquals(values[((item * c + ch) * h + h - 1) * w + w - 1], actual.get(item, ch, h - 1, w - 1));
                }
            }
            Tensor back = Tensor.allocate(arena, n, c, h, w).fill(Float.NaN);
            Reorder.reorder(actual, back, new Workspace(), par);
            assertArrayEquals(values, back.toArray());
        }
    }

    /** The pieces the kernels convert as they go: a block of an item into a plane, and back into NCHW. */
    @ParameterizedTest(name = "N={0} C={1} H={2} W={3}")
    @CsvSource({"1,1,1,1", "2,5,3,7", "3,9,2,11", "1,33,1,19", "1,20,2,17", "2,19,2,37", "1,3,3,50"})
    void blocksOfAnItemConvertLikeTheWholeTensor(int n, int c, int h, int w) {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = integers(n * c * h * w, new Random(c * 31 + w));
            Tensor nchw = Tensor.allocate(arena, n, c, h, w).copyFrom(values);
            Tensor expected = Tensor.allocate(arena, Layout.channelBlocked(LANES), n, c, h, w);
            nchw.copyTo(expected);
            BlockedPlanes planes = new BlockedPlanes(c, h, w);
            float[] scratch = new float[Reorder.scratchFloats(w)];
            int planeFloats = h * w * LANES;
            Tensor back = Tensor.allocate(arena, n, c, h, w);
            for (int item = 0; item < n; item++) {
                for (int cb = 0; cb < planes.blocks(); cb++) {
                    float[] plane = new float[planeFloats];
                    Reorder.toBlockedPlane(planes, nchw.segment(), nchw.byteOffset(), item, cb, plane, scratch);
                    float[] want = expected.segment().asSlice(((long) item * planes.blocks() + cb) * planes.blockBytes(),
                            planes.blockBytes()).toArray(Tensor.FLOAT);
                    assertArrayEquals(want, plane, "plane of item " + item + " block " + cb);
                    Reorder.toNchw(planes, expected.segment(), 0, back.segment(), back.byteOffset(), item, cb, scratch);
                }
            }
            assertArrayEquals(values, back.toArray());
        }
    }

    static float[] integers(int count, Random random) {
        float[] values = new float[count];
        for (int i = 0; i < count; i++) {
            values[i] = random.nextInt(1000) - 500;
        }
        return values;
    }
}
