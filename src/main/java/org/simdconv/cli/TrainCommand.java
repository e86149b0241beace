package org.simdconv.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import org.simdconv.conv.Implementation;
import org.simdconv.data.FashionMnist;
import org.simdconv.io.AtomicFile;
import org.simdconv.io.Safetensors;
import org.simdconv.nn.Execution;
import org.simdconv.nn.Sequential;
import org.simdconv.parallel.Parallelism;
import org.simdconv.train.Checkpoint;
import org.simdconv.train.Models;
import org.simdconv.train.Trainer;
import org.simdconv.train.TrainingOptions;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code simdconv train}: trains {@code seed-cnn} or {@code tf-cnn} on Fashion-MNIST (or MNIST, from
 * {@code --data}) with mini-batch SGD, showing progress, evaluating after each epoch, and optionally
 * writing the per-epoch figures ({@code --log}), a plot of them, and the trained parameters
 * ({@code --save}, {@code .safetensors} with PyTorch's names).
 */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = "Trains a CNN on Fashion-MNIST with SGD and reports the test accuracy after each epoch.")
public final class TrainCommand implements Callable<Integer> {

    /** The columns of {@code --log}, in order. */
    static final String LOG_HEADER = "epoch,train_seconds,images_per_second,train_loss,test_loss,test_accuracy";

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "NAME", defaultValue = "seed-cnn",
            description = "seed-cnn or tf-cnn (default: ${DEFAULT-VALUE}).")
    String model;

    @Option(names = "--epochs", paramLabel = "E", defaultValue = "3",
            description = "Epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "64",
            description = "Images per step (default: ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--lr", paramLabel = "LR", defaultValue = "0.05",
            description = "Learning rate (default: ${DEFAULT-VALUE}).")
    double lr;

    @Option(names = "--momentum", paramLabel = "M", defaultValue = "0.9",
            description = "SGD momentum (default: ${DEFAULT-VALUE}).")
    double momentum;

    @Option(names = "--weight-decay", paramLabel = "W",
            description = "L2 weight decay (default: the model's recipe, 0 for seed-cnn, 5e-4 for tf-cnn).")
    Double weightDecay;

    @Option(names = "--schedule", paramLabel = "S",
            description = "Learning-rate schedule: none, step or cosine (default: the model's recipe, none for "
                    + "seed-cnn, cosine for tf-cnn).")
    TrainingOptions.Schedule schedule;

    @Option(names = "--threads", paramLabel = "T", description = "Threads (default: every core).")
    Integer threads;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "0",
            description = "Seed of the initial parameters and the shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Directory of the IDX files (default: /usr/share/datasets/fashion-mnist).")
    Path data;

    @Option(names = "--save", paramLabel = "FILE", description = "Write the trained parameters (.safetensors).")
    Path save;

    @Option(names = "--log", paramLabel = "CSV", description = "Write one row per epoch: " + LOG_HEADER + ".")
    Path log;

    @Option(names = "--checkpoint", paramLabel = "FILE",
            description = "After each epoch, save the run (parameters, momentum, recipe, results so far) to resume it "
                    + "with --resume; replaced atomically, so a crash leaves the last one whole.")
    Path checkpoint;

    @Option(names = "--resume", paramLabel = "FILE",
            description = "Continue the run of this checkpoint with its model and recipe (--epochs may extend it), "
                    + "checkpointing into it unless --checkpoint says otherwise; with the same threads it ends with "
                    + "the weights of an uninterrupted run, bit for bit.")
    Path resume;

    @Option(names = "--profile", description = "After training, print where the time went: each layer's passes.")
    boolean profile;

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
        try (Arena arena = Arena.ofShared()) {
            Checkpoint.Saved resumed = resume == null ? null : Checkpoint.read(resume, arena);
            TrainingOptions options = resumed == null ? recipe() : resumedRecipe(resumed.checkpoint());
            String modelName = resumed == null ? model : resumed.checkpoint().model();
            if (!Models.NAMES.contains(modelName)) {
                throw new IllegalArgumentException("--model must be one of " + Models.NAMES + ", got '" + modelName + "'");
            }
            Path checkpointFile = checkpoint != null ? checkpoint : resume;
            Path directory = data == null ? FashionMnist.DEFAULT_DIRECTORY : data;
            FashionMnist.Splits splits = DataSets.load(directory);
            try (ForkJoinPool pool = new ForkJoinPool(threadCount);
                 Sequential net = Models.create(modelName, new Execution(implementation, Parallelism.on(pool)));
                 Trainer trainer = new Trainer(net, options)) {
                List<Trainer.EpochResult> results = new ArrayList<>();
                if (resumed != null) {
                    resumed.restore(trainer);
                    results.addAll(resumed.checkpoint().history());
                }
                out.println(String.format(Locale.ROOT, "%s: %,d parameters, %s; %s; %d thread%s, kernels %s", modelName,
                        net.parameterCount(), describe(options), splits.train(), threadCount,
                        threadCount == 1 ? "" : "s", implementation.name().toLowerCase(Locale.ROOT)));
                if (resumed != null) {
                    int trainedWith = resumed.checkpoint().threads();
                    out.println("resumed from " + resume + " after epoch " + results.size()
                            + (trainedWith == threadCount ? "" : "; note: it trained with " + trainedWith
                            + " threads, so the sums round differently from an uninterrupted run"));
                }
                out.flush();
                TrainingProgress shown = TrainingProgress.forOutput(out, isTerminal());
                Trainer.Listener progress = profile ? LayerProfile.timingLastEpoch(net, shown) : shown;
                for (int epoch = results.size() + 1; epoch <= options.epochs(); epoch++) {
                    results.add(trainer.epoch(epoch, splits.train(), splits.test(), progress));
                    if (checkpointFile != null) {
                        new Checkpoint(modelName, options, threadCount, results).write(checkpointFile, trainer);
                    }
                    if (log != null) {
                        writeLog(log, results);
                    }
                }
                if (results.isEmpty()) {
                    throw new IllegalArgumentException("--resume " + resume + " holds no finished epoch");
                }
                Trainer.EpochResult last = results.get(results.size() - 1);
                if (save != null) {
                    Map<String, String> metadata = new LinkedHashMap<>();
                    metadata.put("model", modelName);
                    metadata.put("test_accuracy", String.format(Locale.ROOT, "%.4f", last.testAccuracy()));
                    metadata.put("epochs", Integer.toString(results.size()));
                    metadata.put("trained_by", "simdconv");
                    Safetensors.write(save, net.stateDict(), metadata);
                }
                Path plot = plotPath();
                if (plot != null) {
                    TrainingPlot.write(plot, modelName, results);
                }
                printSummary(out, modelName, results, plot);
                if (profile) {
                    LayerProfile.print(out, net.layerTimes(), results);
                }
            }
        }
        return 0;
    }

    /** The recipe of the command line: the model's own ({@link Models#defaultRecipe}) where it says nothing. */
    private TrainingOptions recipe() {
        if (!Models.NAMES.contains(model)) {
            throw new IllegalArgumentException("--model must be one of " + Models.NAMES + ", got '" + model + "'");
        }
        TrainingOptions recipe = Models.defaultRecipe(model);
        return new TrainingOptions(epochs, batch, lr, momentum, weightDecay == null ? recipe.weightDecay() : weightDecay,
                schedule == null ? recipe.schedule() : schedule, seed);
    }

    /**
     * A resumed run keeps its checkpoint's model and recipe, so that it ends as the uninterrupted run
     * would; only {@code --epochs} may extend it (a schedule then stretches over the new count).
     */
    private TrainingOptions resumedRecipe(Checkpoint saved) {
        for (String fixed : List.of("--model", "--batch", "--lr", "--momentum", "--weight-decay", "--schedule", "--seed")) {
            if (spec.commandLine().getParseResult().hasMatchedOption(fixed)) {
                throw new IllegalArgumentException(fixed + " cannot change a resumed run: it keeps the recipe of its "
                        + "checkpoint (" + describe(saved.options()) + ")");
            }
        }
        return spec.commandLine().getParseResult().hasMatchedOption("--epochs")
                ? saved.options().withEpochs(epochs) : saved.options();
    }

    private static String describe(TrainingOptions o) {
        return String.format(Locale.ROOT, "SGD lr %s momentum %s weight decay %s, schedule %s, batch %d, %d epochs",
                o.learningRate(), o.momentum(), o.weightDecay(), o.schedule().name().toLowerCase(Locale.ROOT),
                o.batchSize(), o.epochs());
    }

    /** Beside the log, else beside the saved model, with the extension {@code .png}; or none. */
    private Path plotPath() {
        Path beside = log != null ? log : save;
        if (beside == null) {
            return null;
        }
        String name = beside.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return beside.resolveSibling((dot > 0 ? name.substring(0, dot) : name) + ".png");
    }

    /** The whole log so far, rewritten atomically after each epoch: a crash never leaves half a row. */
    static void writeLog(Path file, List<Trainer.EpochResult> results) throws IOException {
        StringBuilder csv = new StringBuilder(LOG_HEADER).append('\n');
        for (Trainer.EpochResult r : results) {
            csv.append(String.format(Locale.ROOT, "%d,%.3f,%.1f,%.6f,%.6f,%.4f%n", r.epoch(), r.trainSeconds(),
                    r.imagesPerSecond(), r.trainLoss(), r.testLoss(), r.testAccuracy()));
        }
        AtomicFile.writeString(file, csv.toString());
    }

    private void printSummary(PrintWriter out, String model, List<Trainer.EpochResult> results, Path plot) {
        Trainer.EpochResult last = results.get(results.size() - 1);
        double seconds = 0;
        for (Trainer.EpochResult r : results) {
            seconds += r.trainSeconds();
        }
        out.println(String.format(Locale.ROOT, "done: %s, %d epochs in %.1f s of training (%.0f img/s on average); "
                + "test accuracy %.2f%%, test loss %.4f", model, results.size(), seconds,
                totalImages(results) / seconds, 100 * last.testAccuracy(), last.testLoss()));
        if (log != null) {
            out.println("log: " + log);
        }
        if (plot != null) {
            out.println("plot: " + plot);
        }
        if (save != null) {
            out.println("model: " + save);
        }
        out.flush();
    }

    private static double totalImages(List<Trainer.EpochResult> results) {
        double images = 0;
        for (Trainer.EpochResult r : results) {
            images += r.imagesPerSecond() * r.trainSeconds();
        }
        return images;
    }

    /** True when standard output goes to a terminal (JDK 22+: {@code Console.isTerminal}). */
    static boolean isTerminal() {
        java.io.Console console = System.console();
        return console != null && console.isTerminal();
    }
}
