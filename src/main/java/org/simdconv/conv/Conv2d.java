package org.simdconv.conv;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Objects;
import org.simdconv.internal.Backend;
import org.simdconv.internal.Backends;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * A 2-D convolution: its options (stride, padding, dilation, groups), the implementation that
 * runs it and the threads it runs on. Immutable and thread-safe; weights are arguments, not state.
 *
 * <p>For a layer, make a {@link Conv2dPlan} ({@link #plan}): it is bound to one geometry, keeps the
 * weights packed and its workspace from call to call. The pass methods here are the same passes
 * for a one-off call: they use plans kept per geometry, at most {@value PlanCache#BUDGET_BYTES}
 * bytes of them per {@code Conv2d} (the least recently used are dropped beyond that).
 *
 * <pre>{@code
 * Conv2d conv = Conv2d.create(Conv2dOptions.defaults().withStride(2).withPadding(Padding.of(1)));
 * try (Arena arena = Arena.ofShared()) {                     // shared: the pool's threads use it
 *     Tensor x = Tensor.wrap(pixels, 8, 3, 224, 224);         // no copy
 *     Tensor w = Tensor.wrap(filters, 64, 3, 3, 3);
 *     Tensor y = conv.forward(arena, x, w, null);               // 8 x 64 x 112 x 112, NCHW
 * }
 * }</pre>
 *
 * <p>Activations may be in any {@link Layout}; the kernels compute on {@link #preferredLayout}, and
 * an activation in another layout is reordered on the way in and out. Every method checks the whole
 * problem before it touches any memory (see {@link Conv2dPlan}).
 */
public final class Conv2d {

    private final Conv2dOptions options;
    private final Backend backend;
    private final Parallelism parallelism;
    private final PlanCache plans;

    private Conv2d(Conv2dOptions options, Backend backend, Parallelism parallelism, long planCacheBytes) {
        this.options = options;
        this.backend = backend;
        this.parallelism = parallelism;
        this.plans = new PlanCache(planCacheBytes);
    }

    /** A convolution with the given options, the {@link Implementation#AUTO} kernels and all cores. */
    public static Conv2d create(Conv2dOptions options) {
        Objects.requireNonNull(options, "options");
        return new Conv2d(options, backendOf(Implementation.AUTO), Parallelism.allCores(), PlanCache.BUDGET_BYTES);
    }

    /** The same convolution run by other kernels. */
    public Conv2d withImplementation(Implementation implementation) {
        Objects.requireNonNull(implementation, "implementation");
        return new Conv2d(options, backendOf(implementation), parallelism, plans.budget());
    }

    /** The same convolution run on other threads. */
    public Conv2d withParallelism(Parallelism parallelism) {
        Objects.requireNonNull(parallelism, "parallelism");
        return new Conv2d(options, backend, parallelism, plans.budget());
    }

    /**
     * The same convolution whose pass methods keep at most {@code bytes} of plans (packed weights,
     * workspaces) before they drop the least recently used; {@value PlanCache#BUDGET_BYTES} by default.
     */
    public Conv2d withPlanCacheBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("bytes must be >= 0, got " + bytes);
        }
        return new Conv2d(options, backend, parallelism, bytes);
    }

    /** True when the Vector API path can run in this JVM. */
    public static boolean simdAvailable() {
        return Backends.simdAvailable();
    }

    public Conv2dOptions options() {
        return options;
    }

    public Parallelism parallelism() {
        return parallelism;
    }

    /** The name of the implementation that runs the passes, such as {@code simd-direct-512bit}. */
    public String kernelsName() {
        return backend.name();
    }

    /**
     * The kernel that runs {@code pass} for an input of shape NCHW and weights of shape K,C/g,R,S,
     * as {@code implementation/kernel}: the first of the implementation's ordered list of kernels
     * that accepts the problem runs it, never a silent fallback.
     */
    public String kernelName(Conv2dPass pass, int[] inputShape, int[] weightShape) {
        Objects.requireNonNull(pass, "pass");
        return plan(geometry(inputShape, weightShape)).kernelName(pass);
    }

    /** The geometry of this convolution on an input of shape NCHW and weights of shape K,C/g,R,S. */
    public Conv2dGeometry geometry(int[] inputShape, int[] weightShape) {
        return Conv2dGeometry.of(inputShape, weightShape, options);
    }

    /**
     * The layout the kernels compute on for an activation of {@code channels} channels (oneDNN's
     * "format any"): channel blocks of the vector width when the channels fill at least half a block,
     * else plain NCHW. Keep activations in it from layer to layer and no pass reorders them.
     */
    public Layout preferredLayout(int channels) {
        if (channels < 1) {
            throw new IllegalArgumentException("channels must be >= 1, got " + channels);
        }
        return backend.preferredLayout(channels);
    }

    /** A plan for this geometry, with a workspace of its own: one per layer. */
    public Conv2dPlan plan(Conv2dGeometry geometry) {
        return plan(geometry, new Workspace());
    }

    /**
     * A plan for this geometry that leases its scratch memory from {@code workspace}: plans that run
     * one after another (the layers of a model) may share one.
     */
    public Conv2dPlan plan(Conv2dGeometry geometry, Workspace workspace) {
        Objects.requireNonNull(geometry, "geometry");
        Objects.requireNonNull(workspace, "workspace");
        Conv2dGeometry checked = Conv2dGeometry.of(geometry.inputShape(), geometry.weightShape(), options);
        if (!checked.equals(geometry)) {
            throw new IllegalArgumentException("geometry " + geometry + " is not this convolution's (" + options
                    + "): for these shapes it is " + checked);
        }
        return new Conv2dPlan(geometry, backend, parallelism, workspace);
    }

    /** A plan for an input of shape NCHW and weights of shape K,C/g,R,S. */
    public Conv2dPlan plan(int[] inputShape, int[] weightShape) {
        return plan(geometry(inputShape, weightShape));
    }

    /**
     * Forward pass into a new tensor allocated in {@code arena}: plain NCHW when the input is plain,
     * else in {@link #preferredLayout} of the output channels.
     */
    public Tensor forward(Arena arena, Tensor input, Tensor weight, Tensor bias) {
        Objects.requireNonNull(arena, "arena");
        Conv2dPlan plan = planFor("input", input, "weight", weight);
        int[] shape = plan.geometry().outputShape();
        Tensor output = Tensor.allocate(arena, input.layout().isPlain() ? Layout.plain() : preferredLayout(shape[1]),
                shape);
        plan.forward(input, weight, bias, output);
        return output;
    }

    /** Forward pass, {@code output = W * input + bias}; {@code bias} may be null. */
    public void forward(Tensor input, Tensor weight, Tensor bias, Tensor output) {
        planFor("input", input, "weight", weight).forward(input, weight, bias, output);
    }

    /** The gradient with respect to the input; {@code gradInput}'s shape is the input's. */
    public void backwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, Accumulation mode) {
        planFor("gradInput", gradInput, "weight", weight).backwardData(gradOutput, weight, gradInput, mode);
    }

    /**
     * The gradients with respect to the weights and, when {@code gradBias} is not null, the bias,
     * summed over the batch.
     */
    public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                Accumulation mode) {
        planFor("input", input, "gradWeight", gradWeight).backwardWeights(input, gradOutput, gradWeight, gradBias,
                mode);
    }

    @Override
    public String toString() {
        return "Conv2d[" + options + ", " + backend.name() + ", " + parallelism + "]";
    }

    /**
     * The kept plan of the geometry these tensors give. {@link Conv2dGeometry} names its parameters
     * "input" and "weight"; a rejection here also names the caller's arguments (gradInput,
     * gradWeight) and their shapes, so that the message says which tensor is wrong.
     */
    private Conv2dPlan planFor(String inputName, Tensor input, String weightName, Tensor weight) {
        Objects.requireNonNull(input, inputName);
        Objects.requireNonNull(weight, weightName);
        Conv2dPlan plan = plans.lastFor(input, weight);
        if (plan != null) {
            return plan;
        }
        Conv2dGeometry g;
        try {
            g = Conv2dGeometry.of(input.shape(), weight.shape(), options);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(inputName + " " + Arrays.toString(input.shape()) + " and " + weightName
                    + " " + Arrays.toString(weight.shape()) + ": " + e.getMessage(), e);
        }
        return plans.plan(g, this::plan);
    }

    /** The plans kept for the pass methods (for tests of the bound). */
    PlanCache plans() {
        return plans;
    }

    private static Backend backendOf(Implementation implementation) {
        return switch (implementation) {
            case SCALAR -> Backends.reference();
            case SIMD -> Backends.simd();
            case AUTO -> Backends.auto();
        };
    }
}
