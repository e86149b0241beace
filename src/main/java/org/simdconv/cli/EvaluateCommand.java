package org.simdconv.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import org.simdconv.conv.Implementation;
import org.simdconv.data.FashionMnist;
import org.simdconv.data.ImageDataset;
import org.simdconv.io.Safetensors;
import org.simdconv.nn.Execution;
import org.simdconv.nn.Sequential;
import org.simdconv.parallel.Parallelism;
import org.simdconv.train.Models;
import org.simdconv.train.Trainer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code simdconv evaluate}: scores a saved model (a {@code .safetensors} file written by {@code
 * train}, or by PyTorch under the same {@code state_dict} names) on the test set.
 */
@Command(name = "evaluate",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = "Scores a saved model (.safetensors, PyTorch's state_dict names) on the Fashion-MNIST test set.")
public final class EvaluateCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--load", paramLabel = "FILE", required = true, description = "The parameters (.safetensors).")
    Path load;

    @Option(names = "--model", paramLabel = "NAME",
            description = "seed-cnn or tf-cnn (default: the file's \"model\" metadata, else seed-cnn).")
    String model;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Directory of the IDX files (default: /usr/share/datasets/fashion-mnist).")
    Path data;

    @Option(names = "--json", description = "Print one JSON object (test_accuracy, test_loss, images, ...).")
    boolean json;

    @Option(names = "--threads", paramLabel = "T", description = "Threads (default: every core).")
    Integer threads;

    @Option(names = "--impl", paramLabel = "IMPL", defaultValue = "auto",
            description = "Kernels: auto, scalar or simd (default: ${DEFAULT-VALUE}).")
    Implementation implementation;

    @Override
    public Integer call() throws IOException {
        int threadCount = threads == null ? Runtime.getRuntime().availableProcessors() : threads;
        if (threadCount < 1) {
            throw new IllegalArgumentException("--threads must be >= 1, got " + threadCount);
        }
        PrintWriter out = spec.commandLine().getOut();
        try (Arena arena = Arena.ofConfined()) {
            Safetensors.Contents contents;
            try {
                contents = Safetensors.read(load, arena);
            } catch (Safetensors.FormatException e) {
                throw new IllegalArgumentException(e.getMessage(), e);
            }
            String name = model != null ? model : contents.metadata().getOrDefault("model", "seed-cnn");
            if (!Models.NAMES.contains(name)) {
                throw new IllegalArgumentException("--model must be one of " + Models.NAMES + ", got '" + name + "'");
            }
            ImageDataset test = DataSets.load(data == null ? FashionMnist.DEFAULT_DIRECTORY : data).test();
            try (ForkJoinPool pool = new ForkJoinPool(threadCount);
                 Sequential net = Models.create(name, new Execution(implementation, Parallelism.on(pool)))) {
                try {
                    net.loadStateDict(contents.tensors());
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(load + " does not fit " + name + ": " + e.getMessage(), e);
                }
                long start = System.nanoTime();
                Trainer.Evaluation score = Trainer.evaluate(net, test);
                double seconds = (System.nanoTime() - start) / 1e9;
                if (json) {
                    // The model name is one of Models.NAMES: nothing in it needs escaping.
                    out.println(String.format(Locale.ROOT, "{\"model\":\"%s\",\"images\":%d,\"test_accuracy\":%.6f,"
                            + "\"test_loss\":%.6f,\"seconds\":%.3f}", name, score.images(), score.accuracy(),
                            score.loss(), seconds));
                } else {
                    out.println(String.format(Locale.ROOT, "%s from %s: test accuracy %.2f%% (%d images), "
                            + "test loss %.4f, %.2f s", name, load, 100 * score.accuracy(), score.images(),
                            score.loss(), seconds));
                }
            }
        }
        out.flush();
        return 0;
    }
}
