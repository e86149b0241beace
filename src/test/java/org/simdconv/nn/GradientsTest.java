package org.simdconv.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.simdconv.conv.FiniteDifferenceTest.centralDifferences;
import static org.simdconv.conv.FiniteDifferenceTest.count;
import static org.simdconv.conv.FiniteDifferenceTest.dot;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.opentest4j.AssertionFailedError;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Implementation;
import org.simdconv.conv.Padding;
import org.simdconv.nn.DoubleNetwork.AvgPoolSpec;
import org.simdconv.nn.DoubleNetwork.ConvSpec;
import org.simdconv.nn.DoubleNetwork.FlattenSpec;
import org.simdconv.nn.DoubleNetwork.LinearSpec;
import org.simdconv.nn.DoubleNetwork.MaxPoolSpec;
import org.simdconv.nn.DoubleNetwork.ReluSpec;
import org.simdconv.nn.DoubleNetwork.Spec;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * Every layer's backward pass, and a whole network's, against central finite differences of the
 * same network computed in double precision ({@link DoubleNetwork}, the seeds' formulas written out
 * plainly): the forward pass is all the differences trust, so a backward pass that disagrees with
 * its forward pass fails here, whatever the kernels.
 *
 * <p>Each layer is checked behind a small convolution (or dense layer) whose weight gradient is
 * {@code sum(dX * input)}: it is right only if the layer's input gradient {@code dX} is, so the
 * differences with respect to those weights check the layer's backward-data as well. Each case runs
 * on both implementations, and on both layouts of the activations (3 channels stay plain, 20 are
 * channel-blocked); a ReLU before a max pooling is checked as the pair it is computed as.
 *
 * <p>Tolerance. The differences use {@code h = 1e-6} in double: the layers are piecewise bilinear,
 * so away from a kink of ReLU or max pooling (random data puts none within {@code h}) they have no
 * truncation error, and the rounding of two double losses, ~1e-16 of the loss, becomes ~1e-10 after
 * dividing by {@code 2h}. What remains is simdconv's float arithmetic: activations rounded to float
 * at each layer (relative 6e-8, grown by sums of at most a few hundred terms) give gradients within
 * ~1e-5 of their largest magnitude. The check allows {@value #RELATIVE} of the largest gradient of
 * the parameter, ten times that, and {@link #aWrongGradientFails()} shows an error of 1e-3 fails.
 */
class GradientsTest {

    static final double H = 1e-6;
    static final double RELATIVE = 1e-4;

    private static final Conv2dOptions ONE = Conv2dOptions.defaults();

    static Stream<Arguments> layers() {
        List<Arguments> out = new ArrayList<>();
        for (int channels : new int[] {3, 20}) {
            List<List<Spec>> layers = List.of(List.of(new ReluSpec()), List.of(new MaxPoolSpec(2, 2, 0)),
                    List.of(new MaxPoolSpec(3, 2, 1)), List.of(new ReluSpec(), new MaxPoolSpec(3, 2, 1)),
                    List.of(new AvgPoolSpec(2, 2, 0)), List.of(new AvgPoolSpec(3, 1, 1)),
                    List.of(new ConvSpec(channels, 5, 3, ONE.withStride(2).withPadding(Padding.of(1)))),
                    List.of(new ConvSpec(channels, 17, 3, ONE.withPadding(Padding.of(1)))));
            for (List<Spec> layer : layers) {
                for (Implementation impl : List.of(Implementation.SCALAR, Implementation.SIMD)) {
                    out.add(Arguments.of(layer, channels, impl));
                }
            }
        }
        for (Implementation impl : List.of(Implementation.SCALAR, Implementation.SIMD)) {
            out.add(Arguments.of(List.of(new LinearSpec(37, 19)), 0, impl));
            out.add(Arguments.of(List.of(new FlattenSpec()), 20, impl));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} on {1} channels, {2}")
    @MethodSource("layers")
    void everyLayerMatchesFiniteDifferences(List<Spec> layer, int channels, Implementation impl) {
        // A first layer whose weight gradient depends on the tested layer's input gradient.
        Spec front = channels == 0 ? new LinearSpec(37, 37) : new ConvSpec(channels, channels, 1, ONE);
        int[] input = channels == 0 ? new int[] {3, 37} : new int[] {2, channels, 7, 6};
        List<Spec> specs = new ArrayList<>(List.of(front));
        specs.addAll(layer); // a ReLU before a max pooling runs fused into it
        DoubleNetwork net = new DoubleNetwork(specs.toArray(Spec[]::new));
        Random random = new Random(layer.hashCode() * 31L + channels);
        try (Arena arena = Arena.ofShared();
             Sequential model = net.model(new Execution(impl, Parallelism.serial()))) {
            model.initialize(random.nextLong());
            double[] x = gaussian(random, count(input));
            int[] outShape = model.outputShape(input);
            double[] g = gaussian(random, count(outShape));
            Tensor output = model.forward(Tensor.allocate(arena, input).copyFrom(floats(x)));
            Tensor grad = Tensor.allocate(arena, output.layout(), outShape);
            Tensor.allocate(arena, outShape).copyFrom(floats(g)).copyTo(grad);
            model.backward(grad);

            Map<String, double[]> parameters = DoubleNetwork.parameters(model);
            double[] y = net.forward(x, input, parameters);
            float[] actual = output.toArray();
            for (int i = 0; i < y.length; i++) {
                assertEquals(y[i], actual[i], 1e-5 * (1 + Math.abs(y[i])), "forward output " + i);
            }
            for (Parameter p : model.parameters()) {
                double[] values = parameters.get(p.name());
                double[] fd = centralDifferences(values, H, v -> dot(g, net.forward(x, input, parameters)));
                assertClose(p.name() + " of " + layer, fd, p.grad().toArray());
            }
        }
    }

    /** The seed's typical network, smaller, with both poolings and a blocked middle: loss gradients of all parameters. */
    @ParameterizedTest(name = "{0}")
    @MethodSource("implementations")
    void aWholeNetworkMatchesFiniteDifferencesOfItsLoss(Implementation impl) {
        DoubleNetwork net = new DoubleNetwork(
                new ConvSpec(1, 4, 3, ONE), new ReluSpec(), new MaxPoolSpec(2, 2, 0),
                new ConvSpec(4, 20, 3, ONE.withPadding(Padding.of(1))), new ReluSpec(), new AvgPoolSpec(2, 2, 0),
                new FlattenSpec(), new LinearSpec(180, 16), new ReluSpec(), new LinearSpec(16, 5));
        int[] input = {3, 1, 14, 14};
        int[] labels = {4, 0, 2};
        Random random = new Random(17);
        try (Arena arena = Arena.ofShared();
             Sequential model = net.model(new Execution(impl, Parallelism.on(new java.util.concurrent.ForkJoinPool(2))));
             CrossEntropyLoss loss = new CrossEntropyLoss()) {
            model.initialize(5);
            double[] x = gaussian(random, count(input));
            Tensor logits = model.forward(Tensor.allocate(arena, input).copyFrom(floats(x)));
            double value = loss.forward(logits, labels);
            model.backward(loss.backward());

            Map<String, double[]> parameters = DoubleNetwork.parameters(model);
            assertEquals(DoubleNetwork.crossEntropy(net.forward(x, input, parameters), labels), value, 1e-5 * value,
                    "loss");
            for (Parameter p : model.parameters()) {
                double[] fd = centralDifferences(parameters.get(p.name()), H,
                        v -> DoubleNetwork.crossEntropy(net.forward(x, input, parameters), labels));
                assertClose(p.name(), fd, p.grad().toArray());
            }
        }
    }

    static Stream<Implementation> implementations() {
        return Stream.of(Implementation.SCALAR, Implementation.SIMD);
    }

    @Test
    void aWrongGradientFails() {
        double[] expected = {1.0, -0.5, 0.25, 0.0};
        float[] right = {1.0f, -0.5f, 0.25f, 0.0f};
        assertClose("right", expected, right);
        float[] wrong = right.clone();
        wrong[2] += 1e-3f;
        assertThrows(AssertionFailedError.class, () -> assertClose("wrong", expected, wrong));
    }

    /** Every element within {@value #RELATIVE} of the largest expected magnitude. */
    static void assertClose(String what, double[] expected, float[] actual) {
        assertEquals(expected.length, actual.length, what + ": length");
        double scale = 0;
        for (double e : expected) {
            scale = Math.max(scale, Math.abs(e));
        }
        assertTrue(scale > 0, what + ": the case must have a gradient");
        for (int i = 0; i < expected.length; i++) {
            double error = Math.abs(actual[i] - expected[i]);
            if (!(error <= RELATIVE * scale)) {
                throw new AssertionFailedError(what + ": element " + i + " is " + actual[i] + ", finite differences "
                        + expected[i] + " (error " + error + " > " + RELATIVE + " x " + scale + ")");
            }
        }
    }

    static double[] gaussian(Random random, int n) {
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) random.nextGaussian(); // exactly representable in float
        }
        return out;
    }

    static float[] floats(double[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) v[i];
        }
        return out;
    }
}
