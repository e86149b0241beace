package org.simdconv.nn;

/**
 * The learning rate of each epoch (counted from 0), set on the optimiser before the epoch runs.
 * The schedules of PyTorch's {@code torch.optim.lr_scheduler} stepped once per epoch.
 */
@FunctionalInterface
public interface LearningRateSchedule {

    /** The rate for epoch {@code epoch} of {@code epochs}. */
    double rate(int epoch, int epochs);

    /** The same rate throughout. */
    static LearningRateSchedule constant(double rate) {
        return (epoch, epochs) -> rate;
    }

    /** {@code rate * gamma^(epoch / every)}: PyTorch's {@code StepLR(step_size=every, gamma)}. */
    static LearningRateSchedule step(double rate, int every, double gamma) {
        if (every < 1 || !(gamma > 0 && gamma <= 1)) {
            throw new IllegalArgumentException("step schedule: every must be >= 1 and gamma in (0, 1], got every="
                    + every + ", gamma=" + gamma);
        }
        return (epoch, epochs) -> rate * Math.pow(gamma, epoch / every);
    }

    /**
     * Half a cosine from {@code rate} at epoch 0 towards 0 after the last epoch: {@code rate * (1 +
     * cos(pi * epoch / epochs)) / 2}, PyTorch's {@code CosineAnnealingLR(T_max=epochs, eta_min=0)}.
     */
    static LearningRateSchedule cosine(double rate) {
        return (epoch, epochs) -> rate * (1 + Math.cos(Math.PI * epoch / epochs)) / 2;
    }
}
