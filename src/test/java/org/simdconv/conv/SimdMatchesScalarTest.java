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
import org.simdconv.conv.reference.ReferenceConvolution;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * The Vector API path against the scalar oracle on hundreds of random problems (see
 * {@link ConvCase#random}), every pass, overwrite and accumulate, on 1, 2 and 3 threads.
 *
 * <p>With small-integer data every float operation is exact, so the two paths must agree bit for
 * bit whatever their summation order. With Gaussian data they must agree within the rounding-error
 * bound of {@link TestData#assertWithinRoundingBound}. Shared arenas, so that the pool threads
 * may touch the tensors.
 */
class SimdMatchesScalarTest {

    private static final List<ConvCase> INTEGER_CASES = concat(ConvCase.random(20261123L, 400, 400_000),
            ConvCase.randomWide(20261124L, 160, 2_000_000), ConvCase.randomFirstLayers(20261202L, 40, 2_000_000),
            ConvCase.randomPointwise(20261203L, 40, 3_000_000));
    private static final List<ConvCase> GAUSSIAN_CASES = concat(ConvCase.random(7L, 120, 400_000),
            ConvCase.randomWide(8L, 60, 2_000_000), ConvCase.randomFirstLayers(9L, 20, 2_000_000),
            ConvCase.randomPointwise(10L, 20, 3_000_000));

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

    static List<ConvCase> integerCases() {
        return INTEGER_CASES;
    }

    static List<ConvCase> gaussianCases() {
        return GAUSSIAN_CASES;
    }

    private static Parallelism parallelismFor(ConvCase c) {
        return switch (Math.floorMod(c.hashCode(), 3)) {
            case 0 -> Parallelism.serial();
            case 1 -> Parallelism.on(twoThreads);
            default -> Parallelism.on(threeThreads);
        };
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
                        ? Set.of("depthwise-blocked-4", "pointwise-1x1", "blocked-direct-2x4-b4", "blocked-direct-2x4",
                                "plain-input-4x6", "flat-plane-4x4", "row-direct-4x3")
                        : Set.of("depthwise-blocked-4", "blocked-direct-2x4-b4", "blocked-direct-2x4",
                                "flat-plane-4x4", "row-direct-4x3");
                case BACKWARD_DATA -> thirtyTwoRegisters()
                        ? Set.of("depthwise-blocked-4", "pointwise-1x1", "blocked-direct-2x4-b4", "blocked-direct-2x4",
                                "row-direct-stride-phases", "row-direct-4x3")
                        : Set.of("depthwise-blocked-4", "blocked-direct-2x4-b4", "blocked-direct-2x4",
                                "row-direct-stride-phases", "row-direct-4x3");
                case BACKWARD_WEIGHTS -> thirtyTwoRegisters()
                        ? Set.of("depthwise-blocked-4", "pointwise-1x1", "plain-input-4x6",
                                "blocked-weight-gradient-2x4", "flat-plane-4x4", "row-direct-weight-gradient")
                        : Set.of("depthwise-blocked-4", "blocked-weight-gradient-2x4", "flat-plane-4x4",
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
    @ParameterizedTest(name = "stride {0}")
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
            Tensor dxScalar = Tensor.allocate(arena, g.inputShape()), dxSimd = Tensor.allocate(arena, g.inputShape());
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

    @ParameterizedTest
    @MethodSource({"integerCases", "depthwiseCases", "firstLayerCases", "longRowCases", "sixFilterCases"})
    void everyPassIsExactOnSmallIntegers(ConvCase c) {
        Conv2dGeometry g = c.geometry();
        Conv2d scalar = Conv2d.create(c.options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD).withParallelism(parallelismFor(c));
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());

            assertSameValues("forward " + g, scalar.forward(arena, x, w, b).toArray(), simd.forward(arena, x, w, b).toArray());
            assertSameValues("forward without bias " + g, scalar.forward(arena, x, w, null).toArray(),
                    simd.forward(arena, x, w, null).toArray());

            for (Accumulation mode : Accumulation.values()) {
                Tensor start = TestData.smallIntegers(arena, random, g.inputShape());
                Tensor dxScalar = TestData.copy(arena, start), dxSimd = TestData.copy(arena, start);
                scalar.backwardData(dz, w, dxScalar, mode);
                simd.backwardData(dz, w, dxSimd, mode);
                assertSameValues("backward-data " + mode + " " + g, dxScalar.toArray(), dxSimd.toArray());

                Tensor startW = TestData.smallIntegers(arena, random, g.weightShape());
                Tensor startB = TestData.smallIntegers(arena, random, g.biasShape());
                Tensor dwScalar = TestData.copy(arena, startW), dwSimd = TestData.copy(arena, startW);
                Tensor dbScalar = TestData.copy(arena, startB), dbSimd = TestData.copy(arena, startB);
                scalar.backwardWeights(x, dz, dwScalar, dbScalar, mode);
                simd.backwardWeights(x, dz, dwSimd, dbSimd, mode);
                assertSameValues("backward-weights " + mode + " " + g, dwScalar.toArray(), dwSimd.toArray());
                assertSameValues("backward-bias " + mode + " " + g, dbScalar.toArray(), dbSimd.toArray());
            }
        }
    }

    /** Every fourth exact case: enough to reach every kernel (with its tails) with non-finite data. */
    static List<ConvCase> nonFiniteCases() {
        List<ConvCase> every4th = new ArrayList<>();
        for (int i = 0; i < INTEGER_CASES.size(); i += 4) {
            every4th.add(INTEGER_CASES.get(i));
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
    @ParameterizedTest
    @MethodSource("nonFiniteCases")
    void infinitiesReachExactlyTheResultsThatReadThem(ConvCase c) {
        Conv2dGeometry g = c.geometry();
        Conv2d scalar = Conv2d.create(c.options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD).withParallelism(parallelismFor(c));
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());
            x.set(Float.POSITIVE_INFINITY, 0, 0, 0, g.w() - 1);
            assertSameValues("forward " + g, scalar.forward(arena, x, w, null).toArray(),
                    simd.forward(arena, x, w, null).toArray());
            if (g.strideH() == 1 && g.strideW() == 1) {
                Tensor dwScalar = Tensor.allocate(arena, g.weightShape()), dwSimd = Tensor.allocate(arena, g.weightShape());
                scalar.backwardWeights(x, dz, dwScalar, null, Accumulation.OVERWRITE);
                simd.backwardWeights(x, dz, dwSimd, null, Accumulation.OVERWRITE);
                assertSameValues("backward-weights " + g, dwScalar.toArray(), dwSimd.toArray());
            }

            dz.set(Float.NEGATIVE_INFINITY, g.n() - 1, g.k() - 1, g.outH() - 1, g.outW() - 1);
            Tensor dxScalar = Tensor.allocate(arena, g.inputShape()), dxSimd = Tensor.allocate(arena, g.inputShape());
            scalar.backwardData(dz, w, dxScalar, Accumulation.OVERWRITE);
            simd.backwardData(dz, w, dxSimd, Accumulation.OVERWRITE);
            assertSameValues("backward-data " + g, dxScalar.toArray(), dxSimd.toArray());
        }
    }

    @ParameterizedTest
    @MethodSource("gaussianCases")
    void everyPassIsWithinTheRoundingBoundOnGaussianData(ConvCase c) {
        Conv2dGeometry g = c.geometry();
        Conv2d scalar = Conv2d.create(c.options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD).withParallelism(parallelismFor(c));
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.gaussian(arena, random, g.inputShape());
            Tensor w = TestData.gaussian(arena, random, g.weightShape());
            Tensor b = TestData.gaussian(arena, random, g.biasShape());
            Tensor dz = TestData.gaussian(arena, random, g.outputShape());
            double[] ax = abs(x.toArray()), aw = abs(w.toArray()), ab = abs(b.toArray()), adz = abs(dz.toArray());
            long planeTerms = (long) g.n() * g.outH() * g.outW();

            assertWithinRoundingBound("forward " + g, scalar.forward(arena, x, w, b).toArray(),
                    simd.forward(arena, x, w, b).toArray(), ReferenceConvolution.forward(g, ax, aw, ab),
                    (long) g.channelsPerGroup() * g.r() * g.s() + 1);

            Tensor dx = Tensor.allocate(arena, g.inputShape());
            scalar.backwardData(dz, w, dx, Accumulation.OVERWRITE);
            float[] expectedDx = dx.toArray();
            simd.backwardData(dz, w, dx, Accumulation.OVERWRITE);
            assertWithinRoundingBound("backward-data " + g, expectedDx, dx.toArray(),
                    ReferenceConvolution.backwardData(g, adz, aw), (long) g.filtersPerGroup() * g.r() * g.s());

            Tensor dw = Tensor.allocate(arena, g.weightShape());
            Tensor db = Tensor.allocate(arena, g.biasShape());
            scalar.backwardWeights(x, dz, dw, db, Accumulation.OVERWRITE);
            float[] expectedDw = dw.toArray(), expectedDb = db.toArray();
            simd.backwardWeights(x, dz, dw, db, Accumulation.OVERWRITE);
            assertWithinRoundingBound("backward-weights " + g, expectedDw, dw.toArray(),
                    ReferenceConvolution.backwardWeights(g, ax, adz), planeTerms);
            assertWithinRoundingBound("backward-bias " + g, expectedDb, db.toArray(),
                    ReferenceConvolution.backwardBias(g, adz), planeTerms);
        }
    }
}
