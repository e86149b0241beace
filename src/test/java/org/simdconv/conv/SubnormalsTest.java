package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.internal.Backends;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * Subnormal activations are flushed to zero before a SIMD pass (the JVM cannot set the CPU's
 * FTZ/DAZ bits, and each subnormal FMA costs a microcode assist), on a copy: the results are those
 * of the oracle on the flushed activations, exactly with small-integer data, and the caller's
 * tensors keep their subnormals.
 */
class SubnormalsTest {

    private static final float TINY = Float.MIN_NORMAL / 4; // subnormal

    @Test
    void theSampleSeesSubnormalsAndNothingElse() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, 4, 1000);
            assertFalse(Subnormals.sampled(t), "zeros");
            t.fill(Float.NaN);
            assertFalse(Subnormals.sampled(t), "NaN");
            t.fill(Float.NEGATIVE_INFINITY);
            assertFalse(Subnormals.sampled(t), "infinity");
            t.fill(Float.MIN_NORMAL);
            assertFalse(Subnormals.sampled(t), "the smallest normal");
            t.fill(-TINY);
            assertTrue(Subnormals.sampled(t), "subnormal");
        }
    }

    @Test
    void flushingZeroesSubnormalsKeepingTheirSignAndNothingElse() {
        try (Arena arena = Arena.ofConfined()) {
            float[] values = {TINY, -TINY, Float.MIN_VALUE, 1f, -2.5f, Float.MIN_NORMAL, Float.NaN,
                    Float.POSITIVE_INFINITY, -0f, 0f};
            Tensor t = Tensor.allocate(arena, 3, values.length);
            float[] three = new float[3 * values.length];
            for (int i = 0; i < three.length; i++) {
                three[i] = values[i % values.length]; // 30 floats: whole vectors and a scalar tail
            }
            t.copyFrom(three);
            Backends.simd().flushSubnormals(t, Parallelism.serial());
            float[] expected = {0f, -0f, 0f, 1f, -2.5f, Float.MIN_NORMAL, Float.NaN, Float.POSITIVE_INFINITY, -0f, 0f};
            float[] flushed = t.toArray();
            for (int i = 0; i < flushed.length; i++) {
                assertEquals(Float.floatToRawIntBits(expected[i % values.length]), Float.floatToRawIntBits(flushed[i]),
                        "element " + i);
            }
        }
    }

    static List<ConvCase> cases() {
        return List.of(
                new ConvCase(new int[] {2, 32, 12, 12}, new int[] {32, 32, 3, 3}, Conv2dOptions.defaults().withPadding(Padding.of(1))),
                new ConvCase(new int[] {2, 4, 13, 13}, new int[] {6, 4, 3, 3}, Conv2dOptions.defaults()),
                new ConvCase(new int[] {3, 16, 9, 9}, new int[] {16, 1, 3, 3},
                        Conv2dOptions.defaults().withGroups(16).withStride(2).withPadding(Padding.same())));
    }

    /** Small integers with every other element replaced by a subnormal. */
    private static Tensor withSubnormals(Arena arena, Random random, int[] shape) {
        float[] v = TestData.smallIntegers(arena, random, shape).toArray();
        for (int i = 0; i < v.length; i += 2) {
            v[i] = (i % 4 == 0 ? 1 : -1) * TINY * (1 + random.nextInt(3));
        }
        return Tensor.allocate(arena, shape).copyFrom(v);
    }

    /** The oracle's input: {@code t} with its subnormals replaced by zeros of their sign, element by element. */
    private static Tensor flushedCopy(Arena arena, Tensor t) {
        float[] v = t.toArray();
        for (int i = 0; i < v.length; i++) {
            if (Subnormals.isSubnormal(v[i])) {
                v[i] = Math.copySign(0f, v[i]);
            }
        }
        return Tensor.allocate(arena, t.shape()).copyFrom(v);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void everyPassComputesOnTheFlushedActivationsAndLeavesTheCallersAlone(ConvCase c) {
        Conv2dGeometry g = c.geometry();
        Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD).withParallelism(Parallelism.serial());
        Conv2d oracle = Conv2d.create(c.options()).withImplementation(Implementation.SCALAR);
        Random random = new Random(5);
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = withSubnormals(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
            Tensor dy = withSubnormals(arena, random, g.outputShape());
            float[] xBefore = x.toArray(), dyBefore = dy.toArray();
            Tensor xFlushed = flushedCopy(arena, x), dyFlushed = flushedCopy(arena, dy);

            assertArrayEquals(oracle.forward(arena, xFlushed, w, b).toArray(), simd.forward(arena, x, w, b).toArray(),
                    "forward " + g);
            Tensor dxExpected = Tensor.allocate(arena, g.inputShape()), dx = Tensor.allocate(arena, g.inputShape());
            oracle.backwardData(dyFlushed, w, dxExpected, Accumulation.OVERWRITE);
            simd.backwardData(dy, w, dx, Accumulation.OVERWRITE);
            assertArrayEquals(dxExpected.toArray(), dx.toArray(), "backward-data " + g);
            Tensor dwExpected = Tensor.allocate(arena, g.weightShape()), dw = Tensor.allocate(arena, g.weightShape());
            Tensor dbExpected = Tensor.allocate(arena, g.biasShape()), db = Tensor.allocate(arena, g.biasShape());
            oracle.backwardWeights(xFlushed, dyFlushed, dwExpected, dbExpected, Accumulation.OVERWRITE);
            simd.backwardWeights(x, dy, dw, db, Accumulation.OVERWRITE);
            assertArrayEquals(dwExpected.toArray(), dw.toArray(), "backward-weights " + g);
            assertArrayEquals(dbExpected.toArray(), db.toArray(), "backward-bias " + g);

            assertArrayEquals(xBefore, x.toArray(), "the caller's input keeps its subnormals");
            assertArrayEquals(dyBefore, dy.toArray(), "the caller's gradient keeps its subnormals");
        }
    }
}
