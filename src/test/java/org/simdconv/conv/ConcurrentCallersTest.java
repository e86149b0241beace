package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.simdconv.parallel.Parallelism;

/**
 * One {@link Conv2d} ("immutable and thread-safe") called from eight threads at once, all three
 * passes, on one geometry and on several (its plan cache shared between them), gives each caller
 * exactly, bit for bit, what the same call gives alone: the kernels' summation order depends on
 * the thread count of the convolution's pool, never on which threads run the tasks or who else
 * calls.
 */
class ConcurrentCallersTest {

    private static final int CALLERS = 8;
    private static final int ROUNDS = 6;

    private static final List<ConvCase> GEOMETRIES = List.of(
            new ConvCase(new int[] {4, 32, 14, 14}, new int[] {64, 32, 5, 5}, Conv2dOptions.defaults().withPadding(Padding.of(2))),
            new ConvCase(new int[] {2, 5, 19, 23}, new int[] {6, 5, 3, 3}, Conv2dOptions.defaults().withPadding(Padding.of(1))),
            new ConvCase(new int[] {3, 16, 17, 20}, new int[] {16, 1, 3, 3},
                    Conv2dOptions.defaults().withGroups(16).withStride(2).withPadding(Padding.same())),
            new ConvCase(new int[] {2, 64, 9, 9}, new int[] {48, 64, 1, 1}, Conv2dOptions.defaults()));

    @ParameterizedTest(name = "{0} geometries")
    @ValueSource(ints = {1, 4})
    @Timeout(300)
    void eightCallersAtOnceGetWhatEachGetsAlone(int geometries) throws Exception {
        try (ForkJoinPool pool = new ForkJoinPool(2); ExecutorService callers = Executors.newFixedThreadPool(CALLERS)) {
            List<Conv2d> convs = GEOMETRIES.stream().map(c -> Conv2d.create(c.options())
                    .withImplementation(Implementation.SIMD).withParallelism(Parallelism.on(pool))).toList();
            ConvTestSupport.AllPasses[] alone = new ConvTestSupport.AllPasses[CALLERS];
            for (int t = 0; t < CALLERS; t++) {
                alone[t] = ConvTestSupport.allPasses(convs.get(t % geometries), GEOMETRIES.get(t % geometries).geometry(), t);
            }
            CyclicBarrier start = new CyclicBarrier(CALLERS);
            List<Future<List<ConvTestSupport.AllPasses>>> futures = new ArrayList<>();
            for (int t = 0; t < CALLERS; t++) {
                int caller = t;
                Callable<List<ConvTestSupport.AllPasses>> rounds = () -> {
                    start.await();
                    List<ConvTestSupport.AllPasses> out = new ArrayList<>();
                    for (int round = 0; round < ROUNDS; round++) {
                        out.add(ConvTestSupport.allPasses(convs.get(caller % geometries), GEOMETRIES.get(caller % geometries).geometry(), caller));
                    }
                    return out;
                };
                futures.add(callers.submit(rounds));
            }
            for (int t = 0; t < CALLERS; t++) {
                List<ConvTestSupport.AllPasses> together = futures.get(t).get();
                for (int round = 0; round < ROUNDS; round++) {
                    ConvTestSupport.AllPasses r = together.get(round);
                    String what = "caller " + t + " round " + round + " " + GEOMETRIES.get(t % geometries) + ": ";
                    assertArrayEquals(alone[t].output(), r.output(), what + "output");
                    assertArrayEquals(alone[t].gradInput(), r.gradInput(), what + "input gradient");
                    assertArrayEquals(alone[t].gradWeight(), r.gradWeight(), what + "weight gradient");
                    assertArrayEquals(alone[t].gradBias(), r.gradBias(), what + "bias gradient");
                }
            }
        }
    }
}
