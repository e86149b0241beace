package org.simdconv.internal.simd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.simdconv.conv.TestData.assertSameValues;
import static org.simdconv.conv.TestData.assertWithinRoundingBound;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.conv.TestData;
import org.simdconv.internal.Backends;
import org.simdconv.internal.nn.LayerKernels;
import org.simdconv.internal.nn.PoolProblem;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * The Vector API layer kernels against the scalar oracle, on shapes chosen to leave a tail in every
 * loop (items not a multiple of the tiles' rows, features not a multiple of the lanes, channels not
 * a multiple of a block), in both layouts, on one thread and on two.
 *
 * <p>Products and averages are sums in another order than the oracle's, so they must agree within
 * the rounding bound of {@link TestData#assertWithinRoundingBound} (a bound, not a guess: a lost or
 * doubled term fails it). ReLU, its gradient, max pooling and the SGD step do no sums: they must
 * agree bit for bit.
 */
class SimdLayersTest {

    private static final LayerKernels SIMD = Backends.simd().layers();
    private static final LayerKernels SCALAR = Backends.reference().layers();
    private static final int LANES = Backends.simd().channelBlock();
    private static final Parallelism TWO = Parallelism.on(new java.util.concurrent.ForkJoinPool(2));

    static Stream<Arguments> denseShapes() {
        int[][] shapes = {{1, 1, 1}, {3, 5, 7}, {8, 16, 16}, {13, 37, 29}, {4, 3 * LANES, 8}, {9, 3 * LANES + 17, 27},
            {64, 150, 32}, {64, 1024, 10}, {5, 100, 48}};
        List<Arguments> out = new ArrayList<>();
        for (int[] s : shapes) {
            for (Parallelism par : List.of(Parallelism.serial(), TWO)) {
                out.add(Arguments.of(s[0], s[1], s[2], par));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "N={0} in={1} out={2} {3}")
    @MethodSource("denseShapes")
    void denseProductsAreWithinTheRoundingBound(int n, int in, int out, Parallelism par) {
        Random random = new Random(31L * n + 7L * in + out);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.gaussian(arena, random, n, in), w = TestData.gaussian(arena, random, out, in);
            Tensor b = TestData.gaussian(arena, random, out), dy = TestData.gaussian(arena, random, n, out);
            float[] xv = x.toArray(), wv = w.toArray(), bv = b.toArray(), dyv = dy.toArray();
            Workspace ws = new Workspace();
            for (Tensor bias : new Tensor[] {b, null}) {
                Tensor expected = Tensor.allocate(arena, n, out), actual = TestData.poisoned(arena, Layout.plain(), n, out);
                SCALAR.linearForward(x, w, bias, expected, ws, par);
                SIMD.linearForward(x, w, bias, actual, ws, par);
                double[] magnitude = new double[n * out];
                for (int i = 0; i < n; i++) {
                    for (int o = 0; o < out; o++) {
                        double m = bias == null ? 0 : Math.abs(bv[o]);
                        for (int k = 0; k < in; k++) {
                            m += Math.abs(xv[i * in + k] * wv[o * in + k]);
                        }
                        magnitude[i * out + o] = m;
                    }
                }
                assertWithinRoundingBound("forward" + (bias == null ? " without bias" : ""), expected.toArray(),
                        actual.toArray(), magnitude, in + 1);
            }

            Tensor dxExpected = Tensor.allocate(arena, n, in), dx = TestData.poisoned(arena, Layout.plain(), n, in);
            SCALAR.linearBackwardData(dy, w, dxExpected, ws, par);
            SIMD.linearBackwardData(dy, w, dx, ws, par);
            double[] magnitude = new double[n * in];
            for (int i = 0; i < n; i++) {
                for (int k = 0; k < in; k++) {
                    for (int o = 0; o < out; o++) {
                        magnitude[i * in + k] += Math.abs(dyv[i * out + o] * wv[o * in + k]);
                    }
                }
            }
            assertWithinRoundingBound("backward-data", dxExpected.toArray(), dx.toArray(), magnitude, out);

            Tensor dwExpected = Tensor.allocate(arena, out, in), dw = TestData.poisoned(arena, Layout.plain(), out, in);
            Tensor dbExpected = Tensor.allocate(arena, out), db = TestData.poisoned(arena, Layout.plain(), out);
            SCALAR.linearBackwardWeights(x, dy, dwExpected, dbExpected, ws, par);
            SIMD.linearBackwardWeights(x, dy, dw, db, ws, par);
            double[] dwMagnitude = new double[out * in], dbMagnitude = new double[out];
            for (int o = 0; o < out; o++) {
                for (int i = 0; i < n; i++) {
                    dbMagnitude[o] += Math.abs(dyv[i * out + o]);
                    for (int k = 0; k < in; k++) {
                        dwMagnitude[o * in + k] += Math.abs(dyv[i * out + o] * xv[i * in + k]);
                    }
                }
            }
            assertWithinRoundingBound("backward-weights", dwExpected.toArray(), dw.toArray(), dwMagnitude, n);
            assertWithinRoundingBound("backward-bias", dbExpected.toArray(), db.toArray(), dbMagnitude, n);
            Tensor dwAgain = TestData.poisoned(arena, Layout.plain(), out, in);
            SIMD.linearBackwardWeights(x, dy, dwAgain, null, ws, par);
            assertSameValues("backward-weights without a bias gradient", dw.toArray(), dwAgain.toArray());
        }
    }

    static Stream<Arguments> activationShapes() {
        List<Arguments> out = new ArrayList<>();
        int[][] shapes = {{2, 3, 5, 7}, {1, LANES + 3, 4, 3}, {3, 2 * LANES, 6, 6}, {1, 1, 1, 1}, {2, 40, 33, 35}};
        for (int[] s : shapes) {
            for (Layout layout : List.of(Layout.plain(), Layout.channelBlocked(LANES))) {
                out.add(Arguments.of(s, layout, TWO));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("activationShapes")
    void reluAndItsGradientAreExact(int[] shape, Layout layout, Parallelism par) {
        Random random = new Random(shape[1] * 131L + shape[2]);
        try (Arena arena = Arena.ofShared()) {
            Tensor plain = TestData.gaussian(arena, random, shape);
            float[] v = plain.toArray();
            v[0] = Float.NaN;
            v[v.length / 2] = -0f;
            v[v.length - 1] = 0f;
            plain.copyFrom(v);
            Tensor x = TestData.copy(arena, plain, layout), dy = TestData.copy(arena, TestData.gaussian(arena, random,
                    shape), layout);
            Tensor expected = Tensor.allocate(arena, layout, shape), actual = TestData.poisoned(arena, layout, shape);
            SCALAR.relu(x, expected, par);
            SIMD.relu(x, actual, par);
            assertSameBits("relu", expected.toArray(), actual.toArray());
            TestData.assertPaddingIsZero("relu", actual);
            Tensor dxExpected = Tensor.allocate(arena, layout, shape), dx = TestData.poisoned(arena, layout, shape);
            SCALAR.reluBackward(x, dy, dxExpected, par);
            SIMD.reluBackward(x, dy, dx, par);
            assertSameBits("relu backward", dxExpected.toArray(), dx.toArray());
            TestData.assertPaddingIsZero("relu backward", dx);
            assertEquals(0f, dx.toArray()[0], "a NaN input passes no gradient");
        }
    }

    static Stream<Arguments> poolings() {
        List<Arguments> out = new ArrayList<>();
        List<int[]> windows = List.of( // kh, kw, sh, sw, ph, pw
                new int[] {2, 2, 2, 2, 0, 0}, new int[] {3, 3, 2, 2, 1, 1}, new int[] {3, 3, 1, 1, 1, 1},
                new int[] {1, 1, 1, 1, 0, 0}, new int[] {2, 3, 1, 2, 1, 1}, new int[] {3, 2, 3, 3, 0, 1});
        int[][] inputs = {{2, 3, 8, 8}, {1, LANES + 1, 7, 9}, {2, 2 * LANES, 5, 6}};
        for (int[] in : inputs) {
            for (int[] k : windows) {
                int outH = (in[2] + 2 * k[4] - k[0]) / k[2] + 1, outW = (in[3] + 2 * k[5] - k[1]) / k[3] + 1;
                PoolProblem p = new PoolProblem(in[0], in[1], in[2], in[3], k[0], k[1], k[2], k[3], k[4], k[5], outH,
                        outW);
                for (Layout layout : List.of(Layout.plain(), Layout.channelBlocked(LANES))) {
                    out.add(Arguments.of(p, layout));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("poolings")
    void poolingMatchesTheOracle(PoolProblem p, Layout layout) {
        Random random = new Random(p.hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor plain = TestData.gaussian(arena, random, p.inputShape());
            float[] v = plain.toArray();
            // Ties (a constant first row) and a NaN: the first of equal values wins, a NaN wins over all.
            for (int i = 0; i < p.w(); i++) {
                v[i] = 0.5f;
            }
            v[v.length - 2] = Float.NaN;
            plain.copyFrom(v);
            Tensor x = TestData.copy(arena, plain, layout);
            Tensor dy = TestData.copy(arena, TestData.gaussian(arena, random, p.outputShape()), layout);
            float[] dyv = dy.toArray();
            Parallelism par = TWO;
            Workspace ws = new Workspace();

            for (boolean rectify : new boolean[] {false, true}) {
                String what = rectify ? "rectified max pooling" : "max pooling";
                Tensor expected = Tensor.allocate(arena, layout, p.outputShape());
                Tensor actual = TestData.poisoned(arena, layout, p.outputShape());
                MemorySegment argmaxExpected = arena.allocate(expected.storageBytes());
                MemorySegment argmax = arena.allocate(actual.storageBytes());
                SCALAR.maxPool(p, x, expected, argmaxExpected, rectify, ws, par);
                SIMD.maxPool(p, x, actual, argmax, rectify, ws, par);
                assertSameBits(what, expected.toArray(), actual.toArray());
                TestData.assertPaddingIsZero(what, actual);

                // Each input gets the gradients of the outputs that took it: at most this many.
                int overlap = Math.ceilDiv(p.kh(), p.sh()) * Math.ceilDiv(p.kw(), p.sw());
                Tensor dxExpected = Tensor.allocate(arena, layout, p.inputShape());
                Tensor dx = TestData.poisoned(arena, layout, p.inputShape());
                SCALAR.maxPoolBackward(p, dy, argmaxExpected, dxExpected, ws, par);
                SIMD.maxPoolBackward(p, dy, argmax, dx, ws, par);
                Tensor absDy = TestData.copy(arena, Tensor.allocate(arena, p.outputShape()).copyFrom(abs(dyv)), layout);
                Tensor absSums = Tensor.allocate(arena, layout, p.inputShape());
                SCALAR.maxPoolBackward(p, absDy, argmaxExpected, absSums, ws, par);
                assertWithinRoundingBound(what + " backward", dxExpected.toArray(), dx.toArray(),
                        TestData.widen(absSums.toArray()), overlap);
                TestData.assertPaddingIsZero(what + " backward", dx);
            }
            int overlap = Math.ceilDiv(p.kh(), p.sh()) * Math.ceilDiv(p.kw(), p.sw());
            Tensor absDy = TestData.copy(arena, Tensor.allocate(arena, p.outputShape()).copyFrom(abs(dyv)), layout);

            Tensor avgExpected = Tensor.allocate(arena, layout, p.outputShape());
            Tensor avg = TestData.poisoned(arena, layout, p.outputShape());
            SCALAR.avgPool(p, x, avgExpected, ws, par);
            SIMD.avgPool(p, x, avg, ws, par);
            Tensor absX = TestData.copy(arena, Tensor.allocate(arena, p.inputShape()).copyFrom(abs(x.toArray())),
                    layout);
            Tensor absAvg = Tensor.allocate(arena, layout, p.outputShape());
            SCALAR.avgPool(p, absX, absAvg, ws, par);
            assertWithinRoundingBound("average pooling", avgExpected.toArray(), avg.toArray(),
                    TestData.widen(absAvg.toArray()), p.kh() * p.kw() + 1);

            Tensor davgExpected = Tensor.allocate(arena, layout, p.inputShape());
            Tensor davg = TestData.poisoned(arena, layout, p.inputShape());
            SCALAR.avgPoolBackward(p, dy, davgExpected, ws, par);
            SIMD.avgPoolBackward(p, dy, davg, ws, par);
            Tensor absShares = Tensor.allocate(arena, layout, p.inputShape());
            SCALAR.avgPoolBackward(p, absDy, absShares, ws, par);
            assertWithinRoundingBound("average pooling backward", davgExpected.toArray(), davg.toArray(),
                    TestData.widen(absShares.toArray()), overlap + 1);
            TestData.assertPaddingIsZero("average pooling backward", davg);
        }
    }

    static Stream<Arguments> sgdCases() {
        List<Arguments> out = new ArrayList<>();
        for (int size : new int[] {1, LANES - 1, 3 * LANES + 5, 40_000}) {
            for (float momentum : new float[] {0f, 0.9f}) {
                for (float decay : new float[] {0f, 5e-4f}) {
                    out.add(Arguments.of(size, momentum, decay));
                }
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "size {0} momentum {1} decay {2}")
    @MethodSource("sgdCases")
    void sgdStepsAreExact(int size, float momentum, float decay) {
        Random random = new Random(size);
        try (Arena arena = Arena.ofShared()) {
            Tensor p = TestData.gaussian(arena, random, size), g = TestData.gaussian(arena, random, size);
            Tensor v = TestData.gaussian(arena, random, size);
            Tensor p2 = TestData.copy(arena, p), v2 = TestData.copy(arena, v);
            for (boolean first : new boolean[] {true, false, false}) {
                SCALAR.sgdStep(p, g, momentum == 0 ? null : v, 0.05f, momentum, decay, first, TWO);
                SIMD.sgdStep(p2, g, momentum == 0 ? null : v2, 0.05f, momentum, decay, first, TWO);
                assertSameBits("parameters", p.toArray(), p2.toArray());
                assertSameBits("velocity", v.toArray(), v2.toArray());
            }
        }
    }

    private static float[] abs(float[] values) {
        float[] out = values.clone();
        for (int i = 0; i < out.length; i++) {
            out[i] = Math.abs(out[i]);
        }
        return out;
    }

    private static void assertSameBits(String what, float[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToIntBits(expected[i]) != Float.floatToIntBits(actual[i])) {
                throw new AssertionError(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }
}
