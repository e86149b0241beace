package org.simdconv.jmh;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2d;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.conv.Conv2dPlan;
import org.simdconv.conv.Implementation;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * Time of one pass of one shape of {@code conv-shapes.csv}, on the public NCHW entry points.
 * GFLOP/s = {@code 2 N K (C/g) R S Ho Wo} / time, the same nominal count for every pass (printed by
 * {@link #printFlops} at set-up, so reports can convert). {@code simdconv bench}
 * ({@link org.simdconv.jmh.report.BenchCommand}) runs this benchmark and makes the report.
 *
 * <p>Passes: {@code fwd}, {@code fwd_nchw}, {@code bwd_data}, {@code bwd_weights}, all on one
 * {@link Conv2dPlan} (a layer's convolution: kernels chosen once, weights packed once). {@code fwd},
 * {@code bwd_data} and {@code bwd_weights} take activations in the layout the plan prefers,
 * converted once at set-up (oneDNN's primitives on their chosen layouts); {@code fwd_nchw} takes
 * plain NCHW tensors, the plan's reorders timed with the pass (oneDNN's {@code fwd_e2e}).
 *
 * <p>Every call is timed ({@code Mode.SampleTime}) and reports use the median, the statistic
 * oneDNN's harness reports: on this shared machine a few iterations run 50% slower now and then
 * (another tenant), which moves a mean but not a median.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "-Xmx4g"})
public class ConvPassBenchmark {

    @Param({"seed_conv1", "seed_conv2", "resnet_stem_7x7s2", "resnet_3x3", "resnet_3x3s2", "resnet_1x1",
            "resnet_3x3_deep", "mobilenet_dw3x3"})
    public String shape;

    /** The ids of {@link org.simdconv.jmh.report.Pass}, in its order. */
    @Param({"fwd", "fwd_nchw", "bwd_data", "bwd_weights"})
    public String pass;

    @Param({"simd"})
    public String impl;

    @Param({"1", "2"})
    public int threads;

    /**
     * The activations and gradients: {@code normal} (uniform in [-1, 1]), or {@code subnormal}, the
     * same scaled by 1e-38 so that nearly every one, and every product, is a subnormal float (the
     * JVM offers no flush-to-zero; this measures what they cost each pass).
     */
    @Param({"normal"})
    public String values;

    private Arena arena;
    private ForkJoinPool pool;
    private Conv2dPlan plan;
    private Tensor input, weight, bias, output, gradWeight, gradBias;
    private Tensor preferredInput, preferredOutput, preferredGradOutput, preferredGradInput;

    @Setup(Level.Trial)
    public void setUp() {
        ConvShape s = ConvShape.named(shape);
        Conv2dGeometry g = s.geometry();
        pool = new ForkJoinPool(threads);
        Conv2d conv = Conv2d.create(s.options())
                .withImplementation(impl.equals("scalar") ? Implementation.SCALAR : Implementation.SIMD)
                .withParallelism(Parallelism.on(pool));
        plan = conv.plan(g);
        arena = Arena.ofShared();
        Random random = new Random(1);
        float scale = switch (values) {
            case "normal" -> 1f;
            case "subnormal" -> 1e-38f;
            default -> throw new IllegalArgumentException("values must be normal or subnormal, got " + values);
        };
        input = random(g.inputShape(), random, scale);
        weight = random(g.weightShape(), random, 1f);
        bias = random(g.biasShape(), random, scale);
        Tensor gradOutput = random(g.outputShape(), random, scale);
        output = Tensor.allocate(arena, g.outputShape());
        gradWeight = Tensor.allocate(arena, g.weightShape());
        gradBias = Tensor.allocate(arena, g.biasShape());
        Layout in = plan.preferredLayout(g.c()), out = plan.preferredLayout(g.k());
        preferredInput = Tensor.allocate(arena, in, g.inputShape());
        input.copyTo(preferredInput);
        preferredGradOutput = Tensor.allocate(arena, out, g.outputShape());
        gradOutput.copyTo(preferredGradOutput);
        preferredOutput = Tensor.allocate(arena, out, g.outputShape());
        preferredGradInput = Tensor.allocate(arena, in, g.inputShape());
        printFlops(s, g);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
        pool.close();
    }

    @Benchmark
    public Tensor run() {
        switch (pass) {
            case "fwd" -> plan.forward(preferredInput, weight, bias, preferredOutput);
            case "fwd_nchw" -> plan.forward(input, weight, bias, output);
            case "bwd_data" -> plan.backwardData(preferredGradOutput, weight, preferredGradInput, Accumulation.OVERWRITE);
            case "bwd_weights" -> plan.backwardWeights(preferredInput, preferredGradOutput, gradWeight, gradBias,
                    Accumulation.OVERWRITE);
            default -> throw new IllegalArgumentException("pass must be fwd, fwd_nchw, bwd_data or bwd_weights, got " + pass);
        }
        return output;
    }

    private Tensor random(int[] shape, Random random, float scale) {
        Tensor t = Tensor.allocate(arena, shape);
        float[] values = new float[(int) t.elementCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (random.nextFloat() * 2 - 1) * scale;
        }
        return t.copyFrom(values);
    }

    private static void printFlops(ConvShape s, Conv2dGeometry g) {
        System.out.println("# flops " + s.name() + " " + g.flops());
    }
}
