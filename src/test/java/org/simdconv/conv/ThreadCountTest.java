package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.simdconv.conv.TestData.abs;
import static org.simdconv.conv.TestData.assertWithinRoundingBound;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * Results on 1, 2 and 4 threads. Forward and backward-data sum every output element in one fixed
 * order on one thread, so they are bit-identical for any thread count. Backward-weights adds
 * per-chunk partial sums, so its rounding depends on the thread count: different counts agree
 * within the rounding bound, and repeated runs with one count are bit-identical.
 */
class ThreadCountTest {

    static List<ConvCase> cases() {
        Conv2dOptions padded = Conv2dOptions.defaults().withPadding(Padding.of(1));
        return List.of(
                new ConvCase(new int[] {4, 5, 19, 23}, new int[] {6, 5, 3, 3}, padded),
                new ConvCase(new int[] {1, 8, 30, 33}, new int[] {7, 8, 3, 3}, padded.withStride(2)),
                new ConvCase(new int[] {3, 6, 17, 40}, new int[] {6, 1, 5, 5},
                        Conv2dOptions.defaults().withGroups(6).withPadding(Padding.same())),
                new ConvCase(new int[] {5, 3, 28, 28}, new int[] {16, 3, 7, 7},
                        Conv2dOptions.defaults().withStride(2).withPadding(Padding.of(3)).withDilation(1, 2)));
    }

    private static ConvTestSupport.AllPasses run(ConvCase c, Parallelism parallelism) {
        Conv2d conv = Conv2d.create(c.options()).withImplementation(Implementation.SIMD).withParallelism(parallelism);
        return ConvTestSupport.allPasses(conv, c.geometry(), 42);
    }

    private static <T> T withThreads(int threads, Function<Parallelism, T> body) {
        try (ForkJoinPool pool = new ForkJoinPool(threads)) {
            return body.apply(Parallelism.on(pool));
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void oneTwoAndFourThreadsAgree(ConvCase c) {
        Conv2dGeometry g = c.geometry();
        ConvTestSupport.AllPasses one = run(c, Parallelism.serial());
        for (int threads : new int[] {2, 4}) {
            ConvTestSupport.AllPasses many = withThreads(threads, p -> run(c, p));
            assertArrayEquals(one.output(), many.output(), "forward, " + threads + " threads, " + g);
            assertArrayEquals(one.gradInput(), many.gradInput(), "backward-data, " + threads + " threads, " + g);
            // The magnitudes of the weight-gradient sums, for the rounding bound.
            Random random = new Random(42);
            try (Arena arena = Arena.ofConfined()) {
                double[] ax = abs(TestData.gaussian(arena, random, g.inputShape()).toArray());
                TestData.gaussian(arena, random, g.weightShape());
                TestData.gaussian(arena, random, g.biasShape());
                double[] adz = abs(TestData.gaussian(arena, random, g.outputShape()).toArray());
                long terms = (long) g.n() * g.outH() * g.outW();
                // Two float results, each within the bound of the exact value: within twice the bound of each other.
                double[] twice = Reference.backwardWeights(g, ax, adz);
                for (int i = 0; i < twice.length; i++) {
                    twice[i] *= 2;
                }
                assertWithinRoundingBound("backward-weights, " + threads + " threads", one.gradWeight(),
                        many.gradWeight(), twice, terms);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("cases")
    void repeatedRunsWithOneThreadCountAreBitIdentical(ConvCase c) {
        for (int threads : new int[] {1, 2, 4}) {
            ConvTestSupport.AllPasses first = withThreads(threads, p -> run(c, p));
            for (int repeat = 0; repeat < 3; repeat++) {
                ConvTestSupport.AllPasses again = withThreads(threads, p -> run(c, p));
                assertBitIdentical(first.output(), again.output(), "forward", threads);
                assertBitIdentical(first.gradInput(), again.gradInput(), "backward-data", threads);
                assertBitIdentical(first.gradWeight(), again.gradWeight(), "backward-weights", threads);
                assertBitIdentical(first.gradBias(), again.gradBias(), "backward-bias", threads);
            }
        }
    }

    @org.junit.jupiter.api.Test
    void tensorsInAConfinedArenaRunOnTheCallingThreadWithTheSameResults() {
        ConvCase c = cases().getFirst();
        ConvTestSupport.AllPasses shared = run(c, Parallelism.serial());
        float[] confinedOutput = withThreads(2, p -> {
            Conv2dGeometry g = c.geometry();
            Conv2d conv = Conv2d.create(c.options()).withImplementation(Implementation.SIMD).withParallelism(p);
            Random random = new Random(42);
            try (Arena arena = Arena.ofConfined()) { // pool threads may not touch these tensors
                Tensor x = TestData.gaussian(arena, random, g.inputShape());
                Tensor w = TestData.gaussian(arena, random, g.weightShape());
                Tensor b = TestData.gaussian(arena, random, g.biasShape());
                return conv.forward(arena, x, w, b).toArray();
            }
        });
        assertArrayEquals(shared.output(), confinedOutput);
    }

    private static void assertBitIdentical(float[] expected, float[] actual, String pass, int threads) {
        for (int i = 0; i < expected.length; i++) {
            if (Float.floatToRawIntBits(expected[i]) != Float.floatToRawIntBits(actual[i])) {
                throw new AssertionError(pass + " on " + threads + " threads differs between runs at element " + i
                        + ": " + expected[i] + " vs " + actual[i]);
            }
        }
    }
}
