package org.simdconv.conv;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.ChannelBlockedLayout;
import org.simdconv.tensor.Tensor;

/**
 * A 2-D convolution layer's arithmetic: forward, backward-data and backward-weights/bias on NCHW
 * tensors with OIHW weights. Immutable and thread-safe; the weights are arguments, not state.
 *
 * <pre>{@code
 * Conv2d conv = Conv2d.create(Conv2dOptions.defaults().withStride(2).withPadding(Padding.of(1)));
 * try (Arena arena = Arena.ofShared()) {                     // shared: the pool's threads use it
 *     Tensor x = Tensor.wrap(pixels, 8, 3, 224, 224);         // no copy
 *     Tensor w = Tensor.wrap(filters, 64, 3, 3, 3);
 *     Tensor y = conv.forward(arena, x, w, null);               // 8 x 64 x 112 x 112
 * }
 * }</pre>
 *
 * <p>Tensors in a confined arena may only be touched by their owner thread: a pass that gets one
 * runs on the calling thread, and the first time this happens a warning says so. Use a shared or
 * automatic arena (or heap arrays) to use every thread.
 *
 * <p>Every method checks the whole problem before it touches any memory: shapes against the
 * geometry, tensors alive (their arena open), contiguous and not overlapping the result. A bad
 * argument gives an {@link IllegalArgumentException} (or {@link IllegalStateException} for released
 * memory) that names it, and leaves every tensor as it was.
 */
public final class Conv2d {

    /** Never started: stands for "any thread but the caller" when asking who may access a segment. */
    private static final Thread ANOTHER_THREAD = Thread.ofVirtual().unstarted(() -> { });
    private static final java.util.concurrent.atomic.AtomicBoolean CONFINED_WARNING_GIVEN =
            new java.util.concurrent.atomic.AtomicBoolean();

    private final Conv2dOptions options;
    private final Conv2dKernels kernels;
    private final Parallelism parallelism;
    /**
     * The geometry and shapes of the last call, reused while the tensors keep their shapes (every
     * call of a training loop): resolving them again allocated on every call.
     */
    private volatile Shapes lastShapes;

    private Conv2d(Conv2dOptions options, Conv2dKernels kernels, Parallelism parallelism) {
        this.options = options;
        this.kernels = kernels;
        this.parallelism = parallelism;
    }

    /** A convolution with the given options, the {@link Implementation#AUTO} kernels and all cores. */
    public static Conv2d create(Conv2dOptions options) {
        Objects.requireNonNull(options, "options");
        return new Conv2d(options, KernelSelection.select(Implementation.AUTO), DefaultPool.PARALLELISM);
    }

    /** The same convolution run by other kernels. */
    public Conv2d withImplementation(Implementation implementation) {
        Objects.requireNonNull(implementation, "implementation");
        return new Conv2d(options, KernelSelection.select(implementation), parallelism);
    }

    /** The same convolution run on other threads. */
    public Conv2d withParallelism(Parallelism parallelism) {
        Objects.requireNonNull(parallelism, "parallelism");
        return new Conv2d(options, kernels, parallelism);
    }

    /** True when the Vector API path can run in this JVM. */
    public static boolean simdAvailable() {
        return KernelSelection.simdAvailable();
    }

    public Conv2dOptions options() {
        return options;
    }

    public Parallelism parallelism() {
        return parallelism;
    }

    /** The name of the kernels that run the passes, for logs and reports. */
    public String kernelsName() {
        return kernels.name();
    }

    /**
     * The name of the kernel that runs {@code pass} for an input of shape NCHW and weights of shape
     * K,C/g,R,S: implementations keep an ordered list of kernels, and the first that accepts a
     * problem runs it, never a silent fallback.
     */
    public String kernelName(Conv2dPass pass, int[] inputShape, int[] weightShape) {
        Objects.requireNonNull(pass, "pass");
        return kernels.kernelName(pass, geometry(inputShape, weightShape));
    }

    /** The geometry of this convolution on an input of shape NCHW and weights of shape K,C/g,R,S. */
    public Conv2dGeometry geometry(int[] inputShape, int[] weightShape) {
        return Conv2dGeometry.of(inputShape, weightShape, options);
    }

    /** Forward pass into a new tensor allocated in {@code arena}. */
    public Tensor forward(Arena arena, Tensor input, Tensor weight, Tensor bias) {
        Objects.requireNonNull(arena, "arena");
        Conv2dGeometry g = checkForward(input, weight, bias).g();
        Tensor output = Tensor.allocate(arena, g.outputShape());
        kernels.forward(g, input, weight, bias, output, parallelismFor(input, weight, bias, output));
        return output;
    }

    /** Forward pass, {@code output = W * input + bias}; {@code bias} may be null. */
    public void forward(Tensor input, Tensor weight, Tensor bias, Tensor output) {
        Shapes shapes = checkForward(input, weight, bias);
        Conv2dGeometry g = shapes.g();
        checkTensor("output", output, shapes.output(), g);
        checkDisjoint("output", output, "input", input);
        checkDisjoint("output", output, "weight", weight);
        checkDisjoint("output", output, "bias", bias);
        kernels.forward(g, input, weight, bias, output, parallelismFor(input, weight, bias, output));
    }

    /** The gradient with respect to the input; {@code gradInput}'s shape is the input's. */
    public void backwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, Accumulation mode) {
        Objects.requireNonNull(mode, "mode");
        requireTensor("gradInput", gradInput);
        requireTensor("weight", weight);
        Shapes shapes = geometryOf("gradInput", gradInput, "weight", weight);
        Conv2dGeometry g = shapes.g();
        checkTensor("gradOutput", gradOutput, shapes.output(), g);
        checkTensor("weight", weight, shapes.weight(), g);
        checkTensor("gradInput", gradInput, shapes.input(), g);
        checkDisjoint("gradInput", gradInput, "gradOutput", gradOutput);
        checkDisjoint("gradInput", gradInput, "weight", weight);
        kernels.backwardData(g, gradOutput, weight, gradInput, mode,
                parallelismFor(gradOutput, weight, gradInput, null));
    }

    /**
     * The gradients with respect to the weights and, when {@code gradBias} is not null, the bias,
     * summed over the batch.
     */
    public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                Accumulation mode) {
        Objects.requireNonNull(mode, "mode");
        requireTensor("input", input);
        requireTensor("gradWeight", gradWeight);
        Shapes shapes = geometryOf("input", input, "gradWeight", gradWeight);
        Conv2dGeometry g = shapes.g();
        checkTensor("input", input, shapes.input(), g);
        checkTensor("gradOutput", gradOutput, shapes.output(), g);
        checkGradients(shapes, input, gradOutput, gradWeight, gradBias);
        kernels.backwardWeights(g, input, gradOutput, gradWeight, gradBias, mode,
                parallelismFor(input, gradOutput, gradWeight, gradBias));
    }

    // ---- The channel-blocked entry points -----------------------------------------------------
    // Activations kept in the kernels' layout across layers (oneDNN's "format any"): no conversion
    // per call. Weights, bias and their gradients stay OIHW.

    /**
     * Channels per block of the blocked layout ({@link ChannelBlockedLayout}) for tensors of at least
     * half a block of channels: the vector lanes (8 with AVX2, 16 with AVX-512).
     */
    public int channelBlock() {
        return kernels.channelBlock();
    }

    /**
     * Channels per block of a blocked tensor with {@code channels} channels: {@link #channelBlock()},
     * or 1 when they fill less than half a block (a first layer's one or three channels): such a
     * tensor stays plain NCHW, as oneDNN's layout choice keeps it ({@link ChannelBlockedLayout#blockFor}).
     */
    public int channelBlock(int channels) {
        if (channels < 1) {
            throw new IllegalArgumentException("channels must be >= 1, got " + channels);
        }
        return ChannelBlockedLayout.blockFor(channels, channelBlock());
    }

    /**
     * The blocked shape {@code N x ceil(C/b) x H x W x b} of an NCHW shape, {@code b = channelBlock(C)}:
     * {@code N x C x H x W x 1}, the NCHW tensor itself, for fewer than half a block of channels.
     */
    public int[] blockedShape(int[] nchwShape) {
        Objects.requireNonNull(nchwShape, "nchwShape");
        if (nchwShape.length != 4) {
            throw new IllegalArgumentException("nchwShape must be 4-D (N, C, H, W), got " + Arrays.toString(nchwShape));
        }
        for (int i = 0; i < 4; i++) {
            if (nchwShape[i] < 1) {
                throw new IllegalArgumentException("nchwShape dimension " + "NCHW".charAt(i) + " must be >= 1, got "
                        + Arrays.toString(nchwShape));
            }
        }
        return ChannelBlockedLayout.blockedShape(nchwShape, channelBlock(nchwShape[1]));
    }

    /** Copies an NCHW tensor into its blocked form (padding channels zero). */
    public void toBlocked(Tensor nchw, Tensor blocked) {
        requireTensor("nchw", nchw);
        checkLayoutPair(nchw, blocked);
        layoutOf(nchw.shape()).toBlocked(nchw, blocked);
    }

    /** Copies a blocked tensor back into NCHW. */
    public void toNchw(Tensor blocked, Tensor nchw) {
        requireTensor("nchw", nchw);
        checkLayoutPair(nchw, blocked);
        layoutOf(nchw.shape()).toNchw(blocked, nchw);
    }

    /**
     * {@link #forward(Tensor, Tensor, Tensor, Tensor)} on blocked {@code input} and {@code output}
     * (shapes {@link #blockedShape} of the NCHW ones); {@code weight} OIHW, {@code bias} may be null.
     * The padding channels of a blocked input must be zero (as {@link #toBlocked} and every blocked
     * pass leave them).
     */
    public void forwardBlocked(Tensor input, Tensor weight, Tensor bias, Tensor output) {
        requireTensor("weight", weight);
        Shapes shapes = blockedGeometry("input", input, weight);
        Conv2dGeometry g = shapes.g();
        checkTensor("weight", weight, shapes.weight(), g);
        if (bias != null) {
            checkTensor("bias", bias, shapes.bias(), g);
        }
        checkTensor("output", output, shapes.blockedOutput(), g);
        checkDisjoint("output", output, "input", input);
        checkDisjoint("output", output, "weight", weight);
        checkDisjoint("output", output, "bias", bias);
        kernels.forwardBlocked(g, input, weight, bias, output, parallelismFor(input, weight, bias, output));
    }

    /** {@link #backwardData} on blocked {@code gradOutput} and {@code gradInput}. */
    public void backwardDataBlocked(Tensor gradOutput, Tensor weight, Tensor gradInput, Accumulation mode) {
        Objects.requireNonNull(mode, "mode");
        requireTensor("weight", weight);
        Shapes shapes = blockedGeometry("gradInput", gradInput, weight);
        Conv2dGeometry g = shapes.g();
        checkTensor("weight", weight, shapes.weight(), g);
        checkTensor("gradOutput", gradOutput, shapes.blockedOutput(), g);
        checkDisjoint("gradInput", gradInput, "gradOutput", gradOutput);
        checkDisjoint("gradInput", gradInput, "weight", weight);
        kernels.backwardDataBlocked(g, gradOutput, weight, gradInput, mode,
                parallelismFor(gradOutput, weight, gradInput, null));
    }

    /** {@link #backwardWeights} on blocked {@code input} and {@code gradOutput}; the gradients stay OIHW. */
    public void backwardWeightsBlocked(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                       Accumulation mode) {
        Objects.requireNonNull(mode, "mode");
        requireTensor("gradWeight", gradWeight);
        Shapes shapes = blockedGeometry("input", input, gradWeight);
        Conv2dGeometry g = shapes.g();
        checkTensor("gradOutput", gradOutput, shapes.blockedOutput(), g);
        checkGradients(shapes, input, gradOutput, gradWeight, gradBias);
        kernels.backwardWeightsBlocked(g, input, gradOutput, gradWeight, gradBias, mode,
                parallelismFor(input, gradOutput, gradWeight, gradBias));
    }

    /**
     * The geometry of a blocked activation and OIHW weights: {@code C = (C/groups) * groups} from the
     * weights, the rest from the activation, which must then have exactly the blocked shape.
     */
    private Shapes blockedGeometry(String name, Tensor blocked, Tensor weight) {
        requireTensor(name, blocked);
        Shapes last = lastShapes;
        if (last != null && blocked.hasShape(last.blockedInput()) && weight.hasShape(last.weight())) {
            checkTensor(name, blocked, last.blockedInput(), last.g());
            return last;
        }
        int[] b = blocked.shape(), w = weight.shape();
        if (b.length != 5 || (b[4] != channelBlock() && b[4] != 1)) {
            throw new IllegalArgumentException(name + ": a blocked tensor has shape (N, ceil(C/b), H, W, b) with b = "
                    + channelBlock() + " (or 1 for fewer than " + Math.ceilDiv(channelBlock(), 2) + " channels), got "
                    + Arrays.toString(b));
        }
        if (w.length != 4) {
            throw new IllegalArgumentException("weight must be 4-D (K, C/groups, R, S), got shape " + Arrays.toString(w));
        }
        int[] nchw = {b[0], (int) Math.min(Integer.MAX_VALUE, (long) w[1] * options.groups()), b[2], b[3]};
        Shapes shapes = remember(geometryOf(name + " (as NCHW)", nchw, "weight", w));
        checkTensor(name, blocked, shapes.blockedInput(), shapes.g());
        return shapes;
    }

    private ChannelBlockedLayout layoutOf(int[] nchw) {
        return new ChannelBlockedLayout(nchw[1], nchw[2], nchw[3], channelBlock(nchw[1]));
    }

    private void checkLayoutPair(Tensor nchw, Tensor blocked) {
        requireTensor("blocked", blocked);
        int[] expected = blockedShape(nchw.shape());
        if (!blocked.hasShape(expected) || !blocked.isContiguous() || !nchw.isContiguous()) {
            throw new IllegalArgumentException("blocked: shape " + Arrays.toString(blocked.shape()) + " must be the "
                    + "contiguous blocked shape " + Arrays.toString(expected) + " of the contiguous NCHW tensor "
                    + Arrays.toString(nchw.shape()));
        }
        checkDisjoint("blocked", blocked, "nchw", nchw);
    }

    @Override
    public String toString() {
        return "Conv2d[" + options + ", " + kernels.name() + ", " + parallelism + "]";
    }

    /**
     * The configured parallelism, unless a tensor lives in a confined arena: only its owner thread
     * may touch it, so the pass runs on the calling thread instead, and the first time this happens
     * a warning says how to get the threads back.
     */
    private Parallelism parallelismFor(Tensor a, Tensor b, Tensor c, Tensor d) { // not varargs: no array a call
        if (parallelism.threads() == 1 || kernels.runsOnCallingThread()) {
            return parallelism;
        }
        if (confined(a) || confined(b) || confined(c) || confined(d)) {
            if (CONFINED_WARNING_GIVEN.compareAndSet(false, true)) {
                System.getLogger("org.simdconv").log(System.Logger.Level.WARNING, "simdconv: a tensor's memory "
                        + "is confined to one thread, so this pass runs on the calling thread instead of "
                        + parallelism + "; allocate tensors in Arena.ofShared() or Arena.ofAuto() to use them all");
            }
            return Parallelism.serial();
        }
        return parallelism;
    }

    private static boolean confined(Tensor t) {
        return t != null && !t.segment().isAccessibleBy(ANOTHER_THREAD);
    }

    /** The weight and bias gradients of a backward-weights pass: shapes, and no overlap with the operands. */
    private static void checkGradients(Shapes shapes, Tensor input, Tensor gradOutput, Tensor gradWeight,
                                       Tensor gradBias) {
        checkTensor("gradWeight", gradWeight, shapes.weight(), shapes.g());
        if (gradBias != null) {
            checkTensor("gradBias", gradBias, shapes.bias(), shapes.g());
            checkDisjoint("gradBias", gradBias, "gradWeight", gradWeight);
            checkDisjoint("gradBias", gradBias, "input", input);
            checkDisjoint("gradBias", gradBias, "gradOutput", gradOutput);
        }
        checkDisjoint("gradWeight", gradWeight, "input", input);
        checkDisjoint("gradWeight", gradWeight, "gradOutput", gradOutput);
    }

    private Shapes checkForward(Tensor input, Tensor weight, Tensor bias) {
        requireTensor("input", input);
        requireTensor("weight", weight);
        Shapes shapes = geometryOf("input", input, "weight", weight);
        Conv2dGeometry g = shapes.g();
        checkTensor("input", input, shapes.input(), g);
        checkTensor("weight", weight, shapes.weight(), g);
        if (bias != null) {
            checkTensor("bias", bias, shapes.bias(), g);
        }
        return shapes;
    }

    /**
     * The geometry of the tensors that give the sizes. {@link Conv2dGeometry} names its parameters
     * "input" and "weight"; a rejection here also names the caller's arguments (gradInput, gradWeight)
     * and their shapes, so that the message says which tensor is wrong.
     */
    private Shapes geometryOf(String inputName, Tensor input, String weightName, Tensor weight) {
        Shapes last = lastShapes;
        if (last != null && input.hasShape(last.input()) && weight.hasShape(last.weight())) {
            return last;
        }
        return remember(geometryOf(inputName, input.shape(), weightName, weight.shape()));
    }

    /** The geometry's tensor shapes, NCHW and blocked, kept as the last call's. */
    private Shapes remember(Conv2dGeometry g) {
        Shapes shapes = new Shapes(g, g.inputShape(), g.weightShape(), g.outputShape(), g.biasShape(),
                blockedShape(g.inputShape()), blockedShape(g.outputShape()));
        lastShapes = shapes;
        return shapes;
    }

    /** A geometry and the shapes of its tensors (never modified: they are only compared). */
    private record Shapes(Conv2dGeometry g, int[] input, int[] weight, int[] output, int[] bias, int[] blockedInput,
                          int[] blockedOutput) {
    }

    private Conv2dGeometry geometryOf(String inputName, int[] input, String weightName, int[] weight) {
        try {
            return Conv2dGeometry.of(input, weight, options);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(inputName + " " + Arrays.toString(input) + " and " + weightName
                    + " " + Arrays.toString(weight) + ": " + e.getMessage(), e);
        }
    }

    private static void requireTensor(String name, Tensor t) {
        Objects.requireNonNull(t, name);
        t.requireAlive(name);
    }

    private static void checkTensor(String name, Tensor t, int[] expected, Conv2dGeometry g) {
        requireTensor(name, t);
        if (!t.hasShape(expected)) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape()) + " does not match "
                    + Arrays.toString(expected) + " expected for " + g);
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(name + ": the kernels need a contiguous (row-major) tensor, got strides "
                    + Arrays.toString(t.strides()) + " for shape " + Arrays.toString(t.shape()));
        }
    }

    /** A result that overlaps an operand would be read while it is being written. */
    private static void checkDisjoint(String resultName, Tensor result, String operandName, Tensor operand) {
        if (operand == null) {
            return;
        }
        long aBytes = result.elementCount() * Float.BYTES, bBytes = operand.elementCount() * Float.BYTES;
        boolean overlap;
        if (result.segment().isNative() && operand.segment().isNative()) { // addresses, without slices
            long a = result.segment().address() + result.byteOffset(), b = operand.segment().address() + operand.byteOffset();
            overlap = a < b + bBytes && b < a + aBytes;
        } else {
            MemorySegment a = result.segment().asSlice(result.byteOffset(), aBytes);
            MemorySegment b = operand.segment().asSlice(operand.byteOffset(), bBytes);
            overlap = a.asOverlappingSlice(b).isPresent();
        }
        if (overlap) {
            throw new IllegalArgumentException(resultName + " overlaps " + operandName
                    + ": a result must not share memory with an operand");
        }
    }

    /** All cores, on one daemon pool shared by every convolution that is not given another. */
    private static final class DefaultPool {
        static final Parallelism PARALLELISM = Parallelism.on(new java.util.concurrent.ForkJoinPool(
                Runtime.getRuntime().availableProcessors(), pool -> {
                    var thread = java.util.concurrent.ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
                    thread.setDaemon(true);
                    thread.setName("simdconv-" + thread.getPoolIndex());
                    return thread;
                }, null, false));
    }
}
