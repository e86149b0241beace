package org.simdconv.train;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import org.simdconv.data.ImageDataset;
import org.simdconv.nn.CrossEntropyLoss;
import org.simdconv.nn.LearningRateSchedule;
import org.simdconv.nn.SGD;
import org.simdconv.nn.Sequential;
import org.simdconv.tensor.Tensor;

/**
 * Trains a classifier on labelled images with mini-batch SGD and softmax cross-entropy, epoch by
 * epoch, evaluating it on a test set after each, as the PyTorch peer does: each epoch visits the
 * training images in a new order drawn from the seed, in batches of the batch size (the last one
 * partial), and one step follows each batch. The same seed and thread count give the same numbers.
 *
 * <p>The batches are made in tensors allocated once per batch size, so an epoch allocates nothing
 * after its first two batches: memory stays flat from epoch to epoch.
 *
 * <p>Not thread-safe: one thread drives a trainer (its kernels use the model's threads).
 */
public final class Trainer implements AutoCloseable {

    /** Images per batch when evaluating: as many as the peer's, and large batches run fastest. */
    public static final int EVALUATION_BATCH = 1000;

    /** What a caller hears while training. */
    public interface Listener {
        /** Before the first batch of an epoch (counted from 1). */
        default void epochStarted(int epoch, int epochs, int batches, double learningRate) {
        }

        /** After each step: the batches done, the mean loss so far this epoch, and images per second. */
        default void batchDone(int epoch, int batch, int batches, double meanLoss, double imagesPerSecond) {
        }

        /** After the epoch's evaluation. */
        default void epochDone(EpochResult result) {
        }
    }

    /**
     * One epoch's figures.
     *
     * @param epoch           counted from 1
     * @param trainSeconds    the training steps' time (evaluation excluded, as in the peer)
     * @param imagesPerSecond training images divided by {@code trainSeconds}
     * @param trainLoss       mean loss over the epoch's training images, each at its own step
     * @param testLoss        mean loss on the test set after the epoch
     * @param testAccuracy    fraction of the test set classified right
     * @param learningRate    the rate of this epoch
     */
    public record EpochResult(int epoch, double trainSeconds, double imagesPerSecond, double trainLoss,
                              double testLoss, double testAccuracy, double learningRate) {
    }

    /**
     * A model's score on a data set.
     *
     * @param images   how many were scored
     * @param loss     mean cross-entropy
     * @param accuracy fraction classified right (the largest logit is the label)
     */
    public record Evaluation(int images, double loss, double accuracy) {
    }

    private final Sequential model;
    private final TrainingOptions options;
    private final SGD optimizer;
    private final LearningRateSchedule schedule;
    private final CrossEntropyLoss loss = new CrossEntropyLoss();
    private final Batches batches = new Batches();
    private int[] order;

    /** A trainer of {@code model}, whose parameters it initialises from the options' seed. */
    public Trainer(Sequential model, TrainingOptions options) {
        this.model = Objects.requireNonNull(model, "model");
        this.options = Objects.requireNonNull(options, "options");
        model.initialize(options.seed());
        this.optimizer = new SGD(model.parameters(), options.learningRate(), options.momentum(),
                options.weightDecay());
        this.schedule = options.schedule().from(options.learningRate());
    }

    /** Trains every epoch of the options, evaluating on {@code test} after each. */
    public List<EpochResult> fit(ImageDataset train, ImageDataset test, Listener listener) {
        List<EpochResult> results = new ArrayList<>();
        for (int epoch = 1; epoch <= options.epochs(); epoch++) {
            results.add(epoch(epoch, train, test, listener));
        }
        return results;
    }

    /** Trains epoch {@code epoch} (from 1) and evaluates on {@code test}. */
    public EpochResult epoch(int epoch, ImageDataset train, ImageDataset test, Listener listener) {
        double rate = schedule.rate(epoch - 1, options.epochs());
        optimizer.setLearningRate(rate);
        int n = train.size(), size = options.batchSize(), count = Math.ceilDiv(n, size);
        int[] shuffled = shuffled(n, epoch);
        listener.epochStarted(epoch, options.epochs(), count, rate);
        long start = System.nanoTime();
        double lossSum = 0;
        for (int b = 0; b < count; b++) {
            int from = b * size, items = Math.min(size, n - from);
            Batches.Batch batch = batches.of(items, train);
            train.batch(shuffled, from, batch.images, batch.labels);
            Tensor logits = model.forward(batch.images);
            lossSum += loss.forward(logits, batch.labels) * items;
            model.backward(loss.backward());
            optimizer.step();
            double seconds = (System.nanoTime() - start) / 1e9;
            listener.batchDone(epoch, b + 1, count, lossSum / (from + items), (from + items) / seconds);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        Evaluation scored = evaluate(test);
        EpochResult result = new EpochResult(epoch, seconds, n / seconds, lossSum / n, scored.loss(),
                scored.accuracy(), rate);
        listener.epochDone(result);
        return result;
    }

    /** The model's loss and accuracy on {@code data}, in batches of {@value #EVALUATION_BATCH}. */
    public Evaluation evaluate(ImageDataset data) {
        return evaluate(model, data, loss, batches);
    }

    /** {@code model}'s loss and accuracy on {@code data}. */
    public static Evaluation evaluate(Sequential model, ImageDataset data) {
        try (CrossEntropyLoss loss = new CrossEntropyLoss(); Batches batches = new Batches()) {
            return evaluate(model, data, loss, batches);
        }
    }

    private static Evaluation evaluate(Sequential model, ImageDataset data, CrossEntropyLoss loss, Batches batches) {
        int[] order = data.identityOrder();
        int n = data.size(), correct = 0;
        double lossSum = 0;
        for (int from = 0; from < n; from += EVALUATION_BATCH) {
            int items = Math.min(EVALUATION_BATCH, n - from);
            Batches.Batch batch = batches.of(items, data);
            data.batch(order, from, batch.images, batch.labels);
            Tensor logits = model.forward(batch.images);
            lossSum += loss.forward(logits, batch.labels) * items;
            correct += correct(logits, batch.labels);
        }
        return new Evaluation(n, lossSum / n, (double) correct / n);
    }

    /** How many rows of {@code logits} have their largest value (the first, on ties) at the label. */
    static int correct(Tensor logits, int[] labels) {
        int k = logits.dim(1), right = 0;
        for (int i = 0; i < labels.length; i++) {
            int best = 0;
            float max = logits.getFlat((long) i * k);
            for (int j = 1; j < k; j++) {
                float v = logits.getFlat((long) i * k + j);
                if (v > max) {
                    max = v;
                    best = j;
                }
            }
            right += best == labels[i] ? 1 : 0;
        }
        return right;
    }

    /**
     * A random permutation of {@code 0 .. n-1} (Fisher-Yates), drawn from the seed and the epoch
     * alone, so that a run resumed at any epoch shuffles as the uninterrupted one.
     */
    private int[] shuffled(int n, int epoch) {
        SplittableRandom shuffling = new SplittableRandom((options.seed() ^ 0x5DEECE66DL) + epoch * 0x9E3779B97F4A7C15L);
        if (order == null || order.length != n) {
            order = new int[n];
        }
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = shuffling.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    /** The model this trainer trains. */
    public Sequential model() {
        return model;
    }

    public SGD optimizer() {
        return optimizer;
    }

    /** Releases the optimiser's buffers and the batches (not the model, which the caller owns). */
    @Override
    public void close() {
        optimizer.close();
        loss.close();
        batches.close();
    }

    /** Batch tensors and label arrays, one per batch size seen (a few: the batch, the last, evaluation). */
    static final class Batches implements AutoCloseable {
        private final Arena arena = Arena.ofShared();
        private final List<Batch> kept = new ArrayList<>();

        record Batch(Tensor images, int[] labels) {
        }

        Batch of(int items, ImageDataset data) {
            for (int i = 0; i < kept.size(); i++) { // indexed: no iterator per batch
                Batch b = kept.get(i);
                if (b.labels.length == items && b.images.dim(2) == data.height() && b.images.dim(3) == data.width()) {
                    return b;
                }
            }
            Batch b = new Batch(Tensor.allocate(arena, items, 1, data.height(), data.width()), new int[items]);
            kept.add(b);
            return b;
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
