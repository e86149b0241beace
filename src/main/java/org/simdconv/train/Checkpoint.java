package org.simdconv.train;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.simdconv.io.Safetensors;
import org.simdconv.tensor.Tensor;

/**
 * A training run saved after an epoch, from which it resumes to end with the same weights, bit for
 * bit, as if it had never stopped (same thread count: the kernels' summation order depends on it).
 * One {@code .safetensors} file: the parameters under their {@code state_dict} names (so it also
 * loads as a model), the optimiser's momentum buffers under {@value #MOMENTUM} plus the name, and
 * in the metadata the model, the recipe, the thread count and every finished epoch's results. The
 * shuffle of an epoch depends on the seed and the epoch only, and the learning rate on the epoch,
 * so nothing else is needed. Written as {@link Safetensors#write} writes: a temporary file, forced
 * to disk, renamed over the last checkpoint, which a crash therefore leaves whole.
 *
 * @param model   the model's name ({@link Models#NAMES})
 * @param options the recipe
 * @param threads the thread count the run trained with
 * @param history the results of the epochs done, in order
 */
public record Checkpoint(String model, TrainingOptions options, int threads, List<Trainer.EpochResult> history) {

    /** The prefix of the momentum buffers' names. */
    public static final String MOMENTUM = "optimizer.momentum_buffer.";
    private static final String FORMAT = "simdconv-checkpoint-1";

    public Checkpoint {
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(options, "options");
        history = List.copyOf(history);
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
    }

    /** The epochs done. */
    public int epochsDone() {
        return history.size();
    }

    /** Writes this checkpoint with the current parameters and momentum buffers of {@code trainer}. */
    public void write(Path file, Trainer trainer) throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>(trainer.model().stateDict());
        trainer.optimizer().state().forEach((name, velocity) -> tensors.put(MOMENTUM + name, velocity));
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("format", FORMAT);
        metadata.put("model", model);
        metadata.put("epochs", Integer.toString(options.epochs()));
        metadata.put("batch_size", Integer.toString(options.batchSize()));
        metadata.put("learning_rate", Double.toString(options.learningRate()));
        metadata.put("momentum", Double.toString(options.momentum()));
        metadata.put("weight_decay", Double.toString(options.weightDecay()));
        metadata.put("schedule", options.schedule().name());
        metadata.put("seed", Long.toString(options.seed()));
        metadata.put("threads", Integer.toString(threads));
        List<String> rows = new ArrayList<>();
        for (Trainer.EpochResult r : history) {
            rows.add(r.epoch() + "," + r.trainSeconds() + "," + r.imagesPerSecond() + "," + r.trainLoss() + ","
                    + r.testLoss() + "," + r.testAccuracy() + "," + r.learningRate());
        }
        metadata.put("history", String.join(";", rows));
        Safetensors.write(file, tensors, metadata);
    }

    /** A checkpoint's description and tensors, read from a file; {@link #restore} puts the tensors in place. */
    public record Saved(Checkpoint checkpoint, Map<String, Tensor> parameters, Map<String, Tensor> momentum) {

        /**
         * Loads the parameters into {@code trainer}'s model and the momentum buffers into its
         * optimiser, all or nothing: both are checked before either changes, and an
         * {@link IllegalArgumentException} names the first tensor that does not fit.
         */
        public void restore(Trainer trainer) {
            trainer.model().checkStateDict(parameters);
            trainer.optimizer().checkState(momentum);
            trainer.model().loadStateDict(parameters);
            trainer.optimizer().loadState(momentum);
        }
    }

    /**
     * Reads a checkpoint, its tensors in {@code arena}.
     *
     * @throws IllegalArgumentException naming the file and the field, if the file is not a checkpoint
     * @throws IOException              if it cannot be read or is not a {@code .safetensors} file
     */
    public static Saved read(Path file, Arena arena) throws IOException {
        Safetensors.Contents contents = Safetensors.read(file, arena);
        Map<String, String> m = contents.metadata();
        if (!FORMAT.equals(m.get("format"))) {
            throw new IllegalArgumentException(file + ": not a simdconv checkpoint (metadata format is "
                    + (m.get("format") == null ? "missing" : "'" + m.get("format") + "'") + ", need '" + FORMAT + "')");
        }
        try {
            TrainingOptions options = new TrainingOptions(Integer.parseInt(field(file, m, "epochs")),
                    Integer.parseInt(field(file, m, "batch_size")), Double.parseDouble(field(file, m, "learning_rate")),
                    Double.parseDouble(field(file, m, "momentum")), Double.parseDouble(field(file, m, "weight_decay")),
                    TrainingOptions.Schedule.valueOf(field(file, m, "schedule").toUpperCase(Locale.ROOT)),
                    Long.parseLong(field(file, m, "seed")));
            List<Trainer.EpochResult> history = new ArrayList<>();
            String rows = field(file, m, "history");
            for (String row : rows.isEmpty() ? new String[0] : rows.split(";")) {
                String[] v = row.split(",");
                if (v.length != 7 || Integer.parseInt(v[0]) != history.size() + 1) {
                    throw new IllegalArgumentException(file + ": checkpoint history row '" + row + "' is malformed");
                }
                history.add(new Trainer.EpochResult(Integer.parseInt(v[0]), Double.parseDouble(v[1]),
                        Double.parseDouble(v[2]), Double.parseDouble(v[3]), Double.parseDouble(v[4]),
                        Double.parseDouble(v[5]), Double.parseDouble(v[6])));
            }
            Map<String, Tensor> parameters = new LinkedHashMap<>(), momentum = new LinkedHashMap<>();
            contents.tensors().forEach((name, t) -> {
                if (name.startsWith(MOMENTUM)) {
                    momentum.put(name.substring(MOMENTUM.length()), t);
                } else {
                    parameters.put(name, t);
                }
            });
            Checkpoint checkpoint = new Checkpoint(field(file, m, "model"), options,
                    Integer.parseInt(field(file, m, "threads")), history);
            return new Saved(checkpoint, parameters, momentum);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(file + ": checkpoint metadata holds a malformed number: " + e.getMessage(), e);
        }
    }

    private static String field(Path file, Map<String, String> metadata, String key) {
        String value = metadata.get(key);
        if (value == null) {
            throw new IllegalArgumentException(file + ": checkpoint metadata '" + key + "' is missing");
        }
        return value;
    }
}
