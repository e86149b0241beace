package org.simdconv.conv;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.simdconv.internal.Backend;
import org.simdconv.internal.conv.BackwardDataPrimitive;
import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvKernel;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvPrimitive;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.internal.conv.Side;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * A convolution bound to one geometry, as a layer uses it: it chooses the kernel of each pass once
 * (on first use of the pass), keeps the weights packed the way those kernels read them, and reuses
 * its {@link Workspace} from call to call, so that a repeated call allocates nothing. Make one per
 * layer: fifty layers of one geometry then pack their own weights once each, where a cache keyed by
 * geometry would repack on every call.
 *
 * <pre>{@code
 * Conv2d conv = Conv2d.create(Conv2dOptions.defaults().withPadding(Padding.same()));
 * Conv2dPlan plan = conv.plan(x.shape(), w.shape());              // once per layer
 * int[] shape = plan.geometry().outputShape();
 * Tensor y = Tensor.allocate(arena, plan.preferredLayout(shape[1]), shape);
 * plan.forward(x, w, b, y);                                        // every step
 * }</pre>
 *
 * <p><b>Layouts.</b> Every pass takes its activations in any layout: plain NCHW, or channel-blocked
 * with any block. A kernel computes on the layouts it {@linkplain #preferredLayout(int) prefers}
 * (channel blocks of the vector width, for the fast kernels); an activation in another layout is
 * reordered into a workspace and back, at a cost, so keep activations in the preferred layout from
 * layer to layer (oneDNN's "format any"). Weights and bias are plain: OIHW and K.
 *
 * <p><b>Weights.</b> The packed weights are kept with a copy of the OIHW weights they came from;
 * each call compares the caller's weights with that copy (a vectorised compare that stops at the
 * first difference) and packs again only when they differ, so inference packs once and a training
 * step, which changes the weights, repacks at once.
 *
 * <p><b>Checks.</b> Every method checks the whole problem before it touches any memory: shapes
 * against the geometry, tensors alive (their arena open), dense, and results not overlapping
 * operands. A bad argument gives an {@link IllegalArgumentException} (or
 * {@link IllegalStateException} for released memory) naming it, and leaves every tensor as it was.
 *
 * <p><b>Threads.</b> A plan is thread-safe: any number of threads may call it at once, with the
 * same or different weights; each call leases its own workspace memory. Tensors in a confined arena
 * may only be touched by their owner thread: a pass that gets one runs on the calling thread, and
 * the first time this happens a warning says so.
 */
public final class Conv2dPlan implements AutoCloseable {

    /** Never started: stands for "any thread but the caller" when asking who may access a segment. */
    private static final Thread ANOTHER_THREAD = Thread.ofVirtual().unstarted(() -> { });
    private static final AtomicBoolean CONFINED_WARNING_GIVEN = new AtomicBoolean();

    private final Conv2dGeometry geometry;
    private final ConvProblem problem;
    private final Backend backend;
    private final Parallelism parallelism;
    private final Workspace workspace;
    /** True when the activations' subnormals are flushed to zero ({@link Subnormals}). */
    private final boolean flushes;
    private final int[] inputShape;
    private final int[] weightShape;
    private final int[] biasShape;
    private final int[] outputShape;
    /** The primitive of each pass, made on the pass's first call; indexed by {@link ConvPass#ordinal()}. */
    private final AtomicReferenceArray<Stage> stages = new AtomicReferenceArray<>(ConvPass.values().length);
    /** The weights of the last call and their packed forms. */
    private volatile PackedWeights weights;
    /** Activations reordered into a layout the kernels take, kept for the next call. */
    private final AtomicReferenceArray<Reordered> reordered = new AtomicReferenceArray<>(Workspace.KEPT_LEASES);

    Conv2dPlan(Conv2dGeometry geometry, Backend backend, Parallelism parallelism, Workspace workspace) {
        this.geometry = geometry;
        this.problem = problemOf(geometry);
        this.backend = backend;
        this.parallelism = parallelism;
        this.workspace = workspace;
        this.flushes = backend.flushesSubnormals();
        this.inputShape = geometry.inputShape();
        this.weightShape = geometry.weightShape();
        this.biasShape = geometry.biasShape();
        this.outputShape = geometry.outputShape();
    }

    int[] geometryInputShape() {
        return inputShape;
    }

    int[] geometryWeightShape() {
        return weightShape;
    }

    /** The geometry every call of this plan has. */
    public Conv2dGeometry geometry() {
        return geometry;
    }

    public Parallelism parallelism() {
        return parallelism;
    }

    /** The workspace the passes lease their scratch memory from. */
    public Workspace workspace() {
        return workspace;
    }

    /**
     * The kernel that runs {@code pass}, as {@code implementation/kernel} (for example
     * {@code simd-direct-512bit/blocked-direct-2x4}): the first of the implementation's ordered
     * list that accepts the problem, never a silent fallback.
     */
    public String kernelName(Conv2dPass pass) {
        Objects.requireNonNull(pass, "pass");
        return backend.name() + "/" + stage(internal(pass)).kernel().name();
    }

    /**
     * The layout the kernels compute on for an activation of {@code channels} channels (the input's
     * or the output's), which every pass takes without a reorder.
     */
    public Layout preferredLayout(int channels) {
        return backend.preferredLayout(channels);
    }

    /** Bytes this plan keeps between calls: packed weights, their OIHW copy, idle workspace memory. */
    public long retainedBytes() {
        PackedWeights w = weights;
        long bytes = workspace.retainedBytes() + (w == null ? 0 : w.bytes());
        for (int i = 0; i < reordered.length(); i++) {
            Reordered r = reordered.get(i);
            bytes += r == null ? 0 : r.bytes();
        }
        return bytes;
    }

    /** Drops the packed weights and the idle workspace memory; the next call packs and allocates again. */
    @Override
    public void close() {
        weights = null;
        workspace.release();
        for (int i = 0; i < reordered.length(); i++) {
            reordered.set(i, null);
        }
    }

    @Override
    public String toString() {
        return "Conv2dPlan[" + geometry + ", " + backend.name() + ", " + parallelism + "]";
    }

    // ---- The passes ----------------------------------------------------------------------------

    /** Forward pass, {@code output = W * input + bias} (cross-correlation); {@code bias} may be null. */
    public void forward(Tensor input, Tensor weight, Tensor bias, Tensor output) {
        checkActivation("input", input, inputShape);
        checkPlain("weight", weight, weightShape);
        if (bias != null) {
            checkPlain("bias", bias, biasShape);
        }
        checkActivation("output", output, outputShape);
        checkDisjoint("output", output, "input", input);
        checkDisjoint("output", output, "weight", weight);
        checkDisjoint("output", output, "bias", bias);
        runForward(input, weight, bias, output, parallelismFor(input, weight, bias, output));
    }

    /**
     * The gradient with respect to the input, written into {@code gradInput} (or added to it, with
     * {@link Accumulation#ACCUMULATE}).
     */
    public void backwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, Accumulation mode) {
        Objects.requireNonNull(mode, "mode");
        checkActivation("gradOutput", gradOutput, outputShape);
        checkPlain("weight", weight, weightShape);
        checkActivation("gradInput", gradInput, inputShape);
        checkDisjoint("gradInput", gradInput, "gradOutput", gradOutput);
        checkDisjoint("gradInput", gradInput, "weight", weight);
        runBackwardData(gradOutput, weight, gradInput, mode == Accumulation.ACCUMULATE,
                parallelismFor(gradOutput, weight, gradInput, null));
    }

    /**
     * The gradients with respect to the weights and, when {@code gradBias} is not null, the bias,
     * summed over the batch.
     */
    public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                Accumulation mode) {
        Objects.requireNonNull(mode, "mode");
        checkActivation("input", input, inputShape);
        checkActivation("gradOutput", gradOutput, outputShape);
        checkPlain("gradWeight", gradWeight, weightShape);
        checkDisjoint("gradWeight", gradWeight, "input", input);
        checkDisjoint("gradWeight", gradWeight, "gradOutput", gradOutput);
        if (gradBias != null) {
            checkPlain("gradBias", gradBias, biasShape);
            checkDisjoint("gradBias", gradBias, "gradWeight", gradWeight);
            checkDisjoint("gradBias", gradBias, "input", input);
            checkDisjoint("gradBias", gradBias, "gradOutput", gradOutput);
        }
        runBackwardWeights(input, gradOutput, gradWeight, gradBias, mode == Accumulation.ACCUMULATE,
                parallelismFor(input, gradOutput, gradWeight, gradBias));
    }

    @SuppressWarnings("unchecked")
    private void runForward(Tensor input, Tensor weight, Tensor bias, Tensor output, Parallelism par) {
        ForwardPrimitive<Object> primitive = (ForwardPrimitive<Object>) stage(ConvPass.FORWARD).primitive();
        PackedWeights held = hold(weight);
        try {
            Object packed = held.forward(primitive);
            boolean flush = flushes && Subnormals.sampled(input);
            if (!flush && primitive.takes(input.layout(), output.layout())) {
                primitive.forward(input, packed, bias, output, workspace, par);
                return;
            }
            Reordered r = takeReordered(primitive);
            try {
                Tensor x = r.inputAsIs(input) && !flush ? input : r.in(input, par, flush);
                Tensor y = r.outputAsIs(output) ? output : r.output;
                primitive.forward(x, packed, bias, y, workspace, par);
                if (y != output) {
                    backend.reorder(y, output, workspace, par);
                }
            } finally {
                giveReordered(r);
            }
        } finally {
            held.letGo();
        }
    }

    @SuppressWarnings("unchecked")
    private void runBackwardData(Tensor gradOutput, Tensor weight, Tensor gradInput, boolean accumulate,
                                 Parallelism par) {
        BackwardDataPrimitive<Object> primitive = (BackwardDataPrimitive<Object>) stage(ConvPass.BACKWARD_DATA)
                .primitive();
        PackedWeights held = hold(weight);
        try {
            Object packed = held.backwardData(primitive);
            boolean flush = flushes && Subnormals.sampled(gradOutput);
            if (!flush && primitive.takes(gradInput.layout(), gradOutput.layout())) {
                primitive.backwardData(gradOutput, packed, gradInput, accumulate, workspace, par);
                return;
            }
            Reordered r = takeReordered(primitive);
            try {
                Tensor dy = r.outputAsIs(gradOutput) && !flush ? gradOutput : r.out(gradOutput, par, flush);
                Tensor dx = r.inputAsIs(gradInput) ? gradInput : accumulate ? r.in(gradInput, par, false) : r.input;
                primitive.backwardData(dy, packed, dx, accumulate, workspace, par);
                if (dx != gradInput) {
                    backend.reorder(dx, gradInput, workspace, par);
                }
            } finally {
                giveReordered(r);
            }
        } finally {
            held.letGo();
        }
    }

    private void runBackwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                    boolean accumulate, Parallelism par) {
        BackwardWeightsPrimitive primitive = (BackwardWeightsPrimitive) stage(ConvPass.BACKWARD_WEIGHTS).primitive();
        boolean flushInput = flushes && Subnormals.sampled(input);
        boolean flushGrad = flushes && Subnormals.sampled(gradOutput);
        if (!flushInput && !flushGrad && primitive.takes(input.layout(), gradOutput.layout())) {
            primitive.backwardWeights(input, gradOutput, gradWeight, gradBias, accumulate, workspace, par);
            return;
        }
        Reordered r = takeReordered(primitive);
        try {
            primitive.backwardWeights(r.inputAsIs(input) && !flushInput ? input : r.in(input, par, flushInput),
                    r.outputAsIs(gradOutput) && !flushGrad ? gradOutput : r.out(gradOutput, par, flushGrad),
                    gradWeight, gradBias, accumulate, workspace, par);
        } finally {
            giveReordered(r);
        }
    }

    // ---- Kernels, chosen once per pass ---------------------------------------------------------

    /** A pass's kernel family and its primitive for this problem. */
    private record Stage(ConvKernel kernel, ConvPrimitive primitive) {
    }

    private Stage stage(ConvPass pass) {
        Stage stage = stages.get(pass.ordinal());
        if (stage == null) {
            ConvKernel kernel = backend.convolution().choose(pass, problem);
            ConvPrimitive primitive = switch (pass) {
                case FORWARD -> kernel.forward(problem);
                case BACKWARD_DATA -> kernel.backwardData(problem);
                case BACKWARD_WEIGHTS -> kernel.backwardWeights(problem);
            };
            stages.compareAndSet(pass.ordinal(), null, new Stage(kernel, primitive)); // a race makes one twice
            stage = stages.get(pass.ordinal());
        }
        return stage;
    }

    private static ConvPass internal(Conv2dPass pass) {
        return switch (pass) {
            case FORWARD -> ConvPass.FORWARD;
            case BACKWARD_DATA -> ConvPass.BACKWARD_DATA;
            case BACKWARD_WEIGHTS -> ConvPass.BACKWARD_WEIGHTS;
        };
    }

    static ConvProblem problemOf(Conv2dGeometry g) {
        return new ConvProblem(g.n(), g.c(), g.h(), g.w(), g.k(), g.r(), g.s(), g.strideH(), g.strideW(),
                g.padTop(), g.padBottom(), g.padLeft(), g.padRight(), g.dilationH(), g.dilationW(), g.groups(),
                g.outH(), g.outW());
    }

    // ---- Packed weights ------------------------------------------------------------------------

    /**
     * The packed weights for {@code weight}, held for the caller until it lets go: the kept set when
     * it holds these weights, bit for bit, else the kept set rewritten with them (when no other call
     * holds it), else a new set.
     */
    private PackedWeights hold(Tensor weight) {
        PackedWeights kept = weights;
        if (kept != null && kept.tryHold()) {
            if (kept.matches(weight) || kept.rewrite(weight)) {
                return kept;
            }
            kept.letGo();
        }
        PackedWeights fresh = PackedWeights.heldCopyOf(weight);
        weights = fresh; // a concurrent call with other weights publishes its own; each uses the one it holds
        return fresh;
    }

    // ---- Activations in a layout the kernels do not take ---------------------------------------

    /**
     * Both activations of a call in the layouts a primitive prefers, for callers whose tensors are
     * in others: allocated on first need, kept for the next call (up to one per concurrent call).
     */
    private final class Reordered {
        final Tensor input;
        final Tensor output;

        Reordered(ConvPrimitive primitive) {
            java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofAuto();
            this.input = Tensor.allocate(arena, primitive.preferred(Side.INPUT), inputShape);
            this.output = Tensor.allocate(arena, primitive.preferred(Side.OUTPUT), outputShape);
        }

        boolean fits(ConvPrimitive primitive) {
            return input.layout().equals(primitive.preferred(Side.INPUT))
                    && output.layout().equals(primitive.preferred(Side.OUTPUT));
        }

        /** True when an input-side activation is in the preferred layout already. */
        boolean inputAsIs(Tensor t) {
            return t.layout().equals(input.layout());
        }

        /** True when an output-side activation is in the preferred layout already. */
        boolean outputAsIs(Tensor t) {
            return t.layout().equals(output.layout());
        }

        /**
         * {@code t}, an input-side activation, copied into this call's input-side tensor, its
         * subnormals flushed to zero when {@code flush} ({@link Subnormals}).
         */
        Tensor in(Tensor t, Parallelism par, boolean flush) {
            backend.reorder(t, input, workspace, par);
            if (flush) {
                backend.flushSubnormals(input, par);
            }
            return input;
        }

        /** {@code t}, an output-side activation, copied into this call's output-side tensor (flushed, as {@link #in}). */
        Tensor out(Tensor t, Parallelism par, boolean flush) {
            backend.reorder(t, output, workspace, par);
            if (flush) {
                backend.flushSubnormals(output, par);
            }
            return output;
        }

        long bytes() {
            return input.storageBytes() + output.storageBytes();
        }
    }

    private Reordered takeReordered(ConvPrimitive primitive) {
        for (int i = 0; i < reordered.length(); i++) {
            Reordered r = reordered.get(i);
            if (r != null && r.fits(primitive) && reordered.compareAndSet(i, r, null)) {
                return r;
            }
        }
        return new Reordered(primitive);
    }

    private void giveReordered(Reordered r) {
        for (int i = 0; i < reordered.length(); i++) {
            if (reordered.get(i) == null && reordered.compareAndSet(i, null, r)) {
                return;
            }
        }
    }

    // ---- Checks --------------------------------------------------------------------------------

    /**
     * The configured parallelism, unless a tensor lives in a confined arena: only its owner thread
     * may touch it, so the pass runs on the calling thread instead, and the first time this happens
     * a warning says how to get the threads back.
     */
    private Parallelism parallelismFor(Tensor a, Tensor b, Tensor c, Tensor d) { // not varargs: no array a call
        if (parallelism.threads() == 1 || backend.runsOnCallingThread()) {
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

    /** An activation: the expected logical shape, any layout, dense. */
    private void checkActivation(String name, Tensor t, int[] expected) {
        requireTensor(name, t);
        requireShape(name, t, expected);
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(name + ": the kernels need a dense (contiguous) tensor, got strides "
                    + Arrays.toString(t.strides()) + " for shape " + Arrays.toString(t.shape()));
        }
    }

    /** Weights, bias and their gradients: the expected shape, plain (OIHW, K), dense. */
    private void checkPlain(String name, Tensor t, int[] expected) {
        requireTensor(name, t);
        requireShape(name, t, expected);
        if (!t.layout().isPlain()) {
            throw new IllegalArgumentException(name + ": weights and biases are plain (OIHW, K), got layout "
                    + t.layout());
        }
        if (!t.isContiguous()) {
            throw new IllegalArgumentException(name + ": the kernels need a contiguous (row-major) tensor, got strides "
                    + Arrays.toString(t.strides()) + " for shape " + Arrays.toString(t.shape()));
        }
    }

    private void requireShape(String name, Tensor t, int[] expected) {
        if (!t.hasShape(expected)) {
            throw new IllegalArgumentException(name + ": shape " + Arrays.toString(t.shape()) + " does not match "
                    + Arrays.toString(expected) + " expected for " + geometry);
        }
    }

    private static void requireTensor(String name, Tensor t) {
        Objects.requireNonNull(t, name);
        t.requireAlive(name);
    }

    /** A result that overlaps an operand would be read while it is being written. */
    private static void checkDisjoint(String resultName, Tensor result, String operandName, Tensor operand) {
        if (operand == null) {
            return;
        }
        long aBytes = result.storageBytes(), bBytes = operand.storageBytes();
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
}
