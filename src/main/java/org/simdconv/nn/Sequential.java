package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.tensor.Tensor;

/**
 * Layers run one after another, as PyTorch's {@code nn.Sequential}: the forward pass feeds each
 * layer's output to the next, the backward pass the gradients back, writing every parameter's
 * gradient on the way (seed 000 eqs. 1-13 for one convolution; the chain rule for the rest).
 *
 * <pre>
 *   try (Sequential model = new Sequential(
 *           new Conv2d(1, 4, 3), new ReLU(), new MaxPool2d(2),
 *           new Conv2d(4, 6, 3), new ReLU(), new MaxPool2d(2),
 *           new Flatten(), new Linear(150, 32), new ReLU(), new Linear(32, 10))) {
 *       Tensor logits = model.forward(images);          // N x 1 x 28 x 28 in, N x 10 out
 *       double loss = lossFunction.forward(logits, labels);
 *       model.backward(lossFunction.backward());
 *       optimizer.step();
 *   }
 * </pre>
 *
 * <p>A ReLU right before a max pooling is computed by the pooling, in one pass over the activations
 * rather than two: max commutes with ReLU, {@code maxpool(relu(x)) = relu(maxpool(x))}, and the
 * gradient goes where both layers would have sent it (the fusion of oneDNN's post-ops).
 *
 * <p>The model owns its parameters (named as PyTorch's {@code state_dict}: {@code 0.weight},
 * {@code 0.bias}, {@code 3.weight}, ...), and each layer its activations and gradients, kept per
 * input shape and reused from batch to batch: after the first batch of a size, a training step
 * allocates nothing. The tensor {@link #forward} returns belongs to the model and is overwritten by
 * the next forward pass; the input must stay unchanged until the backward pass.
 *
 * <p>Threads: {@link #forward}, {@link #backward} and the parameter methods are for one thread at a
 * time (the one that trains; the kernels use the model's own threads). {@link #predict} may be
 * called from any number of threads at once, when nothing trains the model: the calls take turns
 * and each gets what it would get alone. Closing the model releases all of its memory.
 */
public final class Sequential implements AutoCloseable {

    private final Execution execution;
    private final List<Layer> layers;
    /** The lock {@link #predict} calls take turns on. */
    private final Object predicting = new Object();
    private final List<Parameter> parameters;
    private final Map<String, Parameter> byName = new LinkedHashMap<>();
    private final Arena arena = Arena.ofShared();
    private int[] checkedInput;
    private long[] forwardNanos;
    private long[] backwardNanos;
    private long[] forwardFlops;
    private long passes;
    private boolean timingOn;
    private boolean forwardDone;
    private boolean closed;

    /** The layers on the automatic kernels and every core, initialised from seed 0. */
    public Sequential(Layer... layers) {
        this(Execution.defaults(), layers);
    }

    /** The layers on the given kernels and threads, initialised from seed 0. */
    public Sequential(Execution execution, Layer... layers) {
        this.execution = Objects.requireNonNull(execution, "execution");
        Objects.requireNonNull(layers, "layers");
        if (layers.length == 0) {
            throw new IllegalArgumentException("a Sequential model needs at least one layer");
        }
        this.layers = List.of(layers); // also rejects null layers
        List<Parameter> all = new ArrayList<>();
        try {
            for (int i = 0; i < layers.length; i++) {
                layers[i].attach(execution, arena, Integer.toString(i));
                for (Parameter p : layers[i].parameters()) {
                    all.add(p);
                    byName.put(p.name(), p);
                }
            }
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
        this.parameters = Collections.unmodifiableList(all);
        for (int i = 0; i + 1 < layers.length; i++) {
            if (layers[i] instanceof ReLU relu && layers[i + 1] instanceof MaxPool2d pool) {
                relu.fuseIntoNext();
                pool.rectify();
            }
        }
        initialize(0);
    }

    /**
     * Draws every parameter afresh from {@code seed}, layer by layer, each as PyTorch's default
     * initialisation of its kind (uniform in {@code +-1/sqrt(fan_in)}): the same seed, the same model.
     */
    public void initialize(long seed) {
        requireOpen();
        SplittableRandom random = new SplittableRandom(seed);
        for (Layer layer : layers) {
            layer.initialize(random);
        }
    }

    /** The kernels and threads this model runs on. */
    public Execution execution() {
        return execution;
    }

    public List<Layer> layers() {
        return layers;
    }

    /** The parameters in {@code state_dict} order. */
    public List<Parameter> parameters() {
        return parameters;
    }

    /** The parameter of that {@code state_dict} name, or null. */
    public Parameter parameter(String name) {
        return byName.get(name);
    }

    /**
     * The parameters by {@code state_dict} name, in order: the model's own tensors (conv weights
     * OIHW, dense weights {@code [out, in]}), for saving.
     */
    public Map<String, Tensor> stateDict() {
        requireOpen();
        Map<String, Tensor> dict = new LinkedHashMap<>();
        for (Parameter p : parameters) {
            dict.put(p.name(), p.value());
        }
        return dict;
    }

    /**
     * Copies {@code tensors} into the parameters of the same names. Strict, and all or nothing: every
     * name must be a parameter and every parameter must be there, with its exact shape; otherwise an
     * {@link IllegalArgumentException} names the first tensor that does not fit and no parameter changes.
     */
    public void loadStateDict(Map<String, Tensor> tensors) {
        checkStateDict(tensors);
        for (Parameter p : parameters) {
            tensors.get(p.name()).copyTo(p.value());
        }
    }

    /**
     * The checks of {@link #loadStateDict}, without loading: for a caller that loads more than the
     * model and must know that every part fits before any changes.
     */
    public void checkStateDict(Map<String, Tensor> tensors) {
        requireOpen();
        Objects.requireNonNull(tensors, "tensors");
        for (String name : tensors.keySet()) {
            if (!byName.containsKey(name)) {
                throw new IllegalArgumentException("tensor '" + name + "' is not a parameter of this model (it has "
                        + byName.keySet() + ")");
            }
        }
        for (Parameter p : parameters) {
            Tensor t = tensors.get(p.name());
            if (t == null) {
                throw new IllegalArgumentException("tensor '" + p.name() + "' is missing (shape "
                        + Arrays.toString(p.value().shape()) + ")");
            }
            if (!t.hasShapeOf(p.value())) {
                throw new IllegalArgumentException("tensor '" + p.name() + "' has shape " + Arrays.toString(t.shape())
                        + ", the model needs " + Arrays.toString(p.value().shape()));
            }
            t.requireAlive("tensor '" + p.name() + "'");
        }
    }

    /** Total number of trained values. */
    public long parameterCount() {
        long count = 0;
        for (Parameter p : parameters) {
            count += p.value().elementCount();
        }
        return count;
    }

    /**
     * The shape of the model's output for an input of {@code inputShape}.
     *
     * @throws IllegalArgumentException naming the first layer the shape does not fit, and why
     */
    public int[] outputShape(int... inputShape) {
        int[] shape = inputShape.clone();
        for (int i = 0; i < layers.size(); i++) {
            try {
                shape = layers.get(i).outputShape(shape);
                long elements = 1;
                for (int d : shape) {
                    elements *= d;
                }
                if (elements > Conv2dGeometry.MAX_ELEMENTS) {
                    throw new IllegalArgumentException("its output " + Arrays.toString(shape) + " would hold " + elements
                            + " elements, more than the " + Conv2dGeometry.MAX_ELEMENTS + " (2^31 - 9) a layer's "
                            + "tensor may hold: split the batch");
                }
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("layer (" + i + ") " + layers.get(i) + " cannot take input "
                        + Arrays.toString(shape) + ": " + e.getMessage(), e);
            }
        }
        return shape;
    }

    /**
     * The forward pass over a batch: {@code input} (plain or channel-blocked, dense) goes through
     * every layer. The result belongs to the model, valid until the next forward pass.
     */
    public Tensor forward(Tensor input) {
        requireOpen();
        Objects.requireNonNull(input, "input");
        input.requireAlive("input");
        if (checkedInput == null || !input.hasShape(checkedInput)) {
            int[] shape = input.shape();
            outputShape(shape);
            if (!input.isContiguous()) {
                throw new IllegalArgumentException("input must be dense (a contiguous tensor), got " + input);
            }
            checkedInput = shape;
        }
        Tensor x = input;
        if (!timingOn) {
            for (int i = 0; i < layers.size(); i++) {
                x = layers.get(i).forward(x);
            }
        } else {
            for (int i = 0; i < layers.size(); i++) {
                forwardFlops[i] += layers.get(i).flops(x.shape());
                long start = System.nanoTime();
                x = layers.get(i).forward(x);
                forwardNanos[i] += System.nanoTime() - start;
            }
            passes++;
        }
        forwardDone = true;
        return x;
    }

    /**
     * Inference, safe from several threads at once: the forward pass of {@code input}, its output
     * copied into the caller's {@code output} (of the shape {@link #outputShape} gives, any layout).
     * Calls take turns on the model, whose kernels use its own threads, so each gets exactly what it
     * would get alone. Not to be mixed with training calls ({@link #forward}, {@link #backward}) at
     * the same time.
     */
    public void predict(Tensor input, Tensor output) {
        Objects.requireNonNull(output, "output");
        output.requireAlive("output");
        synchronized (predicting) {
            Tensor y = forward(input);
            if (!output.hasShapeOf(y)) {
                throw new IllegalArgumentException("output has shape " + java.util.Arrays.toString(output.shape())
                        + ", the model gives " + java.util.Arrays.toString(y.shape()) + " for this input");
            }
            y.copyTo(output);
            forwardDone = false; // a predict is no forward pass to go back through
        }
    }

    /**
     * The backward pass of the last forward pass: {@code gradOutput}, the loss's gradient with
     * respect to the output, goes back through every layer, and each parameter's {@link
     * Parameter#grad()} receives its gradient (overwritten, not added). The gradient with respect
     * to the model's input is not computed.
     */
    public void backward(Tensor gradOutput) {
        requireOpen();
        Objects.requireNonNull(gradOutput, "gradOutput");
        if (!forwardDone) {
            throw new IllegalStateException("backward needs a forward pass first");
        }
        Tensor g = gradOutput;
        for (int i = layers.size() - 1; i >= 0; i--) {
            long start = timingOn ? System.nanoTime() : 0;
            g = layers.get(i).backward(g, i > 0);
            if (timingOn) {
                backwardNanos[i] += System.nanoTime() - start;
            }
        }
    }

    /**
     * Starts (or restarts from zero) timing every layer's forward and backward passes, at the cost of
     * two clock reads per layer and pass; {@link #layerTimes()} reports them.
     */
    public void startTiming() {
        forwardNanos = new long[layers.size()];
        backwardNanos = new long[layers.size()];
        forwardFlops = new long[layers.size()];
        passes = 0;
        timingOn = true;
    }

    /** Pauses timing (false) or resumes it (true) without losing the times so far. */
    public void timing(boolean on) {
        timingOn = on && forwardNanos != null;
    }

    /**
     * The time of one layer's passes since {@link #startTiming()}, and the floating-point operations
     * of its forward passes ({@link Layer#flops}); a backward pass does about twice as many (once
     * for the first layer, which computes no input gradient).
     */
    public record LayerTime(int index, Layer layer, long forwardNanos, long backwardNanos, long forwardPasses,
                            long forwardFlops) {
    }

    /** Each layer's time since {@link #startTiming()}; empty when timing was never started. */
    public List<LayerTime> layerTimes() {
        List<LayerTime> times = new ArrayList<>();
        for (int i = 0; forwardNanos != null && i < layers.size(); i++) {
            times.add(new LayerTime(i, layers.get(i), forwardNanos[i], backwardNanos[i], passes, forwardFlops[i]));
        }
        return times;
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("the model is closed");
        }
    }

    /** Releases the parameters and every layer's memory; the model cannot be used after. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        for (Layer layer : layers) {
            layer.release();
        }
        arena.close();
    }

    /** As PyTorch prints a model: one line per layer with its index. */
    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("Sequential(\n");
        for (int i = 0; i < layers.size(); i++) {
            s.append("  (").append(i).append("): ").append(layers.get(i)).append('\n');
        }
        return s.append(')').toString();
    }
}
