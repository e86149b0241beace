package org.simdconv.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2d;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Implementation;
import org.simdconv.conv.Padding;
import org.simdconv.io.Npy;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code simdconv conv2d}: one convolution on {@code .npy} files, forward and, given the output's
 * gradient, backward. Every input is read and every result computed before the first file is
 * written, so a bad input leaves the output directory as it was.
 */
@Command(name = "conv2d",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Runs a 2-D convolution (cross-correlation, NCHW input, OIHW weights) on .npy files.",
            "Writes DIR/output.npy; with --grad-output also DIR/grad_input.npy, DIR/grad_weight.npy "
                    + "and, with --bias, DIR/grad_bias.npy.",
        })
public final class Conv2dCommand implements Callable<Integer> {

    /** The files a run may write: the output, and the three gradients with --grad-output. */
    static final java.util.Set<String> OUTPUT_NAMES =
            java.util.Set.of("output.npy", "grad_input.npy", "grad_weight.npy", "grad_bias.npy");

    @Spec
    CommandSpec spec;

    @Option(names = "--input", required = true, paramLabel = "X.npy",
            description = "Input, N x C x H x W (float32 or float64).")
    Path input;

    @Option(names = "--weight", required = true, paramLabel = "W.npy",
            description = "Weights, K x C/G x R x S.")
    Path weight;

    @Option(names = "--bias", paramLabel = "B.npy", description = "Bias, K (default: none).")
    Path bias;

    @Option(names = "--grad-output", paramLabel = "DY.npy",
            description = "Gradient of the output, N x K x Ho x Wo: also compute the gradients.")
    Path gradOutput;

    @Option(names = "--stride", paramLabel = "S|SH,SW", defaultValue = "1",
            description = "Stride (default: ${DEFAULT-VALUE}).")
    String stride;

    @Option(names = "--padding", paramLabel = "P|PH,PW|T,B,L,R|same|valid", defaultValue = "valid",
            description = "Zero padding (default: ${DEFAULT-VALUE}).")
    String padding;

    @Option(names = "--dilation", paramLabel = "D|DH,DW", defaultValue = "1",
            description = "Dilation, 1 = dense kernel (default: ${DEFAULT-VALUE}).")
    String dilation;

    @Option(names = "--groups", paramLabel = "G", defaultValue = "1",
            description = "Groups (default: ${DEFAULT-VALUE}).")
    int groups;

    @Option(names = "--impl", paramLabel = "IMPL", defaultValue = "auto",
            description = "Kernels: auto, scalar or simd (default: ${DEFAULT-VALUE}).")
    Implementation implementation;

    @Option(names = "--threads", paramLabel = "T",
            description = "Threads (default: one per core).")
    Integer threads;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output directory, created if missing, replaced whole: the files of a run appear "
                    + "together, never beside an earlier run's; a directory holding other files is refused.")
    Path out;

    @Override
    public Integer call() throws IOException {
        int[] strides = pair("--stride", stride);
        int[] dilations = pair("--dilation", dilation);
        Conv2dOptions options = new Conv2dOptions(strides[0], strides[1], Padding.parse(padding),
                dilations[0], dilations[1], groups);
        int threadCount = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (threadCount < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, got " + threadCount);
        }
        OutputDirectory outputs = new OutputDirectory("--out", out, OUTPUT_NAMES);
        outputs.check();
        Conv2d conv = Conv2d.create(options).withImplementation(implementation);

        // A shared arena: the pool's workers read and write these tensors (confined ones would make
        // Conv2d run every pass on this thread).
        try (ForkJoinPool pool = new ForkJoinPool(threadCount); Arena arena = Arena.ofShared()) {
            conv = conv.withParallelism(Parallelism.on(pool));
            Tensor x = read("--input", input, arena);
            Tensor w = read("--weight", weight, arena);
            Tensor b = bias == null ? null : read("--bias", bias, arena);
            Tensor dy = gradOutput == null ? null : read("--grad-output", gradOutput, arena);

            // Compute everything first: the library checks every shape before it touches memory.
            Map<String, Tensor> results = new LinkedHashMap<>();
            results.put("output.npy", conv.forward(arena, x, w, b));
            if (dy != null) {
                Tensor dx = Tensor.allocate(arena, x.shape());
                conv.backwardData(dy, w, dx, Accumulation.OVERWRITE);
                Tensor dw = Tensor.allocate(arena, w.shape());
                Tensor db = b == null ? null : Tensor.allocate(arena, b.shape());
                conv.backwardWeights(x, dy, dw, db, Accumulation.OVERWRITE);
                results.put("grad_input.npy", dx);
                results.put("grad_weight.npy", dw);
                if (db != null) {
                    results.put("grad_bias.npy", db);
                }
            }

            outputs.replaceWith(directory -> {
                for (Map.Entry<String, Tensor> result : results.entrySet()) {
                    Npy.write(directory.resolve(result.getKey()), result.getValue());
                }
            });
            PrintWriter stdout = spec.commandLine().getOut();
            for (Map.Entry<String, Tensor> result : results.entrySet()) {
                stdout.println("wrote " + out.resolve(result.getKey()) + " " + Arrays.toString(result.getValue().shape()));
            }
            stdout.println("kernels: " + conv.kernelsName() + ", " + conv.parallelism());
            stdout.flush();
        }
        return 0;
    }

    /** Reads one input; any failure becomes a bad-input error that names the option and the file. */
    private static Tensor read(String option, Path file, Arena arena) {
        try {
            return Npy.read(file, arena);
        } catch (Npy.FormatException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + ": " + ErrorHandler.describe(e), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(option + " " + file + ": " + e.getMessage(), e);
        }
    }

    /** Parses {@code V} or {@code VH,VW}, both positive. */
    static int[] pair(String option, String text) {
        String[] parts = text.trim().split("\\s*,\\s*", -1);
        if (parts.length < 1 || parts.length > 2) {
            throw new IllegalArgumentException(option + " '" + text + "': expected one or two integers (V or VH,VW)");
        }
        int[] values = new int[2];
        for (int i = 0; i < parts.length; i++) {
            try {
                values[i] = Integer.parseInt(parts[i]);
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(option + " '" + text + "': expected one or two integers (V or VH,VW)");
            }
            if (values[i] < 1) {
                throw new IllegalArgumentException(option + " must be >= 1, got '" + text + "'");
            }
        }
        if (parts.length == 1) {
            values[1] = values[0];
        }
        return values;
    }
}
