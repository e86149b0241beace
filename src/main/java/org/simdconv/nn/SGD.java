package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Objects;
import org.simdconv.tensor.Tensor;

/**
 * Stochastic gradient descent with momentum and weight decay, as PyTorch's {@code torch.optim.SGD}
 * (no dampening, no Nesterov): for each parameter {@code p} with gradient {@code g},
 * <pre>
 *   g = g + weightDecay * p
 *   v = g                       on the first step
 *   v = momentum * v + g        after
 *   p = p - lr * v
 * </pre>
 * (seed 003's update {@code w = w - lr * dw} when momentum and weight decay are 0). The velocity
 * buffers are allocated once, with the optimiser; a step allocates nothing.
 */
public final class SGD implements AutoCloseable {

    private final List<Parameter> parameters;
    private final Tensor[] velocity;
    private final Arena arena = Arena.ofShared();
    private final double momentum;
    private final double weightDecay;
    private double learningRate;
    private boolean stepped;

    /** Plain SGD, {@code p = p - lr * g}. */
    public SGD(List<Parameter> parameters, double learningRate) {
        this(parameters, learningRate, 0, 0);
    }

    /** SGD with {@code momentum} (0 for none) and L2 {@code weightDecay} (0 for none). */
    public SGD(List<Parameter> parameters, double learningRate, double momentum, double weightDecay) {
        this.parameters = List.copyOf(Objects.requireNonNull(parameters, "parameters"));
        requireRate(learningRate);
        if (!(momentum >= 0 && momentum < 1)) {
            throw new IllegalArgumentException("momentum must be in [0, 1), got " + momentum);
        }
        if (!(weightDecay >= 0) || Double.isInfinite(weightDecay)) {
            throw new IllegalArgumentException("weightDecay must be finite and >= 0, got " + weightDecay);
        }
        this.learningRate = learningRate;
        this.momentum = momentum;
        this.weightDecay = weightDecay;
        this.velocity = new Tensor[this.parameters.size()];
        for (int i = 0; i < velocity.length && momentum != 0; i++) {
            velocity[i] = Tensor.allocate(arena, this.parameters.get(i).value().shape());
        }
    }

    private static void requireRate(double learningRate) {
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("learning rate must be finite and > 0, got " + learningRate);
        }
    }

    /** Updates every parameter from its gradient. */
    public void step() {
        for (int i = 0; i < velocity.length; i++) {
            Parameter p = parameters.get(i);
            p.execution().backend().layers().sgdStep(p.value(), p.grad(), velocity[i], (float) learningRate,
                    (float) momentum, (float) weightDecay, !stepped, p.execution().parallelism());
        }
        stepped = true;
    }

    public double learningRate() {
        return learningRate;
    }

    /** Sets the rate of the following steps (a schedule calls this between epochs). */
    public void setLearningRate(double learningRate) {
        requireRate(learningRate);
        this.learningRate = learningRate;
    }

    public double momentum() {
        return momentum;
    }

    public double weightDecay() {
        return weightDecay;
    }

    /** Releases the velocity buffers. */
    @Override
    public void close() {
        arena.close();
    }

    @Override
    public String toString() {
        return "SGD(lr=" + learningRate + ", momentum=" + momentum + ", weight_decay=" + weightDecay + ")";
    }
}
