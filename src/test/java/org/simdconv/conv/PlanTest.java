package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.simdconv.conv.TestData.assertSameValues;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;
import org.simdconv.testing.AllocationCounter;

/**
 * A plan owns what its layer needs from call to call: the kernels chosen once, the weights packed
 * once and repacked (into the same memory) only when they change, its workspace. A stale packing
 * would be silent, so every result is compared with the oracle's on the weights of that moment
 * (small integers, exact); and a repeated call, a training step included, allocates nothing,
 * counted exactly on every thread that ran it.
 */
class PlanTest {

    private static final int LANES = ConvCase.LANES;
    private static ForkJoinPool twoThreads;

    @BeforeAll
    static void startPool() {
        twoThreads = new ForkJoinPool(2);
    }

    @AfterAll
    static void stopPool() {
        twoThreads.close();
    }

    /** One problem for each kernel family that keeps packed weights or workspaces. */
    static Stream<ConvCase> cases() {
        Conv2dOptions d = Conv2dOptions.defaults();
        return Stream.of(
                new ConvCase(new int[] {2, 2 * LANES, 6, 7}, new int[] {LANES, 2 * LANES, 3, 3},
                        d.withPadding(Padding.of(1))), // blocked-direct, forward and backward-data
                new ConvCase(new int[] {1, 4 * LANES, 7, 6}, new int[] {LANES, 4 * LANES, 3, 3},
                        d.withStride(2).withPadding(Padding.of(1))), // four staged blocks, stride phases
                new ConvCase(new int[] {2, 2 * LANES, 5, 9}, new int[] {3 * LANES, 2 * LANES, 1, 1}, d), // pointwise
                new ConvCase(new int[] {1, 3, 17, 15}, new int[] {4 * LANES, 3, 7, 7},
                        d.withStride(2).withPadding(Padding.of(3))), // first layer, stride phases backward
                new ConvCase(new int[] {3, 1, 28, 28}, new int[] {4, 1, 3, 3}, d), // flat-plane, row-direct backward
                new ConvCase(new int[] {2, 5, 9, 11}, new int[] {6, 5, 3, 2}, d.withPadding(Padding.of(1, 0))), // rows
                new ConvCase(new int[] {2, 1, 12, 13}, new int[] {2, 1, 3, 3}, d.withStride(2)), // stride phases, row weight gradient
                new ConvCase(new int[] {2, 3 * LANES, 9, 8}, new int[] {3 * LANES, 1, 3, 3},
                        d.withGroups(3 * LANES).withPadding(Padding.of(1))), // depthwise
                new ConvCase(new int[] {5, 2 * LANES, 1, 1}, new int[] {5, 2 * LANES, 1, 1}, d), // fully connected
                new ConvCase(new int[] {3, 5, 4, 3}, new int[] {LANES + 3, 5, 4, 3}, d)); // fully connected, plain
    }

    @Test
    void theCasesReachEveryKernelFamily() {
        Set<String> kernels = new TreeSet<>();
        cases().forEach(c -> {
            Conv2dPlan plan = Conv2d.create(c.options()).withImplementation(Implementation.SIMD).plan(c.geometry());
            for (Conv2dPass pass : Conv2dPass.values()) {
                String name = plan.kernelName(pass);
                kernels.add(name.substring(name.indexOf('/') + 1));
            }
        });
        boolean wide = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
        Set<String> expected = wide
                ? Set.of("fully-connected", "blocked-direct-2x4", "blocked-direct-2x4-b4", "pointwise-1x1", "plain-input-4x6",
                        "flat-plane-4x4", "row-direct-4x3", "row-direct-stride-phases", "depthwise-blocked-4",
                        "blocked-weight-gradient-2x4", "row-direct-weight-gradient")
                : Set.of("fully-connected", "blocked-direct-2x4", "blocked-direct-2x4-b4", "flat-plane-4x4", "row-direct-4x3",
                        "row-direct-stride-phases", "depthwise-blocked-4", "blocked-weight-gradient-2x4",
                        "row-direct-weight-gradient");
        assertTrue(kernels.containsAll(expected), "the cases run " + kernels + ", not all of " + expected);
    }

    @ParameterizedTest(name = "{0} threads=2")
    @MethodSource("cases")
    void weightsChangedInPlaceArePackedAgain(ConvCase c) {
        Conv2dGeometry g = c.geometry();
        Conv2d scalar = Conv2d.create(c.options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD)
                .withParallelism(Parallelism.on(twoThreads));
        Conv2dPlan plan = simd.plan(g);
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());
            Tensor xp = TestData.copy(arena, x, plan.preferredLayout(g.c()));
            Tensor dzp = TestData.copy(arena, dz, plan.preferredLayout(g.k()));
            for (int step = 0; step < 3; step++) {
                String when = (step == 0 ? "first call " : "after weight change " + step + " ") + g;
                Tensor y = TestData.poisoned(arena, plan.preferredLayout(g.k()), g.outputShape());
                plan.forward(xp, w, b, y);
                assertSameValues("forward, " + when, scalar.forward(arena, x, w, b).toArray(), y.toArray());
                Tensor dxScalar = Tensor.allocate(arena, g.inputShape());
                Tensor dx = TestData.poisoned(arena, plan.preferredLayout(g.c()), g.inputShape());
                scalar.backwardData(dz, w, dxScalar, Accumulation.OVERWRITE);
                plan.backwardData(dzp, w, dx, Accumulation.OVERWRITE);
                assertSameValues("backward-data, " + when, dxScalar.toArray(), dx.toArray());

                // An optimiser step in place: one weight (a different one each time), then all of them.
                if (step == 0) {
                    long i = random.nextInt((int) w.elementCount());
                    w.setFlat(i, w.getFlat(i) + 1f);
                } else {
                    for (long i = 0; i < w.elementCount(); i++) {
                        w.setFlat(i, w.getFlat(i) - 1f);
                    }
                }
            }
        }
    }

    /**
     * Three layers of one geometry with their own weights, called in turn as a network calls them:
     * each plan keeps its own packing (a cache keyed by geometry repacked on every call), so after the
     * first round a round packs nothing and allocates nothing.
     */
    @Test
    void plansOfOneGeometryKeepTheirOwnWeights() {
        ConvCase c = new ConvCase(new int[] {2, 2 * LANES, 7, 7}, new int[] {2 * LANES, 2 * LANES, 3, 3},
                Conv2dOptions.defaults().withPadding(Padding.of(1)));
        Conv2dGeometry g = c.geometry();
        Conv2d scalar = Conv2d.create(c.options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD)
                .withParallelism(Parallelism.serial());
        Random random = new Random(11);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            List<Conv2dPlan> plans = new ArrayList<>();
            List<Tensor> weights = new ArrayList<>();
            List<Tensor> expected = new ArrayList<>();
            for (int layer = 0; layer < 3; layer++) {
                plans.add(simd.plan(g));
                weights.add(TestData.smallIntegers(arena, random, g.weightShape()));
                expected.add(scalar.forward(arena, x, weights.get(layer), null));
            }
            Tensor y = Tensor.allocate(arena, g.outputShape());
            for (int round = 0; round < 3; round++) {
                for (int layer = 0; layer < 3; layer++) {
                    plans.get(layer).forward(x, weights.get(layer), null, y);
                    assertSameValues("layer " + layer + ", round " + round, expected.get(layer).toArray(), y.toArray());
                }
            }
            AllocationCounter counter = new AllocationCounter(Parallelism.serial());
            long deadline = System.nanoTime() + WARM_UP_NANOS, bytes;
            do { // until C2 has compiled the kernels (see aRepeatedCallAllocatesNothing)
                long before = counter.total();
                for (int layer = 0; layer < 3; layer++) {
                    plans.get(layer).forward(x, weights.get(layer), null, y);
                }
                bytes = counter.since(before);
            } while (bytes > 0 && System.nanoTime() < deadline);
            assertEquals(0, bytes, "bytes allocated by a round of the three layers: nothing is repacked");
        }
    }

    /**
     * Once compiled, a call allocates nothing: every pass, on one thread and on two, on activations in
     * the preferred layouts and in plain ones (reordered, for some kernels), with the weights
     * changed before each forward pass (a training step repacks into the same memory). The Vector API
     * allocates a vector object per operation until C2 compiles the kernels, so the steps repeat until
     * a round of them allocates nothing on any thread, for at most {@link #WARM_UP_NANOS}; a kernel
     * that allocates in every call (a task object, a workspace, a packed copy) never gets there.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void aRepeatedCallAllocatesNothing(ConvCase c) {
        Conv2dGeometry g = c.geometry();
        for (int run = 0; run < 4; run++) { // one thread and two; preferred layouts and plain ones
            Parallelism par = run % 2 == 0 ? Parallelism.serial() : Parallelism.on(twoThreads);
            boolean preferred = run < 2;
            Conv2dPlan plan = Conv2d.create(c.options()).withImplementation(Implementation.SIMD)
                    .withParallelism(par).plan(g);
            Layout in = preferred ? plan.preferredLayout(g.c()) : Layout.plain();
            Layout out = preferred ? plan.preferredLayout(g.k()) : Layout.plain();
            Random random = new Random(5);
            try (Arena arena = Arena.ofShared()) {
                Tensor x = TestData.copy(arena, TestData.smallIntegers(arena, random, g.inputShape()), in);
                Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
                Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
                Tensor dz = TestData.copy(arena, TestData.smallIntegers(arena, random, g.outputShape()), out);
                Tensor y = Tensor.allocate(arena, out, g.outputShape());
                Tensor dx = Tensor.allocate(arena, in, g.inputShape());
                Tensor dw = Tensor.allocate(arena, g.weightShape()), db = Tensor.allocate(arena, g.biasShape());
                AllocationCounter counter = new AllocationCounter(par);
                long deadline = System.nanoTime() + WARM_UP_NANOS, bytes;
                int rounds = 0;
                do {
                    long before = counter.total();
                    for (int call = 0; call < 5; call++) {
                        w.setFlat(call, w.getFlat(call) == 0f ? 1f : 0f); // a training step: the weights change
                        plan.forward(x, w, b, y);
                        plan.backwardData(dz, w, dx, Accumulation.OVERWRITE);
                        plan.backwardWeights(x, dz, dw, db, Accumulation.OVERWRITE);
                    }
                    bytes = counter.since(before);
                    rounds++;
                } while (bytes > 0 && System.nanoTime() < deadline);
                assertEquals(0, bytes, g + " on " + par + " with " + in + " and " + out
                        + " activations: bytes allocated by five training steps after " + rounds + " rounds");
            }
        }
    }

    /** How long {@link #aRepeatedCallAllocatesNothing} waits for C2 to compile the kernels. */
    private static final long WARM_UP_NANOS = 20_000_000_000L;

    @Test
    void aPlanChecksItsGeometryAndNamesTheTensor() {
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults());
        Conv2dPlan plan = conv.plan(new int[] {1, 3, 8, 8}, new int[] {4, 3, 3, 3});
        try (Arena arena = Arena.ofShared()) {
            Tensor x = Tensor.allocate(arena, 1, 3, 9, 8), w = Tensor.allocate(arena, 4, 3, 3, 3);
            Tensor y = Tensor.allocate(arena, 1, 4, 6, 6).fill(5f);
            IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                    () -> plan.forward(x, w, null, y));
            assertTrue(e.getMessage().startsWith("input: shape [1, 3, 9, 8] does not match [1, 3, 8, 8]"),
                    e.getMessage());
            for (float v : y.toArray()) {
                assertEquals(5f, v);
            }
        }
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> conv.plan(Conv2dGeometry.of(new int[] {1, 3, 8, 8}, new int[] {4, 3, 3, 3},
                        Conv2dOptions.defaults().withStride(2))));
        assertTrue(e.getMessage().contains("is not this convolution's"), e.getMessage());
    }

    @Test
    void preferredLayoutsAreTakenWithoutAReorder() {
        Conv2dPlan plan = Conv2d.create(Conv2dOptions.defaults().withPadding(Padding.of(1)))
                .withImplementation(Implementation.SIMD).withParallelism(Parallelism.serial())
                .plan(new int[] {2, 2 * LANES, 6, 6},
                        new int[] {2 * LANES, 2 * LANES, 3, 3});
        assertEquals(Layout.channelBlocked(LANES), plan.preferredLayout(2 * LANES));
        try (Arena arena = Arena.ofShared()) {
            Tensor x = Tensor.allocate(arena, plan.preferredLayout(2 * LANES), 2, 2 * LANES, 6, 6);
            Tensor w = Tensor.allocate(arena, 2 * LANES, 2 * LANES, 3, 3);
            Tensor y = Tensor.allocate(arena, plan.preferredLayout(2 * LANES), 2, 2 * LANES, 6, 6);
            plan.forward(x, w, null, y);
            long before = plan.retainedBytes();
            plan.forward(x, w, null, y);
            assertEquals(before, plan.retainedBytes(), "no reorder buffers were made");
        }
    }
}
