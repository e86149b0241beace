package org.simdconv.cli;

import java.io.PrintWriter;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import org.simdconv.conv.Implementation;
import org.simdconv.demo.KernelLearning;
import org.simdconv.parallel.Parallelism;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code simdconv learn-kernel}: runs {@link KernelLearning}, printing the loss as it goes, then the
 * learned kernel beside the true one. Exit 0 when the loss fell below 1e-7 and every weight is
 * within {@value #TOLERANCE} of the truth (the seed's {@code np.allclose(..., atol=1e-2)}), else 1.
 */
@Command(name = "learn-kernel",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Learns the horizontal-edge kernel [[0,-1,0],[0,2,0],[0,-1,0]] back from an 80x80 image and "
                    + "its 78x78 filtered copy by gradient descent (seed 001, 17.3.7).",
            "Loss sum((z-y)^2)/2/m, learning rate 0.5, stops when the loss is below 1e-7.",
        })
public final class LearnKernelCommand implements Callable<Integer> {

    static final double TOLERANCE = 1e-2;

    @Spec
    CommandSpec spec;

    @Option(names = "--seed", paramLabel = "N", defaultValue = "" + KernelLearning.DEFAULT_SEED,
            description = "Random seed of the initial kernel (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--impl", paramLabel = "IMPL", defaultValue = "auto",
            description = "Kernels: auto, scalar or simd (default: ${DEFAULT-VALUE}).")
    Implementation implementation;

    @Option(names = "--threads", paramLabel = "T", defaultValue = "1",
            description = "Threads (default: ${DEFAULT-VALUE}; the problem is small).")
    int threads;

    @Option(names = "--every", paramLabel = "K", defaultValue = "100",
            description = "Print the loss every K steps, and at the last (default: ${DEFAULT-VALUE}).")
    int every;

    @Option(names = "--max-steps", paramLabel = "N", defaultValue = "" + KernelLearning.DEFAULT_MAX_STEPS,
            description = "Stop after N updates at most (default: ${DEFAULT-VALUE}).")
    int maxSteps;

    @Override
    public Integer call() {
        if (threads < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, got " + threads);
        }
        if (every < 1) {
            throw new IllegalArgumentException("--every must be >= 1, got " + every);
        }
        if (maxSteps < 0) {
            throw new IllegalArgumentException("--max-steps must be >= 0, got " + maxSteps);
        }
        PrintWriter out = spec.commandLine().getOut();
        KernelLearning.Result result;
        try (ForkJoinPool pool = new ForkJoinPool(threads)) {
            KernelLearning.Options options = KernelLearning.Options.defaults()
                    .withSeed(seed)
                    .withImplementation(implementation)
                    .withParallelism(Parallelism.on(pool))
                    .withMaxSteps(maxSteps);
            out.println(" step  loss");
            result = KernelLearning.run(options, (step, loss) -> {
                if (step % every == 0) {
                    printLoss(out, step, loss);
                }
            });
        }
        if (result.steps() % every != 0) {
            printLoss(out, result.steps(), result.finalLoss());
        }
        printReport(out, result, threads);
        out.flush();
        return result.succeeded(TOLERANCE) ? 0 : 1;
    }

    private static void printLoss(PrintWriter out, int step, double loss) {
        out.println(String.format(Locale.ROOT, "%5d  %.6e", step, loss));
        out.flush();
    }

    private static void printReport(PrintWriter out, KernelLearning.Result result, int threads) {
        float[] learned = result.learnedKernel();
        float[] truth = result.trueKernel();
        out.println();
        out.println(String.format(Locale.ROOT, "%-27s    %s", "learned kernel", "true kernel"));
        for (int row = 0; row < 3; row++) {
            StringBuilder line = new StringBuilder();
            for (int col = 0; col < 3; col++) {
                line.append(String.format(Locale.ROOT, "%9.5f", learned[row * 3 + col]));
            }
            line.append("    ");
            for (int col = 0; col < 3; col++) {
                line.append(String.format(Locale.ROOT, "%4.0f", truth[row * 3 + col]));
            }
            out.println(line);
        }
        out.println();
        out.println(String.format(Locale.ROOT, "steps:      %d (the loss %s below %.0e)", result.steps(),
                result.converged() ? "fell" : "did not fall", KernelLearning.LOSS_THRESHOLD));
        out.println(String.format(Locale.ROOT, "final loss: %.6e", result.finalLoss()));
        out.println(String.format(Locale.ROOT, "max |learned - true|: %.2e (tolerance %.0e)",
                result.maxAbsError(), TOLERANCE));
        out.println("kernels:    " + result.kernelsName() + ", " + threads + (threads == 1 ? " thread" : " threads"));
        out.println("result:     " + (result.succeeded(TOLERANCE) ? "kernel learned" : "kernel NOT learned"));
    }
}
