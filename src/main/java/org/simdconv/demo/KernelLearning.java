package org.simdconv.demo;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Implementation;
import org.simdconv.nn.Conv2d;
import org.simdconv.nn.Execution;
import org.simdconv.nn.Layer;
import org.simdconv.nn.MSELoss;
import org.simdconv.nn.SGD;
import org.simdconv.nn.Sequential;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * The kernel-learning demo of seed 001, section 17.3.7: gradient descent finds the horizontal-edge
 * kernel again, given only an image and the image filtered with that kernel.
 *
 * <h2>The problem</h2>
 * <ul>
 *   <li>Input {@code x}: an 80x80 grayscale image in [0, 1] ({@link #image()}).</li>
 *   <li>True kernel (seed Table 17-1, "horizontal edge", lines 689-695):
 *       {@code [[0,-1,0],[0,2,0],[0,-1,0]]}, no bias ({@code b = 0}, never trained, line 710).</li>
 *   <li>Target {@code y = x * w_true}: VALID, stride 1, so 78x78. {@code m = 78*78 = 6084} output
 *       pixels.</li>
 * </ul>
 *
 * <h2>One step, as the seed's {@code train} does it (lines 729-751), on simdconv's layers</h2>
 * <pre>
 *   z    = x * w                                 model.forward: one Conv2d layer, 1 filter, no bias
 *   loss = sum((z - y)^2) / 2 / m                half of MSELoss: evaluated, reported, tested before the update
 *   stop if loss &lt; 1e-7
 *   dZ   = (z - y) / m                           = d loss / d z
 *   dW   = x * dZ                                = d loss / d w   (model.backward)
 *   w    = w - 0.5 * dW                          learning rate 0.5 (SGD)
 * </pre>
 * The seed writes the last three lines as {@code dw = x * (z - y); w = w - 0.5 * dw / m}; dividing
 * {@code z - y} by {@code m} before the weight gradient instead of after it is the same update, and
 * makes {@code dW} the exact gradient of the loss above. PyTorch's mean squared error, {@link
 * MSELoss}, is twice the seed's loss, so its gradient is {@code 2 dZ} and the optimiser's rate is
 * {@code 0.25}: the same step.
 *
 * <p>Step {@code i} is the seed's iteration index: the loss of step {@code i} is that of the
 * kernel after {@code i} updates. The run stops at the first step whose loss is below
 * {@value #LOSS_THRESHOLD}, or after {@link Options#maxSteps()} updates (seed: 10000). Unlike the
 * seed's {@code range(10000)}, the last update is always followed by an evaluation, so the returned
 * loss is the loss of the returned kernel. The seed's printout ends at step 3460.
 *
 * <h2>Initialisation</h2>
 * Each of the nine weights (row-major) is {@code 0.1 * random.nextGaussian()}, the seed's
 * {@code np.random.normal(0, 0.1, (3, 3))}, from a {@link Random} with a fixed seed
 * ({@link Options#seed()}), so a run is reproducible. The seed sets no random seed.
 *
 * <h2>Numbers and memory</h2>
 * Images, the kernel and gradients are float32 off-heap tensors in a {@link Sequential} model of
 * one {@link Conv2d} layer, with {@link MSELoss} and {@link SGD} (so the demo exercises whichever
 * kernels are chosen). The layer keeps one convolution plan for the whole loop: its kernels are
 * chosen once, and its workspace and gradients are reused from step to step. With one channel the
 * preferred layout is plain NCHW, so nothing is reordered. The loss is summed in double; the
 * weights are float, updated in place. Everything is released when the run ends.
 */
public final class KernelLearning {

    /** The image's height and width (seed line 685: "80x80的灰度图"). */
    public static final int IMAGE_SIZE = 80;

    /** The kernel's height and width. */
    public static final int KERNEL_SIZE = 3;

    /** The filtered image's height and width, {@code 80 - 3 + 1} (seed line 685: 78x78). */
    public static final int OUTPUT_SIZE = IMAGE_SIZE - KERNEL_SIZE + 1;

    /** The seed's learning rate: {@code w = w - 0.5 * dw / m}. */
    public static final double LEARNING_RATE = 0.5;

    /** The seed's stopping rule: {@code if loss < 1e-7: break}. */
    public static final double LOSS_THRESHOLD = 1e-7;

    /** The seed's {@code range(10000)}. */
    public static final int DEFAULT_MAX_STEPS = 10_000;

    /** Standard deviation of the initial weights: {@code np.random.normal(0, 0.1, ...)}. */
    public static final double INIT_STDDEV = 0.1;

    /** The default random seed ("17.3.7"). */
    public static final long DEFAULT_SEED = 1737L;

    /** How far apart the steps in {@link Result#history()} are (plus the first and last step). */
    public static final int HISTORY_INTERVAL = 100;

    private static final float[] TRUE_KERNEL = {
        0, -1, 0,
        0, 2, 0,
        0, -1, 0,
    };

    private KernelLearning() {
    }

    /** Called once per step with the step's index (0, 1, ...) and loss, before the stop test. */
    @FunctionalInterface
    public interface Progress {
        void step(int step, double loss);

        /** Reports nothing. */
        static Progress none() {
            return (step, loss) -> { };
        }
    }

    /**
     * How to run the demo.
     *
     * @param seed           seed of the {@link Random} that draws the initial kernel
     * @param implementation which convolution kernels run the passes
     * @param parallelism    where they run
     * @param maxSteps       at most this many weight updates (seed: 10000)
     */
    public record Options(long seed, Implementation implementation, Parallelism parallelism, int maxSteps) {

        public Options {
            Objects.requireNonNull(implementation, "implementation");
            Objects.requireNonNull(parallelism, "parallelism");
            if (maxSteps < 0) {
                throw new IllegalArgumentException("maxSteps must be >= 0, got " + maxSteps);
            }
        }

        /** Seed {@value #DEFAULT_SEED}, automatic kernels, one thread, 10000 steps at most. */
        public static Options defaults() {
            return new Options(DEFAULT_SEED, Implementation.AUTO, Parallelism.serial(), DEFAULT_MAX_STEPS);
        }

        public Options withSeed(long seed) {
            return new Options(seed, implementation, parallelism, maxSteps);
        }

        public Options withImplementation(Implementation implementation) {
            return new Options(seed, implementation, parallelism, maxSteps);
        }

        public Options withParallelism(Parallelism parallelism) {
            return new Options(seed, implementation, parallelism, maxSteps);
        }

        public Options withMaxSteps(int maxSteps) {
            return new Options(seed, implementation, parallelism, maxSteps);
        }
    }

    /** The loss at one step. */
    public record LossSample(int step, double loss) {
    }

    /**
     * The outcome of a run.
     *
     * @param steps         weight updates applied; also the index of the last step (seed: 3460)
     * @param finalLoss     the loss of {@link #learnedKernel()}
     * @param learnedKernel the 3x3 kernel found, row-major
     * @param trueKernel    the kernel that made the target, row-major
     * @param converged     whether the loss fell below {@value KernelLearning#LOSS_THRESHOLD}
     * @param history       the loss at step 0, every {@value KernelLearning#HISTORY_INTERVAL} steps,
     *                      and the last step
     * @param kernelsName   which kernels ran ({@link Execution#kernelsName()})
     */
    public record Result(int steps, double finalLoss, float[] learnedKernel, float[] trueKernel, boolean converged,
                         List<LossSample> history, String kernelsName) {

        public Result {
            learnedKernel = learnedKernel.clone();
            trueKernel = trueKernel.clone();
            history = List.copyOf(history);
        }

        @Override
        public float[] learnedKernel() {
            return learnedKernel.clone();
        }

        @Override
        public float[] trueKernel() {
            return trueKernel.clone();
        }

        /** The largest {@code |learned - true|} over the nine weights. */
        public double maxAbsError() {
            double max = 0;
            for (int i = 0; i < learnedKernel.length; i++) {
                max = Math.max(max, Math.abs((double) learnedKernel[i] - trueKernel[i]));
            }
            return max;
        }

        @Override
        public String toString() {
            return "Result[steps=" + steps + ", finalLoss=" + finalLoss + ", converged=" + converged
                    + ", learnedKernel=" + Arrays.toString(learnedKernel)
                    + ", maxAbsError=" + maxAbsError() + ", kernels=" + kernelsName + "]";
        }

        /**
         * Converged, and every learned weight within {@code tolerance} of the true one (the seed
         * checks {@code np.allclose(w_true, w_result, atol=1e-2)}).
         */
        public boolean succeeded(double tolerance) {
            return converged && maxAbsError() <= tolerance;
        }
    }

    /** The kernel the demo learns back, row-major: {@code [[0,-1,0],[0,2,0],[0,-1,0]]}. */
    public static float[] trueKernel() {
        return TRUE_KERNEL.clone();
    }

    /**
     * The 80x80 input image, row-major, values in [0, 1]; the same on every call.
     *
     * <p>The seed loads {@code circle.png}, which is not available, so a stand-in is drawn: a bright
     * disc (radius 22, centre slightly off the middle at (41.0, 38.5)) on a dark background, with a
     * gentle smooth shading over the disc, then min-max normalised to [0, 1] as the seed's
     * {@code normalize} does:
     * <pre>
     *   shade(r, c) = (cos(2 pi (c/13 + r/29) + 0.3) + cos(2 pi (r/11 - c/17) + 1.1)
     *                  + cos(2 pi (c/23 + r/19) + 2.0)) / 3                    in [-1, 1]
     *   pixel(r, c) = 0.1 + (0.8 + 0.05 shade(r, c)) * [pixel centre inside the disc]
     * </pre>
     * <p>Why this image. The nine weights can be learned only if no 3x3 kernel other than zero maps
     * the image to (nearly) zero. The smallest eigenvalue {@code lambda_min} of the 9x9 matrix
     * {@code P^T P / m} of the image's 3x3 patches measures that: when the loss stops at 1e-7, the
     * kernel's error is at most about {@code sqrt(2 * 1e-7 / lambda_min)}. Smooth content is almost
     * annihilated by second-difference kernels, so a smooth (anti-aliased) disc or a smooth texture
     * leaves {@code lambda_min} near 0 (about 2e-7 for an edge ramp one pixel wide) and the kernel
     * is not found within 10000 steps. The disc's hard, pixel-sampled edge contains every spatial
     * frequency and gives {@code lambda_min} of about 0.0031 (error bound 8e-3): the loss reaches
     * 1e-7 after about 3500 steps (3520 with the default seed) with every weight within 5e-3 of the
     * truth, much as the seed reports (3460 steps, largest error 5.05e-3). The shading and the
     * off-centre disc break the disc's mirror and rotation symmetries, as in a real picture; they
     * do not help to identify the weights (they lower {@code lambda_min} a little). The image is
     * kept dim enough (mean about 0.22) that learning rate 0.5 is stable: the largest eigenvalue is
     * about 1.9, under 2 / 0.5 = 4 (a disc of radius 30 diverges).
     */
    public static float[] image() {
        int n = IMAGE_SIZE;
        double centreRow = 41.0;
        double centreCol = 38.5;
        double radius = 22.0;
        double[] raw = new double[n * n];
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (int r = 0; r < n; r++) {
            for (int c = 0; c < n; c++) {
                // Pixel centres at (r + 0.5, c + 0.5), as an image drawn without anti-aliasing.
                double y = r + 0.5;
                double x = c + 0.5;
                boolean inside = Math.hypot(y - centreRow, x - centreCol) <= radius;
                double shade = (Math.cos(2 * Math.PI * (x / 13 + y / 29) + 0.3)
                        + Math.cos(2 * Math.PI * (y / 11 - x / 17) + 1.1)
                        + Math.cos(2 * Math.PI * (x / 23 + y / 19) + 2.0)) / 3;
                double v = 0.1 + (inside ? 0.8 + 0.05 * shade : 0.0);
                raw[r * n + c] = v;
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        float[] pixels = new float[raw.length];
        for (int i = 0; i < raw.length; i++) {
            pixels[i] = (float) ((raw[i] - min) / (max - min));
        }
        return pixels;
    }

    /**
     * Runs the demo with {@code options}, reporting every step to {@code progress}.
     *
     * @throws UnsupportedOperationException if {@link Implementation#SIMD} is asked for and the
     *                                       Vector API cannot run in this JVM
     */
    public static Result run(Options options, Progress progress) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(progress, "progress");
        Execution execution = new Execution(options.implementation(), options.parallelism());
        List<LossSample> history = new ArrayList<>();
        // One model for the whole loop: the convolution's plan, its workspace and the gradients are
        // made by the first step and reused by every other.
        try (Arena arena = Arena.ofShared();
             Sequential model = new Sequential(execution, edgeDetector());
             MSELoss mse = new MSELoss();
             SGD sgd = new SGD(model.parameters(), LEARNING_RATE / 2)) { // MSELoss's gradient is twice the seed's
            Tensor x = Tensor.allocate(arena, 1, 1, IMAGE_SIZE, IMAGE_SIZE).copyFrom(image());
            Tensor y = target(execution, x, arena);
            Tensor weight = model.parameter("0.weight").value();
            double[] initial = initialKernel(options.seed());
            float[] values = new float[initial.length];
            for (int i = 0; i < values.length; i++) {
                values[i] = (float) initial[i];
            }
            weight.copyFrom(values);
            int step = 0;
            double loss;
            while (true) {
                Tensor z = model.forward(x);
                loss = mse.forward(z, y) / 2;                 // the seed's sum((z - y)^2) / 2 / m
                progress.step(step, loss);
                boolean last = loss < LOSS_THRESHOLD || step == options.maxSteps();
                if (step % HISTORY_INTERVAL == 0 || last) {
                    history.add(new LossSample(step, loss));
                }
                if (last) {
                    break;
                }
                model.backward(mse.backward());               // dW = x * dZ (Conv2dPlan.backwardWeights)
                sgd.step();                                   // w = w - 0.5 * dW
                step++;
            }
            return new Result(step, loss, weight.toArray(), TRUE_KERNEL, loss < LOSS_THRESHOLD, history,
                    execution.kernelsName());
        }
    }

    /** The model: one 3x3 filter, VALID, stride 1, no bias (the seed trains none, line 710). */
    private static Layer edgeDetector() {
        return new Conv2d(1, 1, KERNEL_SIZE, KERNEL_SIZE, Conv2dOptions.defaults(), false);
    }

    /** {@code y = x * w_true}, by the same layer with the true kernel, copied into {@code arena}. */
    private static Tensor target(Execution execution, Tensor x, Arena arena) {
        try (Sequential truth = new Sequential(execution, edgeDetector())) {
            truth.parameter("0.weight").value().copyFrom(TRUE_KERNEL);
            Tensor y = truth.forward(x);
            Tensor kept = Tensor.allocate(arena, y.shape());
            y.copyTo(kept);
            return kept;
        }
    }

    /** Runs the demo with {@code options}, reporting nothing. */
    public static Result run(Options options) {
        return run(options, Progress.none());
    }

    /** The nine initial weights, row-major: {@code N(0, 0.1)} from {@code new Random(seed)}. */
    static double[] initialKernel(long seed) {
        Random random = new Random(seed);
        double[] w = new double[KERNEL_SIZE * KERNEL_SIZE];
        for (int i = 0; i < w.length; i++) {
            w[i] = INIT_STDDEV * random.nextGaussian();
        }
        return w;
    }
}
