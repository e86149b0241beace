package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
 * buffers are allocated once, with the optimiser; a step allocates nothing. Not thread-safe: the
 * thread that trains the model steps it.
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

    /**
     * The optimiser's state by parameter name (PyTorch's {@code momentum_buffer} of each parameter),
     * for a checkpoint: the velocities once a step has been taken with momentum, else nothing. The
     * tensors are the optimiser's own.
     */
    public Map<String, Tensor> state() {
        Map<String, Tensor> state = new LinkedHashMap<>();
        for (int i = 0; i < velocity.length && momentum != 0 && stepped; i++) {
            state.put(parameters.get(i).name(), velocity[i]);
        }
        return state;
    }

    /**
     * Restores what {@link #state} returned, so that the next step is the one an uninterrupted run
     * would take. All or nothing: an empty map means no step was taken; otherwise every parameter's
     * velocity must be there with its shape, and nothing else, or an {@link IllegalArgumentException}
     * names the first that is not and nothing changes.
     */
    public void loadState(Map<String, Tensor> state) {
        checkState(state);
        if (state.isEmpty()) {
            stepped = false;
            return;
        }
        for (int i = 0; i < velocity.length; i++) {
            state.get(parameters.get(i).name()).copyTo(velocity[i]);
        }
        stepped = true;
    }

    /** The checks of {@link #loadState}, without loading. */
    public void checkState(Map<String, Tensor> state) {
        Objects.requireNonNull(state, "state");
        if (state.isEmpty()) {
            return;
        }
        if (momentum == 0) {
            throw new IllegalArgumentException("momentum buffers given to an SGD without momentum: " + state.keySet());
        }
        for (String name : state.keySet()) {
            if (parameters.stream().noneMatch(p -> p.name().equals(name))) {
                throw new IllegalArgumentException("momentum buffer '" + name + "' belongs to no parameter");
            }
        }
        for (int i = 0; i < velocity.length; i++) {
            Tensor t = state.get(parameters.get(i).name());
            if (t == null || !Arrays.equals(t.shape(), velocity[i].shape())) {
                throw new IllegalArgumentException("momentum buffer '" + parameters.get(i).name() + "' is "
                        + (t == null ? "missing" : "of shape " + Arrays.toString(t.shape())) + ", need shape "
                        + Arrays.toString(velocity[i].shape()));
            }
        }
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
