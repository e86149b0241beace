package org.simdconv.train;

import org.simdconv.nn.LearningRateSchedule;

/**
 * How a model is trained: mini-batch SGD with momentum and weight decay, a learning-rate schedule,
 * and the seed of the shuffling.
 *
 * @param epochs       passes over the training set
 * @param batchSize    images per step; the last, partial batch of an epoch is kept
 * @param learningRate the rate of the first epoch
 * @param momentum     SGD momentum (0 for none)
 * @param weightDecay  L2 weight decay (0 for none)
 * @param schedule     how the rate changes from epoch to epoch
 * @param seed         seed of the initial parameters and of each epoch's shuffle
 */
public record TrainingOptions(int epochs, int batchSize, double learningRate, double momentum, double weightDecay,
                              Schedule schedule, long seed) {

    /** The schedules the command line offers. */
    public enum Schedule {
        /** The same rate throughout. */
        NONE,
        /** The rate divided by 10 after half of the epochs, and again after three quarters (PyTorch's MultiStepLR). */
        STEP,
        /** Half a cosine from the rate down to 0 over the epochs (PyTorch's CosineAnnealingLR). */
        COSINE;

        /** This schedule starting from {@code rate}. */
        public LearningRateSchedule from(double rate) {
            return switch (this) {
                case NONE -> LearningRateSchedule.constant(rate);
                case STEP -> (epoch, epochs) -> rate * (epoch >= epochs * 3 / 4 && epochs >= 4 ? 0.01
                        : epoch >= epochs / 2 && epochs >= 2 ? 0.1 : 1);
                case COSINE -> LearningRateSchedule.cosine(rate);
            };
        }
    }

    public TrainingOptions {
        if (epochs < 1) {
            throw new IllegalArgumentException("epochs must be >= 1, got " + epochs);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be >= 1, got " + batchSize);
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be finite and > 0, got " + learningRate);
        }
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weight decay must be finite and >= 0, got " + weightDecay);
        }
        java.util.Objects.requireNonNull(schedule, "schedule");
    }

    /** The PyTorch peer's recipe: 3 epochs, batch 64, lr 0.05, momentum 0.9, no decay, no schedule, seed 0. */
    public static TrainingOptions peerRecipe() {
        return new TrainingOptions(3, 64, 0.05, 0.9, 0, Schedule.NONE, 0);
    }

    public TrainingOptions withEpochs(int epochs) {
        return new TrainingOptions(epochs, batchSize, learningRate, momentum, weightDecay, schedule, seed);
    }

    public TrainingOptions withBatchSize(int batchSize) {
        return new TrainingOptions(epochs, batchSize, learningRate, momentum, weightDecay, schedule, seed);
    }

    public TrainingOptions withLearningRate(double learningRate) {
        return new TrainingOptions(epochs, batchSize, learningRate, momentum, weightDecay, schedule, seed);
    }

    public TrainingOptions withMomentum(double momentum) {
        return new TrainingOptions(epochs, batchSize, learningRate, momentum, weightDecay, schedule, seed);
    }

    public TrainingOptions withWeightDecay(double weightDecay) {
        return new TrainingOptions(epochs, batchSize, learningRate, momentum, weightDecay, schedule, seed);
    }

    public TrainingOptions withSchedule(Schedule schedule) {
        return new TrainingOptions(epochs, batchSize, learningRate, momentum, weightDecay, schedule, seed);
    }

    public TrainingOptions withSeed(long seed) {
        return new TrainingOptions(epochs, batchSize, learningRate, momentum, weightDecay, schedule, seed);
    }
}
