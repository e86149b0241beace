package org.simdconv.demo;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.simdconv.conv.Conv2d;
import org.simdconv.conv.Implementation;
import org.simdconv.parallel.Parallelism;

/** Seed 001, 17.3.7: gradient descent learns the horizontal-edge kernel back. */
class KernelLearningTest {

    @ParameterizedTest
    @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
    void learnsTheHorizontalEdgeKernel(Implementation implementation) {
        assumeTrue(implementation != Implementation.SIMD || Conv2d.simdAvailable(), "Vector API not available");
        List<KernelLearning.LossSample> reported = new ArrayList<>();
        KernelLearning.Result result = KernelLearning.run(
                KernelLearning.Options.defaults().withImplementation(implementation).withParallelism(Parallelism.serial()),
                (step, loss) -> reported.add(new KernelLearning.LossSample(step, loss)));

        assertTrue(result.converged(), () -> "not converged: " + result);
        assertTrue(result.finalLoss() < 1e-7, () -> "final loss " + result.finalLoss());
        float[] learned = result.learnedKernel();
        float[] truth = {0, -1, 0, 0, 2, 0, 0, -1, 0};
        assertArrayEquals(truth, result.trueKernel());
        for (int i = 0; i < 9; i++) {
            assertEquals(truth[i], learned[i], 1e-2, "weight " + i + " of " + java.util.Arrays.toString(learned));
        }
        assertTrue(result.succeeded(1e-2));
        // About 3500 steps with this image, as the seed's 3460 with circle.png.
        assertTrue(result.steps() > 1000 && result.steps() < 10_000, "steps " + result.steps());

        // Every step is reported once, in order, the last one being the result.
        assertEquals(result.steps() + 1, reported.size());
        for (int i = 0; i < reported.size(); i++) {
            assertEquals(i, reported.get(i).step());
        }
        assertEquals(result.finalLoss(), reported.getLast().loss());
        assertTrue(reported.getFirst().loss() > 1e3 * result.finalLoss());
        assertEquals(reported.getFirst(), result.history().getFirst());
        assertEquals(reported.getLast(), result.history().getLast());
    }

    @ParameterizedTest
    @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
    void severalThreadsFollowTheSamePath(Implementation implementation) {
        assumeTrue(implementation != Implementation.SIMD || Conv2d.simdAvailable(), "Vector API not available");
        KernelLearning.Options options = KernelLearning.Options.defaults()
                .withImplementation(implementation).withMaxSteps(50);
        KernelLearning.Result serial = KernelLearning.run(options.withParallelism(Parallelism.serial()));
        KernelLearning.Result threaded;
        try (ForkJoinPool pool = new ForkJoinPool(2)) {
            threaded = KernelLearning.run(options.withParallelism(Parallelism.on(pool)));
        }
        assertEquals(serial.steps(), threaded.steps());
        assertArrayEquals(serial.learnedKernel(), threaded.learnedKernel(), 1e-5f);
        assertEquals(serial.finalLoss(), threaded.finalLoss(), 1e-6 * serial.finalLoss());
    }

    @Test
    void stopsAfterMaxStepsWithoutConverging() {
        KernelLearning.Options options = KernelLearning.Options.defaults()
                .withImplementation(Implementation.SCALAR).withSeed(7).withMaxSteps(20);
        KernelLearning.Result result = KernelLearning.run(options);
        assertEquals(20, result.steps());
        assertFalse(result.converged());
        assertFalse(result.succeeded(1e-2));
        assertTrue(result.finalLoss() > 1e-7);
    }

    @Test
    void zeroStepsReturnsTheInitialKernel() {
        KernelLearning.Result a = KernelLearning.run(KernelLearning.Options.defaults()
                .withImplementation(Implementation.SCALAR).withSeed(3).withMaxSteps(0));
        KernelLearning.Result b = KernelLearning.run(KernelLearning.Options.defaults()
                .withImplementation(Implementation.SCALAR).withSeed(3).withMaxSteps(0));
        assertEquals(0, a.steps());
        assertArrayEquals(a.learnedKernel(), b.learnedKernel(), "the same seed draws the same kernel");
        double[] initial = KernelLearning.initialKernel(3);
        for (int i = 0; i < 9; i++) {
            assertEquals((float) initial[i], a.learnedKernel()[i]);
            assertTrue(Math.abs(initial[i]) < 0.6, "N(0, 0.1): " + initial[i]);
        }
    }

    @Test
    void imageIsAnEightyByEightyGrayscaleInZeroOne() {
        float[] image = KernelLearning.image();
        assertEquals(80 * 80, image.length);
        float min = Float.MAX_VALUE;
        float max = -Float.MAX_VALUE;
        for (float v : image) {
            min = Math.min(min, v);
            max = Math.max(max, v);
        }
        assertEquals(0f, min);
        assertEquals(1f, max);
        assertArrayEquals(image, KernelLearning.image(), "deterministic");
        assertTrue(image[0] < 0.1f, "dark corner");
        assertTrue(image[40 * 80 + 40] > 0.8f, "bright centre");
    }
}
