package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.simdconv.conv.ConvTestSupport.conv;
import static org.simdconv.conv.TestData.widen;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.ToDoubleFunction;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.opentest4j.AssertionFailedError;
import org.simdconv.tensor.Tensor;

/**
 * The gradients checked against central finite differences of the scalar loss
 * {@code L(X, W, b) = sum(G .* forward(X, W, b))}, whose gradients are exactly what the backward
 * passes compute for an incoming gradient {@code G}: {@code dL/dX = backwardData(G, W)},
 * {@code dL/dW = backwardWeights(X, G)}, {@code dL/db = backwardBias(G)}.
 *
 * <p>The forward pass is the only thing the finite differences trust, and the seed examples pin it
 * down; so a backward pass that disagrees with its forward pass cannot pass here, whatever the
 * geometry.
 */
public class FiniteDifferenceTest {

    /**
     * Step of the central differences. L is linear in each argument (bilinear in (X, W), affine in b),
     * so {@code (L(v + h e) - L(v - h e)) / 2h} has no truncation error at all: only the rounding of
     * the two loss evaluations remains. Each evaluation sums at most ~10^4 products of numbers in
     * [-1, 1] in double, an error of order 10^-13 at worst here, which the division by 2h = 2e-3
     * turns into ~10^-10 (observed: at most 5e-12 over all cases). A relative tolerance of 1e-8 is
     * therefore about 100 times the estimate, and still 10^4 times smaller than any mistake a wrong
     * index would make (an O(1) term moved or lost).
     */
    static final double H = 1e-3;
    static final double TOLERANCE = 1e-8;

    /** One geometry; {@code outH x outW} pins down what the options resolve to. */
    record Case(String name, int[] input, int[] weight, Conv2dOptions options, int outH, int outW) {
        Conv2dGeometry geometry() {
            return Conv2dGeometry.of(input, weight, options);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Case of(String name, int[] input, int[] weight, Conv2dOptions options, int outH, int outW) {
        return new Case(name, input, weight, options, outH, outW);
    }

    static int[] shape(int... dims) {
        return dims;
    }

    static Stream<Case> cases() {
        Conv2dOptions d = Conv2dOptions.defaults();
        return Stream.of(
                of("5x5 * 3x3, stride 1", shape(1, 1, 5, 5), shape(1, 1, 3, 3), d, 3, 3),
                of("stride 2", shape(1, 1, 5, 7), shape(1, 1, 3, 3), d.withStride(2), 2, 3),
                of("stride 3, H-R not a multiple of it", shape(1, 2, 7, 8), shape(2, 2, 3, 2), d.withStride(3), 2, 3),
                of("unequal strides 2,3", shape(1, 1, 6, 9), shape(1, 1, 2, 3), d.withStride(2, 3), 3, 3),
                of("stride 3,1, asymmetric padding 1,0,2,1", shape(2, 2, 5, 6), shape(3, 2, 3, 3),
                        d.withStride(3, 1).withPadding(Padding.of(1, 0, 2, 1)), 2, 7),
                of("padding 4 larger than the kernel extent 3", shape(1, 1, 4, 4), shape(1, 1, 3, 3),
                        d.withPadding(Padding.of(4)), 10, 10),
                of("one-sided padding 3,0,0,3 larger than the extent 2", shape(1, 1, 3, 3), shape(1, 1, 2, 2),
                        d.withPadding(Padding.of(3, 0, 0, 3)), 5, 5),
                of("dilation 2", shape(1, 1, 7, 7), shape(1, 1, 3, 3), d.withDilation(2), 3, 3),
                of("dilation 2,1, stride 2, padding 1", shape(1, 2, 8, 9), shape(2, 2, 3, 2),
                        d.withDilation(2, 1).withStride(2).withPadding(Padding.of(1)), 3, 5),
                of("groups 2", shape(1, 4, 5, 5), shape(4, 2, 3, 3), d.withGroups(2), 3, 3),
                of("groups 2, 3 filters per group", shape(1, 4, 5, 5), shape(6, 2, 2, 2), d.withGroups(2), 4, 4),
                of("depthwise, same padding", shape(1, 3, 5, 5), shape(3, 1, 3, 3),
                        d.withGroups(3).withPadding(Padding.same()), 5, 5),
                of("depthwise with multiplier 2, stride 2, padding 1", shape(1, 2, 6, 6), shape(4, 1, 3, 3),
                        d.withGroups(2).withStride(2).withPadding(Padding.of(1)), 3, 3),
                of("batch 2, padding 1", shape(2, 2, 5, 5), shape(3, 2, 3, 3), d.withPadding(Padding.of(1)), 5, 5),
                of("kernel 5x6 larger than input 4x5, padding 2,3", shape(2, 3, 4, 5), shape(2, 3, 5, 6),
                        d.withPadding(Padding.of(2, 3)), 4, 6),
                of("kernel 3x3 larger than input 2x2, padding 1", shape(1, 1, 2, 2), shape(1, 1, 3, 3),
                        d.withPadding(Padding.of(1)), 2, 2),
                of("same padding, stride 2, odd total", shape(1, 2, 6, 7), shape(2, 2, 3, 3),
                        d.withStride(2).withPadding(Padding.same()), 3, 4),
                of("same padding, dilation 2", shape(1, 1, 6, 6), shape(1, 1, 3, 3),
                        d.withDilation(2).withPadding(Padding.same()), 6, 6),
                of("batch 2, groups 2, strides 2,3, dilation 2,1, padding 0,2,1,0", shape(2, 4, 9, 8), shape(2, 2, 3, 2),
                        d.withGroups(2).withStride(2, 3).withDilation(2, 1).withPadding(Padding.of(0, 2, 1, 0)), 4, 3),
                of("1x1 kernel, stride 2", shape(1, 3, 5, 5), shape(2, 3, 1, 1), d.withStride(2), 3, 3),
                of("stride 3 > kernel 2: pixels never read", shape(1, 1, 7, 7), shape(1, 1, 2, 2), d.withStride(3), 2, 2),
                of("dilated kernel larger than input, padding 2,1,0,0", shape(1, 1, 3, 6), shape(1, 1, 2, 2),
                        d.withDilation(3).withPadding(Padding.of(2, 1, 0, 0)), 3, 3));
    }

    /** Operands of one case, uniform in [-1, 1], the same on every run. */
    record Operands(double[] x, double[] w, double[] b, double[] gradOutput) {
        static Operands random(Conv2dGeometry g, long seed) {
            Random random = new Random(seed);
            return new Operands(uniform(random, count(g.inputShape())), uniform(random, count(g.weightShape())),
                    uniform(random, g.k()), uniform(random, count(g.outputShape())));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void referenceGradientsMatchCentralDifferences(Case c) {
        Conv2dGeometry g = c.geometry();
        assertArrayEquals(new int[] {c.input()[0], c.weight()[0], c.outH(), c.outW()}, g.outputShape(), "geometry");
        Operands o = Operands.random(g, c.name().hashCode());

        double[] dx = Reference.backwardData(g, o.gradOutput(), o.w());
        double[] dw = Reference.backwardWeights(g, o.x(), o.gradOutput());
        double[] db = Reference.backwardBias(g, o.gradOutput());

        assertClose("dX", centralDifferences(o.x(), x -> loss(g, x, o.w(), o.b(), o.gradOutput())), dx);
        assertClose("dW", centralDifferences(o.w(), w -> loss(g, o.x(), w, o.b(), o.gradOutput())), dw);
        assertClose("db", centralDifferences(o.b(), b -> loss(g, o.x(), o.w(), b, o.gradOutput())), db);
    }

    /**
     * The adjoint ("dot-product") identities tie the forward pass to the backward passes directly:
     * {@code <G, forward(X, W, 0)> = <backwardData(G, W), X> = <backwardWeights(X, G), W>} and
     * {@code <G, forward(0, 0, b)> = <backwardBias(G), b>}. They hold exactly in real arithmetic; in
     * double the three sums differ by rounding only, bounded by ~n u sum|terms| (n <= 10^4 terms,
     * u = 2^-53), so 1e-12 times sum|terms| is a safe bound.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardAndBackwardPassesAreAdjoint(Case c) {
        Conv2dGeometry g = c.geometry();
        Operands o = Operands.random(g, c.name().hashCode() + 1L);
        double forward = dot(o.gradOutput(), Reference.forward(g, o.x(), o.w(), null));
        double data = dot(Reference.backwardData(g, o.gradOutput(), o.w()), o.x());
        double weights = dot(Reference.backwardWeights(g, o.x(), o.gradOutput()), o.w());
        double scale = dot(abs(o.gradOutput()), Reference.forward(g, abs(o.x()), abs(o.w()), null));
        assertTrue(scale > 0, "the case must have terms that touch real pixels");
        assertEquals(forward, data, 1e-12 * scale, "<G, W*X> = <dX, X>");
        assertEquals(forward, weights, 1e-12 * scale, "<G, W*X> = <dW, W>");

        double[] zeroX = new double[o.x().length];
        double[] zeroW = new double[o.w().length];
        double bias = dot(o.gradOutput(), Reference.forward(g, zeroX, zeroW, o.b()));
        assertEquals(bias, dot(Reference.backwardBias(g, o.gradOutput()), o.b()),
                1e-12 * dot(abs(o.gradOutput()), Reference.forward(g, zeroX, zeroW, abs(o.b()))),
                "<G, b> = <db, b>");
    }

    /** The check must be able to fail: a gradient with one element off by 1e-6 is rejected. */
    @Test
    void theComparisonRejectsASmallError() {
        Case c = cases().findFirst().orElseThrow();
        Conv2dGeometry g = c.geometry();
        Operands o = Operands.random(g, 7);
        double[] fd = centralDifferences(o.x(), x -> loss(g, x, o.w(), o.b(), o.gradOutput()));
        double[] dx = Reference.backwardData(g, o.gradOutput(), o.w());
        assertClose("dX", fd, dx);
        dx[dx.length / 2] += 1e-6;
        assertThrows(AssertionFailedError.class, () -> assertClose("dX", fd, dx));
    }

    // ---------------------------------------------------------------------------------------------
    // The float facade: Conv2d on float tensors, against the same double-precision differences.
    // ---------------------------------------------------------------------------------------------

    /** Runs the channel-blocked kernels of every pass (a partial last block, stride phases), at 8 or 16 lanes. */
    static final Case BLOCKED_CASE = of("17 channels to 16, stride 2, padding 1: the blocked kernels",
            shape(1, 17, 9, 8), shape(16, 17, 3, 3), Conv2dOptions.defaults().withStride(2).withPadding(Padding.of(1)), 5, 4);

    @Test
    void theBlockedCaseRunsTheBlockedKernels() {
        Conv2d conv = conv(Implementation.SIMD, BLOCKED_CASE.options());
        for (Conv2dPass pass : Conv2dPass.values()) {
            String kernel = conv.kernelName(pass, BLOCKED_CASE.input(), BLOCKED_CASE.weight());
            assertTrue(kernel.contains("/blocked-"), pass + " runs " + kernel);
        }
    }

    private static final int LANES = ConvCase.LANES;

    /**
     * Runs the blocked kernels that stage four blocks per pixel (forward and backward-data): four
     * blocks of input channels, the last partial, and four of output channels; stride 2, padding 1.
     */
    static final Case FOUR_BLOCKS_CASE = of("four blocks of channels, the last partial, stride 2: the b4 kernels",
            shape(1, 3 * LANES + 1, 5, 4), shape(3 * LANES + 2, 3 * LANES + 1, 3, 3),
            Conv2dOptions.defaults().withStride(2).withPadding(Padding.of(1)), 3, 2);

    @Test
    void theFourBlocksCaseStagesFourBlocksPerPixel() {
        Conv2d conv = conv(Implementation.SIMD, FOUR_BLOCKS_CASE.options());
        for (Conv2dPass pass : List.of(Conv2dPass.FORWARD, Conv2dPass.BACKWARD_DATA)) {
            String kernel = conv.kernelName(pass, FOUR_BLOCKS_CASE.input(), FOUR_BLOCKS_CASE.weight());
            assertTrue(kernel.endsWith("/blocked-direct-2x4-b4"), pass + " runs " + kernel);
        }
    }

    /**
     * Runs the blocked weight gradient over five blocks of filters (the last partial) in one task per
     * item, so that a four-block tile occurs where there are 32 vector registers; 9 channels, a 2x1
     * kernel and stride 2 (small planes at stride 1 go to the flat-plane kernel) keep the central
     * differences cheap.
     */
    static final Case MANY_FILTER_BLOCKS_CASE = of("five blocks of filters, 9 channels, stride 2: the four-block weight gradient",
            shape(2, 9, 5, 6), shape(4 * LANES + 3, 9, 2, 1),
            Conv2dOptions.defaults().withStride(2).withPadding(Padding.of(1)), 3, 4);

    @Test
    void theManyFilterBlocksCaseRunsTheBlockedWeightGradient() {
        Conv2d conv = conv(Implementation.SIMD, MANY_FILTER_BLOCKS_CASE.options());
        String kernel = conv.kernelName(Conv2dPass.BACKWARD_WEIGHTS, MANY_FILTER_BLOCKS_CASE.input(),
                MANY_FILTER_BLOCKS_CASE.weight());
        assertTrue(kernel.endsWith("/blocked-weight-gradient-2x4"), "backward-weights runs " + kernel);
    }

    /** Runs the depthwise kernel of every pass: a channel tail over the lanes, stride 2 (phases), padding 1. */
    static final Case DEPTHWISE_CASE = of("depthwise, 11 channels, stride 2, padding 1: the depthwise kernel",
            shape(2, 11, 7, 6), shape(11, 1, 3, 3),
            Conv2dOptions.defaults().withGroups(11).withStride(2).withPadding(Padding.of(1)), 4, 3);

    @Test
    void theDepthwiseCaseRunsTheDepthwiseKernel() {
        Conv2d conv = conv(Implementation.SIMD, DEPTHWISE_CASE.options());
        for (Conv2dPass pass : Conv2dPass.values()) {
            String kernel = conv.kernelName(pass, DEPTHWISE_CASE.input(), DEPTHWISE_CASE.weight());
            assertTrue(kernel.endsWith("/depthwise-blocked-4"), pass + " runs " + kernel);
        }
    }

    /**
     * The central differences (dX, dW, db) of each facade case: they depend on the case alone (its
     * operands come from a seed of its name), not on the implementation, so both implementations are
     * checked against one computation. It is the costly part: two loss evaluations per operand.
     */
    private static final Map<String, double[][]> FACADE_DIFFERENCES = new ConcurrentHashMap<>();

    /**
     * Runs the flat-plane kernel (forward and backward-weights) at any vector width: one channel to
     * six (a block of four and two single channels), stride 1, padding 1.
     */
    static final Case FLAT_CASE = of("1 channel to 6, stride 1, padding 1: the flat-plane kernel",
            shape(2, 1, 9, 11), shape(6, 1, 3, 3), Conv2dOptions.defaults().withPadding(Padding.of(1)), 9, 11);

    /** Runs the depthwise 3x3 stride-1 tiles (shared input loads, all nine taps in one sweep). */
    static final Case DEPTHWISE_3X3_CASE = of("depthwise 3x3, 19 channels, stride 1, padding 1: the 3x3 tiles",
            shape(2, 19, 10, 12), shape(19, 1, 3, 3),
            Conv2dOptions.defaults().withGroups(19).withPadding(Padding.of(1)), 10, 12);

    /**
     * A first layer: three plain channels into four blocks of filters, stride 2, padding 2: with
     * 512-bit vectors the plain-input kernel of forward and backward-weights.
     */
    static final Case FIRST_LAYER_CASE = of("3 channels to 4 blocks, 5x5, stride 2, padding 2: the plain-input kernel",
            shape(1, 3, 13, 12), shape(4 * LANES, 3, 5, 5),
            Conv2dOptions.defaults().withStride(2).withPadding(Padding.of(2)), 7, 6);

    /**
     * A 1x1 layer of two blocks into three, 7x11 (77 pixels: tiles of six and of three vectors
     * with tails): with 512-bit vectors the pointwise kernel of every pass.
     */
    static final Case POINTWISE_CASE = of("1x1, 2 blocks to 3, 7x11: the pointwise kernel",
            shape(2, 2 * LANES, 7, 11), shape(3 * LANES, 2 * LANES, 1, 1), Conv2dOptions.defaults(), 7, 11);

    /**
     * A kernel as large as its input, no padding, 21 channels to 5 in 3x2: one output pixel per
     * item, a fully connected layer written as a convolution.
     */
    static final Case FULLY_CONNECTED_CASE = of("3x2 kernel over a 3x2 input, 21 channels to 5: the fully connected kernel",
            shape(3, 21, 3, 2), shape(5, 21, 3, 2), Conv2dOptions.defaults(), 1, 1);

    @Test
    void theFullyConnectedCaseRunsTheFullyConnectedKernel() {
        Conv2d conv = conv(Implementation.SIMD, FULLY_CONNECTED_CASE.options());
        for (Conv2dPass pass : Conv2dPass.values()) {
            String kernel = conv.kernelName(pass, FULLY_CONNECTED_CASE.input(), FULLY_CONNECTED_CASE.weight());
            assertTrue(kernel.endsWith("/fully-connected"), pass + " runs " + kernel);
        }
    }

    @Test
    void thePointwiseCaseRunsThePointwiseKernelWith512BitVectors() {
        Conv2d conv = conv(Implementation.SIMD, POINTWISE_CASE.options());
        boolean wide = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
        for (Conv2dPass pass : Conv2dPass.values()) {
            String kernel = conv.kernelName(pass, POINTWISE_CASE.input(), POINTWISE_CASE.weight());
            assertEquals(wide, kernel.endsWith("/pointwise-1x1"), pass + " runs " + kernel);
        }
    }

    @Test
    void theFirstLayerCaseRunsThePlainInputKernelWith512BitVectors() {
        Conv2d conv = conv(Implementation.SIMD, FIRST_LAYER_CASE.options());
        boolean wide = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
        for (Conv2dPass pass : List.of(Conv2dPass.FORWARD, Conv2dPass.BACKWARD_WEIGHTS)) {
            String kernel = conv.kernelName(pass, FIRST_LAYER_CASE.input(), FIRST_LAYER_CASE.weight());
            assertEquals(wide, kernel.endsWith("/plain-input-4x6"), pass + " runs " + kernel);
        }
    }

    @Test
    void theFlatAndDepthwiseCasesRunTheirKernels() {
        Conv2d flat = conv(Implementation.SIMD, FLAT_CASE.options());
        for (Conv2dPass pass : List.of(Conv2dPass.FORWARD, Conv2dPass.BACKWARD_WEIGHTS)) {
            String kernel = flat.kernelName(pass, FLAT_CASE.input(), FLAT_CASE.weight());
            assertTrue(kernel.endsWith("/flat-plane-4x4"), pass + " runs " + kernel);
        }
        Conv2d depthwise = conv(Implementation.SIMD, DEPTHWISE_3X3_CASE.options());
        for (Conv2dPass pass : Conv2dPass.values()) {
            String kernel = depthwise.kernelName(pass, DEPTHWISE_3X3_CASE.input(), DEPTHWISE_3X3_CASE.weight());
            assertTrue(kernel.endsWith("/depthwise-blocked-4"), pass + " runs " + kernel);
        }
    }

    static Stream<Arguments> facadeCases() {
        Conv2dOptions d = Conv2dOptions.defaults();
        Case[] chosen = {
                of("batch 2, groups 2, strides 2,3, dilation 2,1, padding 0,2,1,0", shape(2, 4, 9, 8), shape(2, 2, 3, 2),
                        d.withGroups(2).withStride(2, 3).withDilation(2, 1).withPadding(Padding.of(0, 2, 1, 0)), 4, 3),
                of("depthwise with multiplier 2, same padding", shape(2, 2, 7, 6), shape(4, 1, 3, 3),
                        d.withGroups(2).withPadding(Padding.same()), 7, 6),
                of("8 channels, 12x10, padding 1: rows longer than a vector", shape(1, 8, 12, 10), shape(4, 8, 3, 3),
                        d.withPadding(Padding.of(1)), 12, 10),
                BLOCKED_CASE,
                FOUR_BLOCKS_CASE,
                MANY_FILTER_BLOCKS_CASE,
                DEPTHWISE_CASE,
                FLAT_CASE,
                DEPTHWISE_3X3_CASE,
                FIRST_LAYER_CASE,
                POINTWISE_CASE,
                FULLY_CONNECTED_CASE,
        };
        return Stream.of(Implementation.SCALAR, Implementation.SIMD)
                .flatMap(impl -> Stream.of(chosen).map(c -> Arguments.of(impl, c)));
    }

    /**
     * Float results through {@link Conv2d}, against the double finite differences of L on the same
     * (float-valued) operands. A float sum of T products, in any order and with or without FMA, is off
     * from the exact sum by at most {@code gamma_T * sum|products|} with {@code gamma_T = T u / (1 - T u)},
     * {@code u = 2^-24}; the sum of |products| is the same pass run on absolute values. The finite
     * differences themselves are good to 1e-8 (see {@link #TOLERANCE}). The scalar path widens to
     * double and rounds once, so it must also equal the rounded double reference exactly.
     */
    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("facadeCases")
    void floatFacadeMatchesCentralDifferences(Implementation impl, Case c) {
        Conv2dGeometry g = c.geometry();
        assertArrayEquals(new int[] {c.input()[0], c.weight()[0], c.outH(), c.outW()}, g.outputShape(), "geometry");
        Random random = new Random(c.name().hashCode());
        float[] x = uniformFloats(random, count(g.inputShape()));
        float[] w = uniformFloats(random, count(g.weightShape()));
        float[] b = uniformFloats(random, g.k());
        float[] gradOut = uniformFloats(random, count(g.outputShape()));
        double[] xd = widen(x), wd = widen(w), bd = widen(b), gd = widen(gradOut);

        Conv2d conv = conv(impl, c.options());
        float[] y = new float[gradOut.length];
        float[] dx = new float[x.length];
        float[] dw = new float[w.length];
        float[] db = new float[b.length];
        Tensor input = Tensor.wrap(x, c.input());
        Tensor weight = Tensor.wrap(w, c.weight());
        Tensor gradOutput = Tensor.wrap(gradOut, g.outputShape());
        conv.forward(input, weight, Tensor.wrap(b, g.k()), Tensor.wrap(y, g.outputShape()));
        conv.backwardData(gradOutput, weight, Tensor.wrap(dx, c.input()), Accumulation.OVERWRITE);
        conv.backwardWeights(input, gradOutput, Tensor.wrap(dw, c.weight()), Tensor.wrap(db, g.k()),
                Accumulation.OVERWRITE);

        long planeTerms = (long) g.n() * g.outH() * g.outW();
        assertWithinFloatBound("forward", Reference.forward(g, xd, wd, bd), y,
                Reference.forward(g, abs(xd), abs(wd), abs(bd)), (long) g.channelsPerGroup() * g.r() * g.s() + 1);
        double[][] fd = FACADE_DIFFERENCES.computeIfAbsent(c.name(), name -> new double[][] {
                centralDifferences(xd, v -> loss(g, v, wd, bd, gd)),
                centralDifferences(wd, v -> loss(g, xd, v, bd, gd)),
                centralDifferences(bd, v -> loss(g, xd, wd, v, gd))});
        assertWithinFloatBound("dX", fd[0], dx,
                Reference.backwardData(g, abs(gd), abs(wd)), (long) g.filtersPerGroup() * g.r() * g.s());
        assertWithinFloatBound("dW", fd[1], dw,
                Reference.backwardWeights(g, abs(xd), abs(gd)), planeTerms);
        assertWithinFloatBound("db", fd[2], db,
                Reference.backwardBias(g, abs(gd)), planeTerms);

        if (impl == Implementation.SCALAR) {
            assertEquals(Reference.SCALAR_NAME, conv.kernelsName());
            assertArrayEquals(rounded(Reference.forward(g, xd, wd, bd)), y, 0f, "forward, rounded once");
            assertArrayEquals(rounded(Reference.backwardData(g, gd, wd)), dx, 0f, "dX, rounded once");
            assertArrayEquals(rounded(Reference.backwardWeights(g, xd, gd)), dw, 0f, "dW, rounded once");
            assertArrayEquals(rounded(Reference.backwardBias(g, gd)), db, 0f, "db, rounded once");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------

    /** {@code L = sum(G .* forward(X, W, b))}, in double. */
    static double loss(Conv2dGeometry g, double[] x, double[] w, double[] b, double[] gradOutput) {
        return dot(gradOutput, Reference.forward(g, x, w, b));
    }

    static double[] centralDifferences(double[] v, ToDoubleFunction<double[]> loss) {
        return centralDifferences(v, H, loss);
    }

    /** {@code (L(v + h e_i) - L(v - h e_i)) / 2h} for every i; {@code v} is restored afterwards. */
    public static double[] centralDifferences(double[] v, double h, ToDoubleFunction<double[]> loss) {
        double[] gradient = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            double saved = v[i];
            v[i] = saved + h;
            double plus = loss.applyAsDouble(v);
            v[i] = saved - h;
            double minus = loss.applyAsDouble(v);
            v[i] = saved;
            gradient[i] = (plus - minus) / (2 * h);
        }
        return gradient;
    }

    /** |analytic - fd| <= 1e-8 max(1, |fd|) for every element; reports the worst one. */
    static void assertClose(String what, double[] finiteDifferences, double[] analytic) {
        assertEquals(finiteDifferences.length, analytic.length, what + ": length");
        for (int i = 0; i < analytic.length; i++) {
            double error = Math.abs(analytic[i] - finiteDifferences[i]);
            if (!(error <= TOLERANCE * Math.max(1, Math.abs(finiteDifferences[i])))) {
                fail(what + "[" + i + "] = " + analytic[i] + " but the central difference is " + finiteDifferences[i]
                        + " (error " + error + ")");
            }
        }
    }

    static void assertWithinFloatBound(String what, double[] exact, float[] actual, double[] absoluteSums, long terms) {
        double u = Math.ulp(1f) / 2;
        double gamma = terms * u / (1 - terms * u);
        assertEquals(exact.length, actual.length, what + ": length");
        for (int i = 0; i < actual.length; i++) {
            double bound = gamma * absoluteSums[i] + TOLERANCE * Math.max(1, Math.abs(exact[i]));
            double error = Math.abs(actual[i] - exact[i]);
            if (!(error <= bound)) {
                fail(what + "[" + i + "] = " + actual[i] + ", expected " + exact[i] + " within " + bound
                        + " (error " + error + ")");
            }
        }
    }

    public static double dot(double[] a, double[] b) {
        assertEquals(a.length, b.length);
        double sum = 0;
        for (int i = 0; i < a.length; i++) {
            sum += a[i] * b[i];
        }
        return sum;
    }

    static double[] abs(double[] v) {
        double[] out = new double[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Math.abs(v[i]);
        }
        return out;
    }

    public static int count(int[] shape) {
        int n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    static double[] uniform(Random random, int n) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = 2 * random.nextDouble() - 1;
        }
        return v;
    }

    static float[] uniformFloats(Random random, int n) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = 2 * random.nextFloat() - 1;
        }
        return v;
    }

    static float[] rounded(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }
}
