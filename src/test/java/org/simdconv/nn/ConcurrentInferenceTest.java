package org.simdconv.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.simdconv.conv.Implementation;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;
import org.simdconv.train.Models;

/**
 * One model in inference called from eight threads at once, with batches of two sizes (so its
 * layers switch between their per-shape buffers), gives each caller bit for bit what a call alone
 * gives.
 */
class ConcurrentInferenceTest {

    private static final int CALLERS = 8;

    private static Tensor images(Arena arena, int items, long seed) {
        Random random = new Random(seed);
        float[] v = new float[items * 28 * 28];
        for (int i = 0; i < v.length; i++) {
            v[i] = random.nextFloat();
        }
        return Tensor.allocate(arena, items, 1, 28, 28).copyFrom(v);
    }

    @Test
    @Timeout(120)
    void eightThreadsPredictWhatEachPredictsAlone() throws Exception {
        try (ForkJoinPool pool = new ForkJoinPool(2);
             Sequential model = Models.seedCnn(new Execution(Implementation.SIMD, Parallelism.on(pool)));
             Arena arena = Arena.ofShared();
             ExecutorService callers = Executors.newFixedThreadPool(CALLERS)) {
            model.initialize(3);
            List<Tensor> inputs = new ArrayList<>();
            List<float[]> alone = new ArrayList<>();
            for (int t = 0; t < CALLERS; t++) {
                Tensor x = images(arena, t % 2 == 0 ? 5 : 3, t);
                Tensor y = Tensor.allocate(arena, x.dim(0), 10);
                model.predict(x, y);
                inputs.add(x);
                alone.add(y.toArray());
            }
            CyclicBarrier start = new CyclicBarrier(CALLERS);
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < CALLERS; t++) {
                int caller = t;
                done.add(callers.submit(() -> {
                    start.await();
                    try (Arena own = Arena.ofConfined()) {
                        Tensor y = Tensor.allocate(own, inputs.get(caller).dim(0), 10);
                        for (int round = 0; round < 50; round++) {
                            model.predict(inputs.get(caller), y);
                            assertArrayEquals(alone.get(caller), y.toArray(), "caller " + caller + " round " + round);
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get();
            }
        }
    }

    @Test
    void aWrongOutputShapeIsRefusedBeforeItIsWritten() {
        try (Sequential model = Models.seedCnn(new Execution(Implementation.SCALAR, Parallelism.serial()));
             Arena arena = Arena.ofConfined()) {
            Tensor y = Tensor.allocate(arena, 4, 10).fill(7f);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.predict(images(arena, 5, 1), y));
            org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("output has shape [4, 10]"), e.getMessage());
            for (float v : y.toArray()) {
                org.junit.jupiter.api.Assertions.assertEquals(7f, v);
            }
        }
    }
}
