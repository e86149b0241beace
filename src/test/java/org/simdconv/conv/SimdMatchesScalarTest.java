package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.simdconv.conv.TestData.abs;
import static org.simdconv.conv.TestData.assertSameValues;
import static org.simdconv.conv.TestData.assertWithinRoundingBound;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * The Vector API path against the scalar oracle on hundreds of random problems (see
 * {@link ConvCase#random}) and on the layers of real networks ({@link ConvCase#realLayers}): every
 * pass, overwrite and accumulate.
 *
 * <p>Each case runs on a thread count (1, 2 or 3) and with its activations in a layout (plain NCHW,
 * or the blocked layout the kernels prefer) fixed by its place in its list, both shown in the
 * test's name, so that a failure repeats. Every result goes into a fresh tensor whose every byte is
 * a NaN ({@link TestData#poisoned}): an element a kernel never writes, or a padding lane it leaves
 * non-zero, fails the comparison.
 *
 * <p>With small-integer data every float operation is exact, so the two paths must agree bit for
 * bit whatever their summation order. With Gaussian data they must agree within the rounding-error
 * bound of {@link TestData#assertWithinRoundingBound}. Shared arenas, so that the pool threads
 * may touch the tensors.
 */
class SimdMatchesScalarTest {

    private static final List<ConvCase> INTEGER_CASES = concat(ConvCase.random(20261123L, 400, 400_000),
            ConvCase.randomWide(20261124L, 160, 2_000_000), ConvCase.randomFirstLayers(20261202L, 40, 2_000_000),
            ConvCase.randomPointwise(20261203L, 40, 3_000_000), ConvCase.randomFullyConnected(20261208L, 40, 3_000_000));
    private static final List<ConvCase> GAUSSIAN_CASES = concat(ConvCase.random(7L, 120, 400_000),
            ConvCase.randomWide(8L, 60, 2_000_000), ConvCase.randomFirstLayers(9L, 20, 2_000_000),
            ConvCase.randomPointwise(10L, 20, 3_000_000), ConvCase.randomFullyConnected(11L, 20, 3_000_000));

    @SafeVarargs
    private static List<ConvCase> concat(List<ConvCase>... lists) {
        List<ConvCase> all = new ArrayList<>();
        for (List<ConvCase> list : lists) {
            all.addAll(list);
        }
        return List.copyOf(all);
    }

    private static ForkJoinPool twoThreads;
    private static ForkJoinPool threeThreads;

    @BeforeAll
    static void startPools() {
        assertTrue(Conv2d.simdAvailable(), "the tests run with --add-modules jdk.incubator.vector");
        twoThreads = new ForkJoinPool(2);
        threeThreads = new ForkJoinPool(3);
    }

    @AfterAll
    static void stopPools() {
        twoThreads.close();
        threeThreads.close();
    }

    /**
     * A case as it runs: its problem, the threads of the Vector API path, and whether its
     * activations are in the preferred (blocked, for enough channels) layout or plain.
     */
    record Run(ConvCase problem, int threads, boolean preferredLayouts) {
        @Override
        public String toString() {
            return problem + " threads=" + threads + (preferredLayouts ? " preferred-layouts" : " plain");
        }
    }

    /** {@code cases} each with 1, 2 or 3 threads and plain or preferred layouts, by its place in the list. */
    static List<Run> runs(List<ConvCase> cases) {
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            runs.add(new Run(cases.get(i), 1 + i % 3, (i / 3) % 2 == 0));
        }
        return runs;
    }

    static List<Run> integerCases() {
        return runs(INTEGER_CASES);
    }

    static List<Run> gaussianCases() {
        return runs(GAUSSIAN_CASES);
    }

    static List<Run> realLayers() {
        return runs(ConvCase.realLayers(40_000_000));
    }

    static List<Run> depthwiseRuns() {
        return runs(depthwiseCases());
    }

    static List<Run> firstLayerRuns() {
        return runs(firstLayerCases());
    }

    static List<Run> longRowRuns() {
        return runs(longRowCases());
    }

    static List<Run> sixFilterRuns() {
        return runs(sixFilterCases());
    }

    /**
     * The two ways the 1x1 weight gradient shares its work, at two and three threads, in both
     * layouts: a small plane with many channels (the threads split the filters and write their
     * rows of the gradient themselves) and a large plane with few (each thread sums its items into
     * a partial, and the partials are reduced).
     */
    static List<Run> pointwiseSplitRuns() {
        List<ConvCase> cases = List.of(
                new ConvCase(new int[] {4, 8 * ConvCase.LANES, 3, 3}, new int[] {8 * ConvCase.LANES, 8 * ConvCase.LANES, 1, 1}, Conv2dOptions.defaults()),
                new ConvCase(new int[] {4, ConvCase.LANES, 24, 24}, new int[] {2 * ConvCase.LANES, ConvCase.LANES, 1, 1}, Conv2dOptions.defaults()));
        List<Run> runs = new ArrayList<>();
        for (ConvCase c : cases) {
            for (int threads = 2; threads <= 3; threads++) {
                runs.add(new Run(c, threads, true));
                runs.add(new Run(c, threads, false));
            }
        }
        return runs;
    }

    private static Parallelism parallelism(int threads) {
        return switch (threads) {
            case 1 -> Parallelism.serial();
            case 2 -> Parallelism.on(twoThreads);
            default -> Parallelism.on(threeThreads);
        };
    }

    /** The SIMD convolution of a run. */
    private static Conv2d simd(Run run) {
        return Conv2d.create(run.problem().options()).withImplementation(Implementation.SIMD)
                .withParallelism(parallelism(run.threads()));
    }

    /** The layout of a run's activation of {@code channels} channels. */
    private static Layout layout(Conv2d conv, Run run, int channels) {
        return run.preferredLayouts() ? conv.preferredLayout(channels) : Layout.plain();
    }

    /** The suites must reach every kernel of the ordered lists, or a kernel could go untested. */
    @Test
    void theCasesReachEveryKernelOfEveryPass() {
        Conv2d simd = Conv2d.create(Conv2dOptions.defaults()).withImplementation(Implementation.SIMD);
        for (Conv2dPass pass : Conv2dPass.values()) {
            Map<String, Integer> uses = new TreeMap<>();
            for (ConvCase c : INTEGER_CASES) {
                Conv2d conv = Conv2d.create(c.options()).withImplementation(Implementation.SIMD);
                uses.merge(conv.kernelName(pass, c.inputShape(), c.weightShape()), 1, Integer::sum);
            }
            Set<String> expected = switch (pass) {
                case FORWARD -> thirtyTwoRegisters()
                        ? Set.of("depthwise-blocked-4", "fully-connected", "pointwise-1x1", "blocked-direct-2x4-b4", "blocked-direct-2x4",
                                "plain-input-4x6", "flat-plane-4x4", "row-direct-4x3")
                        : Set.of("depthwise-blocked-4", "fully-connected", "blocked-direct-2x4-b4", "blocked-direct-2x4",
                                "flat-plane-4x4", "row-direct-4x3");
                case BACKWARD_DATA -> thirtyTwoRegisters()
                        ? Set.of("depthwise-blocked-4", "fully-connected", "pointwise-1x1", "blocked-direct-2x4-b4", "blocked-direct-2x4",
                                "row-direct-stride-phases", "row-direct-4x3")
                        : Set.of("depthwise-blocked-4", "fully-connected", "blocked-direct-2x4-b4", "blocked-direct-2x4",
                                "row-direct-stride-phases", "row-direct-4x3");
                case BACKWARD_WEIGHTS -> thirtyTwoRegisters()
                        ? Set.of("depthwise-blocked-4", "fully-connected", "pointwise-1x1", "plain-input-4x6",
                                "blocked-weight-gradient-2x4", "flat-plane-4x4", "row-direct-weight-gradient")
                        : Set.of("depthwise-blocked-4", "fully-connected", "blocked-weight-gradient-2x4", "flat-plane-4x4",
                                "row-direct-weight-gradient");
            };
            for (String kernel : expected) {
                String name = simd.kernelsName() + "/" + kernel;
                assertTrue(uses.getOrDefault(name, 0) >= 20, pass + ": " + name + " runs only "
                        + uses.getOrDefault(name, 0) + " cases of " + uses);
            }
            assertEquals(expected.size(), uses.size(), pass + " runs unexpected kernels: " + uses);
        }
    }

    /**
     * The real layers run the kernels made for many channels: with at least half a block of input
     * channels in one group, never the row kernels made for a few.
     */
    @Test
    void realLayersWithManyChannelsRunTheBlockedKernels() {
        for (Run run : realLayers()) {
            ConvCase c = run.problem();
            Conv2dGeometry g = c.geometry();
            if (g.groups() != 1 || 2 * g.c() < ConvCase.LANES || 2 * g.k() < ConvCase.LANES) {
                continue;
            }
            Conv2d conv = simd(run);
            for (Conv2dPass pass : Conv2dPass.values()) {
                String kernel = conv.kernelName(pass, c.inputShape(), c.weightShape());
                assertTrue(!kernel.contains("row-direct") && !kernel.contains("flat-plane"), g + " " + pass + " runs " + kernel);
            }
        }
    }

    /**
     * The first-layer cases reach the kernel they are there for with 512-bit vectors (with narrower
     * ones it declines): forward always, backward-weights with a multiple of 64 filters.
     */
    @Test
    void firstLayerCasesRunThePlainInputKernel() {
        for (ConvCase c : firstLayerCases()) {
            Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD);
            String forward = simd.kernelName(Conv2dPass.FORWARD, c.inputShape(), c.weightShape());
            assertEquals(thirtyTwoRegisters(), forward.endsWith("/plain-input-4x6"), c + " runs " + forward);
            String weights = simd.kernelName(Conv2dPass.BACKWARD_WEIGHTS, c.inputShape(), c.weightShape());
            assertEquals(thirtyTwoRegisters() && c.weightShape()[0] % 64 == 0, weights.endsWith("/plain-input-4x6"),
                    c + " runs " + weights);
        }
    }

    /**
     * True with 512-bit vectors, which come with the 32 registers that the first-layer kernel's tile
     * needs (with narrower vectors it declines, and the row kernel runs those layers).
     */
    private static boolean thirtyTwoRegisters() {
        return jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
    }

    /**
     * Weights larger than the blocked kernel's chunk budget (512 KB for all output blocks), so the
     * input blocks are cut into chunks whose sums continue through the output: forward (256 filters
     * of 64 channels) and backward-data (64 channels from 256), both staged four blocks per pixel at
     * 8 lanes. The random cases are too small to reach a second chunk.
     */
    @ParameterizedTest(name = "stride {0}, threads=2")
    @org.junit.jupiter.params.provider.ValueSource(ints = {1, 2})
    void weightsSpanningSeveralChunksAreExact(int stride) {
        ConvCase c = new ConvCase(new int[] {2, 64, 9, 8}, new int[] {256, 64, 3, 3},
                Conv2dOptions.defaults().withStride(stride).withPadding(Padding.of(1)));
        Conv2dGeometry g = c.geometry();
        Conv2d scalar = Conv2d.create(c.options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD)
                .withParallelism(Parallelism.on(twoThreads));
        Random random = new Random(stride);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());
            assertSameValues("forward " + g, scalar.forward(arena, x, w, b).toArray(), simd.forward(arena, x, w, b).toArray());
            Tensor dxScalar = Tensor.allocate(arena, g.inputShape());
            Tensor dxSimd = TestData.poisoned(arena, Layout.plain(), g.inputShape());
            scalar.backwardData(dz, w, dxScalar, Accumulation.OVERWRITE);
            simd.backwardData(dz, w, dxSimd, Accumulation.OVERWRITE);
            assertSameValues("backward-data " + g, dxScalar.toArray(), dxSimd.toArray());
        }
    }

    /**
     * Depthwise layers, whose kernel has tiles of its own for 3x3 kernels at stride 1 (MobileNet's
     * layer: shared input loads in forward, all nine taps in one sweep in backward-weights) besides
     * the general ones: channel tails, padding 0 to 2 (so the interior where every tap lies inside
     * is large, thin or empty), planes narrower than a tile, stride 2, dilation and a 5x5 kernel,
     * and rows several vectors long (on NCHW tensors the 3x3 kernel runs along the rows).
     */
    static List<ConvCase> depthwiseCases() {
        Conv2dOptions d = Conv2dOptions.defaults();
        return List.of(depthwise(2, 20, 28, 28, 3, d.withPadding(Padding.of(1))),
                depthwise(1, 16, 9, 21, 3, d.withPadding(Padding.of(1))),
                depthwise(3, 5, 12, 17, 3, d),
                depthwise(1, 33, 6, 40, 3, d.withPadding(Padding.of(2))),
                depthwise(2, 7, 3, 3, 3, d.withPadding(Padding.of(1))),
                depthwise(1, 17, 2, 9, 3, d.withPadding(Padding.of(1, 0, 2, 1))),
                depthwise(2, 18, 15, 14, 3, d.withStride(2).withPadding(Padding.of(1))),
                depthwise(1, 9, 13, 19, 3, d.withDilation(2).withPadding(Padding.of(2))),
                depthwise(1, 24, 11, 12, 5, d.withPadding(Padding.of(2))),
                depthwise(2, 3, 9, 70, 3, d.withPadding(Padding.of(1))),
                depthwise(1, 4, 6, 64, 3, d.withPadding(Padding.of(0, 1))),
                // Many channel blocks: the weight gradient's tasks are single blocks over every item.
                depthwise(3, 130, 7, 9, 3, d.withPadding(Padding.of(1))),
                depthwise(2, 256, 5, 6, 3, d.withPadding(Padding.of(1))),
                depthwise(2, 200, 9, 8, 3, d.withStride(2).withPadding(Padding.of(1))));
    }

    private static ConvCase depthwise(int n, int c, int h, int w, int k, Conv2dOptions options) {
        return new ConvCase(new int[] {n, c, h, w}, new int[] {c, 1, k, k}, options.withGroups(c));
    }

    /**
     * First layers, whose kernel with 512-bit vectors broadcasts one input channel at a time to
     * four blocks of filters by six pixels: a ResNet stem in small (7x7, stride 2, padding 3), so
     * that rows, border columns (tiles of six rows) and corners all occur; filters past a group of
     * four blocks (72, 80: a group of fewer blocks), one channel, stride 1 and 3, uneven padding
     * and dilation. The random cases seldom have four blocks of filters on a plane this large.
     */
    static List<ConvCase> firstLayerCases() {
        Conv2dOptions d = Conv2dOptions.defaults();
        return List.of(new ConvCase(new int[] {2, 3, 30, 37}, new int[] {64, 3, 7, 7}, d.withStride(2).withPadding(Padding.of(3))),
                new ConvCase(new int[] {1, 3, 29, 26}, new int[] {72, 3, 7, 7}, d.withStride(2).withPadding(Padding.of(3))),
                new ConvCase(new int[] {1, 1, 21, 19}, new int[] {80, 1, 5, 5}, d.withPadding(Padding.of(2))),
                new ConvCase(new int[] {3, 2, 17, 40}, new int[] {64, 2, 3, 3}, d.withStride(3).withPadding(Padding.of(2, 0, 1, 3))),
                new ConvCase(new int[] {1, 7, 16, 16}, new int[] {128, 7, 3, 5}, d.withDilation(2).withPadding(Padding.of(2, 4))),
                new ConvCase(new int[] {1, 3, 9, 8}, new int[] {64, 3, 7, 7}, d.withStride(2).withPadding(Padding.of(3))));
    }

    /**
     * Rows of single channels longer than four vectors and not a multiple of them, whose last
     * columns the row kernel computes as a four-vector tile overlapping the one before: stride-2
     * backward-data of three channels (phases of 75, 66 and 65 columns) and stride-1 backward-data
     * of two channels (rows of 83 columns), even and odd widths, with and without padding.
     */
    static List<ConvCase> longRowCases() {
        Conv2dOptions d = Conv2dOptions.defaults();
        return List.of(new ConvCase(new int[] {1, 3, 6, 150}, new int[] {6, 3, 7, 7}, d.withStride(2).withPadding(Padding.of(3))),
                new ConvCase(new int[] {2, 3, 5, 131}, new int[] {5, 3, 3, 3}, d.withStride(2)),
                new ConvCase(new int[] {1, 2, 5, 83}, new int[] {3, 2, 3, 3}, d.withPadding(Padding.of(1))),
                new ConvCase(new int[] {1, 1, 3, 97}, new int[] {2, 1, 1, 5}, d));
    }

    /**
     * Small planes at stride 1, the flat-plane kernel, with a block of four filters followed by a
     * pair in their group (the six-filter forward tile): the seed's second layer, batch 1, odd
     * channel counts, padding, dilation, two groups of six, ten filters (the pair after the second
     * block), and a batch of twelve 40 x 40 items that the weight gradient stages in two groups.
     */
    static List<ConvCase> sixFilterCases() {
        Conv2dOptions d = Conv2dOptions.defaults();
        return List.of(new ConvCase(new int[] {3, 4, 13, 13}, new int[] {6, 4, 3, 3}, d),
                new ConvCase(new int[] {1, 3, 10, 12}, new int[] {6, 3, 3, 3}, d.withPadding(Padding.of(1))),
                new ConvCase(new int[] {2, 5, 9, 14}, new int[] {6, 5, 3, 3}, d.withDilation(2).withPadding(Padding.of(2, 1))),
                new ConvCase(new int[] {2, 6, 8, 9}, new int[] {12, 3, 3, 3}, d.withGroups(2).withPadding(Padding.of(1))),
                new ConvCase(new int[] {1, 2, 11, 7}, new int[] {10, 2, 3, 3}, d),
                new ConvCase(new int[] {12, 2, 40, 40}, new int[] {6, 2, 3, 3}, d.withPadding(Padding.of(1))));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"integerCases", "depthwiseRuns", "firstLayerRuns", "longRowRuns", "sixFilterRuns", "pointwiseSplitRuns",
            "realLayers"})
    void everyPassIsExactOnSmallIntegers(Run run) {
        Conv2dGeometry g = run.problem().geometry();
        Conv2d scalar = Conv2d.create(run.problem().options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = simd(run);
        Layout in = layout(simd, run, g.c()), out = layout(simd, run, g.k());
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());
            Tensor xs = TestData.copy(arena, x, in), dzs = TestData.copy(arena, dz, out);

            Tensor y = TestData.poisoned(arena, out, g.outputShape());
            simd.forward(xs, w, b, y);
            assertSameValues("forward " + g, scalar.forward(arena, x, w, b).toArray(), y.toArray());
            TestData.assertPaddingIsZero("forward " + g, y);
            Tensor y0 = TestData.poisoned(arena, out, g.outputShape());
            simd.forward(xs, w, null, y0);
            assertSameValues("forward without bias " + g, scalar.forward(arena, x, w, null).toArray(), y0.toArray());

            for (Accumulation mode : Accumulation.values()) {
                boolean add = mode == Accumulation.ACCUMULATE;
                Tensor start = TestData.smallIntegers(arena, random, g.inputShape());
                Tensor dxScalar = TestData.copy(arena, start);
                Tensor dxSimd = add ? TestData.copy(arena, start, in) : TestData.poisoned(arena, in, g.inputShape());
                scalar.backwardData(dz, w, dxScalar, mode);
                simd.backwardData(dzs, w, dxSimd, mode);
                assertSameValues("backward-data " + mode + " " + g, dxScalar.toArray(), dxSimd.toArray());
                TestData.assertPaddingIsZero("backward-data " + mode + " " + g, dxSimd);

                Tensor startW = TestData.smallIntegers(arena, random, g.weightShape());
                Tensor startB = TestData.smallIntegers(arena, random, g.biasShape());
                Tensor dwScalar = TestData.copy(arena, startW), dbScalar = TestData.copy(arena, startB);
                Tensor dwSimd = add ? TestData.copy(arena, startW) : TestData.poisoned(arena, Layout.plain(), g.weightShape());
                Tensor dbSimd = add ? TestData.copy(arena, startB) : TestData.poisoned(arena, Layout.plain(), g.biasShape());
                scalar.backwardWeights(x, dz, dwScalar, dbScalar, mode);
                simd.backwardWeights(xs, dzs, dwSimd, dbSimd, mode);
                assertSameValues("backward-weights " + mode + " " + g, dwScalar.toArray(), dwSimd.toArray());
                assertSameValues("backward-bias " + mode + " " + g, dbScalar.toArray(), dbSimd.toArray());
            }
        }
    }

    /** Every fourth exact case: enough to reach every kernel (with its tails) with non-finite data. */
    static List<Run> nonFiniteCases() {
        List<Run> every4th = new ArrayList<>();
        List<Run> all = integerCases();
        for (int i = 0; i < all.size(); i += 4) {
            every4th.add(all.get(i));
        }
        return every4th;
    }

    /**
     * An infinity at the end of the input's first row reaches exactly the outputs and weight
     * gradients that read it, and one at the end of the output gradient's last row exactly the input
     * gradients, as in the oracle: a kernel whose vectors run past a row and zero only one operand
     * there would turn {@code 0 * Inf} into NaN in results that never read it. Backward-weights only
     * at stride 1: the oracle correlates the input with the zero-dilated gradient (seed 002), and
     * multiplies the infinity by inserted zeros that the kernels never form (nor does oneDNN); for
     * the same reason the infinite gradient is not used in backward-weights (padding zeros).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("nonFiniteCases")
    void infinitiesReachExactlyTheResultsThatReadThem(Run run) {
        Conv2dGeometry g = run.problem().geometry();
        Conv2d scalar = Conv2d.create(run.problem().options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = simd(run);
        Layout in = layout(simd, run, g.c()), out = layout(simd, run, g.k());
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());
            x.set(Float.POSITIVE_INFINITY, 0, 0, 0, g.w() - 1);
            Tensor xs = TestData.copy(arena, x, in);
            Tensor y = TestData.poisoned(arena, out, g.outputShape());
            simd.forward(xs, w, null, y);
            assertSameValues("forward " + g, scalar.forward(arena, x, w, null).toArray(), y.toArray());
            if (g.strideH() == 1 && g.strideW() == 1) {
                Tensor dwScalar = Tensor.allocate(arena, g.weightShape());
                Tensor dwSimd = TestData.poisoned(arena, Layout.plain(), g.weightShape());
                scalar.backwardWeights(x, dz, dwScalar, null, Accumulation.OVERWRITE);
                simd.backwardWeights(xs, TestData.copy(arena, dz, out), dwSimd, null, Accumulation.OVERWRITE);
                assertSameValues("backward-weights " + g, dwScalar.toArray(), dwSimd.toArray());
            }

            dz.set(Float.NEGATIVE_INFINITY, g.n() - 1, g.k() - 1, g.outH() - 1, g.outW() - 1);
            Tensor dxScalar = Tensor.allocate(arena, g.inputShape());
            Tensor dxSimd = TestData.poisoned(arena, in, g.inputShape());
            scalar.backwardData(dz, w, dxScalar, Accumulation.OVERWRITE);
            simd.backwardData(TestData.copy(arena, dz, out), w, dxSimd, Accumulation.OVERWRITE);
            assertSameValues("backward-data " + g, dxScalar.toArray(), dxSimd.toArray());
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("gaussianCases")
    void everyPassIsWithinTheRoundingBoundOnGaussianData(Run run) {
        Conv2dGeometry g = run.problem().geometry();
        Conv2d scalar = Conv2d.create(run.problem().options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = simd(run);
        Layout in = layout(simd, run, g.c()), out = layout(simd, run, g.k());
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.gaussian(arena, random, g.inputShape());
            Tensor w = TestData.gaussian(arena, random, g.weightShape());
            Tensor b = TestData.gaussian(arena, random, g.biasShape());
            Tensor dz = TestData.gaussian(arena, random, g.outputShape());
            Tensor xs = TestData.copy(arena, x, in), dzs = TestData.copy(arena, dz, out);
            double[] ax = abs(x.toArray()), aw = abs(w.toArray()), ab = abs(b.toArray()), adz = abs(dz.toArray());
            long planeTerms = (long) g.n() * g.outH() * g.outW();

            Tensor y = TestData.poisoned(arena, out, g.outputShape());
            simd.forward(xs, w, b, y);
            assertWithinRoundingBound("forward " + g, scalar.forward(arena, x, w, b).toArray(), y.toArray(),
                    Reference.forward(g, ax, aw, ab), (long) g.channelsPerGroup() * g.r() * g.s() + 1);

            Tensor dxScalar = Tensor.allocate(arena, g.inputShape());
            Tensor dxSimd = TestData.poisoned(arena, in, g.inputShape());
            scalar.backwardData(dz, w, dxScalar, Accumulation.OVERWRITE);
            simd.backwardData(dzs, w, dxSimd, Accumulation.OVERWRITE);
            assertWithinRoundingBound("backward-data " + g, dxScalar.toArray(), dxSimd.toArray(),
                    Reference.backwardData(g, adz, aw), (long) g.filtersPerGroup() * g.r() * g.s());

            Tensor dwScalar = Tensor.allocate(arena, g.weightShape()), dbScalar = Tensor.allocate(arena, g.biasShape());
            Tensor dwSimd = TestData.poisoned(arena, Layout.plain(), g.weightShape());
            Tensor dbSimd = TestData.poisoned(arena, Layout.plain(), g.biasShape());
            scalar.backwardWeights(x, dz, dwScalar, dbScalar, Accumulation.OVERWRITE);
            simd.backwardWeights(xs, dzs, dwSimd, dbSimd, Accumulation.OVERWRITE);
            assertWithinRoundingBound("backward-weights " + g, dwScalar.toArray(), dwSimd.toArray(),
                    Reference.backwardWeights(g, ax, adz), planeTerms);
            assertWithinRoundingBound("backward-bias " + g, dbScalar.toArray(), dbSimd.toArray(),
                    Reference.backwardBias(g, adz), planeTerms);
        }
    }
}
