package org.simdconv.internal.simd.depthwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.depthwise.DepthwiseTiles.PIXEL_BYTES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import org.simdconv.internal.conv.BackwardDataPrimitive;
import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvKernel;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.internal.simd.common.BackwardDataPhase;
import org.simdconv.internal.simd.common.BlockedPlanes;
import org.simdconv.internal.simd.common.BlockedProblem;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.OutputGrid;
import org.simdconv.internal.simd.common.Reorder;
import org.simdconv.internal.simd.common.SimdPrimitive;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.internal.simd.common.Zeros;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * Depthwise convolution, one filter per channel ({@code groups = C = K}, as in MobileNet), on
 * channel-blocked planes ({@link BlockedPlanes}): the lanes of a vector are the channels of a
 * block, each with its own kernel, so the three passes are vector FMAs of whole pixels
 * ({@link DepthwiseTiles}) with nothing broadcast and nothing reduced across lanes:
 * <ul>
 *   <li>forward (seed 001, 17.1.6): {@code out[c][oh][ow] = b[c] + sum over r, s of
 *       in[c][oh*sh + r*dh - pt][ow*sw + s*dw - pl] * w[c][r][s]};</li>
 *   <li>backward-data (17.3.1): the same per channel with the kernel rotated by 180 degrees, in
 *       stride phases ({@link BackwardDataPhase}), so no zero is inserted;</li>
 *   <li>backward-weights and bias (17.3.5, 17.3.6): {@code dw[c][r][s] = sum over items and pixels of
 *       dy[c][oh][ow] * in[c][oh*sh + r*dh - pt][ow*sw + s*dw - pl]}, {@code db[c] = sum of dy[c]}.</li>
 * </ul>
 * A task is one (batch item, block) pair, whose planes are small enough to stay in L1/L2 while all
 * the taps pass over them. Backward-weights, and forward and backward-data with a 3x3 kernel at
 * stride 1 ({@link DepthwisePlane#sweepsInPlace}), read blocked planes where they lie, in the
 * caller's tensor (backward-weights on NCHW tensors from a native plane per worker, converted from
 * them); the other geometries stage their input plane into an array ({@link DepthwiseTiles} says
 * why). The output plane is the caller's tensor, or with NCHW tensors a blocked workspace converted
 * back right after, while it is in cache. A 3x3 kernel at stride 1 on NCHW tensors converts
 * nothing: it runs along the rows of each channel ({@link DepthwiseRows}). Both activations are
 * plain, or both blocked.
 */
public final class DepthwiseKernel implements ConvKernel {

    /** Workspace slots of a call. */
    private static final int BIAS = 1;
    private static final int STAGED = 2;
    private static final int STAGED_GRADIENT = 3;
    private static final int PLANE = 4;
    private static final int PLANE_GRADIENT = 5;
    private static final int SCRATCH = 6;
    private static final int BLOCKED_PLANES = 7;
    private static final int ROW_INPUT = 8;
    private static final int ROW_OUTPUT = 9;
    private static final int PARTIAL = 10;
    private static final int ZERO = 11;

    /** Floats after each chunk's partial, so that two threads' partials never share a cache line. */
    private static final int FALSE_SHARING_PAD = 32;

    /**
     * Weight-gradient tasks per thread: with one per thread, the caller finished its half of a 0.3 ms
     * MobileNet call and then waited for the pool thread that had started tens of microseconds later
     * (13% of the time in the wait); four smaller tasks per thread let the threads even out. Tasks
     * are single blocks over every item when there are enough blocks, else chunks of items, each
     * with its own partial ({@code blocks x (taps + 1) x lanes} floats), summed in chunk order.
     */
    private static final int CHUNKS_PER_THREAD = 4;

    @Override
    public String name() {
        return "depthwise-blocked-4";
    }

    /** Depthwise (one input channel and one filter per group), with planes that fit Java arrays; every pass. */
    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return g.channelsPerGroup() == 1 && g.filtersPerGroup() == 1
                && Math.max(g.h() * (long) g.w(), g.outH() * (long) g.outW()) * LANES < Integer.MAX_VALUE - 64;
    }

    @Override
    public ForwardPrimitive<float[]> forward(ConvProblem g) {
        return new Forward(g);
    }

    @Override
    public BackwardDataPrimitive<float[][]> backwardData(ConvProblem g) {
        return new BackwardData(g);
    }

    @Override
    public BackwardWeightsPrimitive backwardWeights(ConvProblem g) {
        return new BackwardWeights(g);
    }

    /** Both activations plain, or both in blocks of the lanes; the planes of each in the blocked layout. */
    private abstract static class Pass extends SimdPrimitive {
        final BlockedPlanes x;
        final BlockedPlanes y;
        final int blocks;

        Pass(ConvProblem g) {
            super(g);
            this.x = new BlockedPlanes(g.c(), g.h(), g.w());
            this.y = new BlockedPlanes(g.k(), g.outH(), g.outW());
            this.blocks = Math.ceilDiv(g.c(), LANES);
        }

        @Override
        public boolean takes(Layout input, Layout output) {
            return bothPlainOrBothLanes(input, output);
        }

        /** Floats of the conversion scratch of a worker. */
        int scratchFloats() {
            return Reorder.scratchFloats(Math.max(g.w(), g.outW()));
        }
    }

    /** One stride phase of backward-data with the kernel taps it uses. */
    private record Phase(DepthwisePlane plane, int[] rows, int[] columns) {
    }

    private static final class Forward extends Pass implements ForwardPrimitive<float[]> {
        private final DepthwisePlane plane;
        private final CallTask.Pool<ForwardTask> tasks = new CallTask.Pool<>(ForwardTask::new);
        private final CallTask.Pool<AlongNchwRows> rowTasks = new CallTask.Pool<>(AlongNchwRows::new);

        Forward(ConvProblem g) {
            super(g);
            BlockedProblem p = BlockedProblem.forward(g, LANES);
            this.plane = new DepthwisePlane(p, OutputGrid.dense(p));
        }

        @Override
        public float[] pack(float[] oihw, float[] previous) {
            float[] packed = previous != null ? previous : new float[blocks * g.r() * g.s() * LANES];
            DepthwiseKernel.pack(oihw, g.c(), g.r() * g.s(), null, g, packed);
            return packed;
        }

        @Override
        public void forward(Tensor input, float[] w, Tensor bias, Tensor output, Workspace workspace,
                            Parallelism par) {
            boolean blockedTensors = blocked(input);
            try (Workspace.Lease lease = workspace.lease().workers(par.threads())) {
                if (!blockedTensors && plane.sweepsInPlace()) {
                    alongNchwRows(rowTasks, g, plane, input, g.h() * g.w(), w, output, g.outH() * g.outW(), bias,
                            false, lease, par);
                    return;
                }
                try (ForwardTask task = tasks.take()) {
                    MemorySegment b = lease.segment(BIAS, 0, (long) blocks * LANES * Float.BYTES);
                    b.fill((byte) 0);
                    if (bias != null) {
                        MemorySegment.copy(bias.segment(), bias.byteOffset(), b, 0, (long) g.k() * Float.BYTES);
                    }
                    task.y.of(output, y, blockedTensors, lease);
                    task.blocks = blocks;
                    task.taps = g.r() * g.s();
                    task.inPlace = plane.sweepsInPlace(); // blocked tensors here: NCHW ones went along the rows
                    task.blockedTensors = blockedTensors;
                    task.plane = plane;
                    task.input = input;
                    task.x = x;
                    task.w = w;
                    task.b = b;
                    task.lease = lease;
                    task.scratchFloats = scratchFloats();
                    par.forEach(g.n() * blocks, task);
                }
            }
        }
    }

    /** Forward on blocked planes: a task is (item, block). */
    private static final class ForwardTask extends CallTask {
        int blocks;
        int taps;
        boolean inPlace;
        boolean blockedTensors;
        DepthwisePlane plane;
        Tensor input;
        BlockedPlanes x;
        float[] w;
        /** The output planes, reused with the task. */
        final Planes y = new Planes();
        MemorySegment b;
        Workspace.Lease lease;
        int scratchFloats;

        @Override
        public void run(int task, int worker) {
            int n = task / blocks, cb = task % blocks;
            float[] scratch = lease.worker(worker).floats(SCRATCH, scratchFloats);
            if (inPlace) {
                plane.runInPlace(input.segment(), planeAt(input, x, true, n, cb, PLANE, lease, worker, scratch), w,
                        cb * taps * LANES, y.segment, y.plane(n, cb), b, (long) cb * LANES * Float.BYTES);
            } else {
                float[] in = stage(input, x, blockedTensors, n, cb, STAGED, lease, worker, scratch);
                plane.run(in, w, cb * taps * LANES, y.segment, y.plane(n, cb), b, (long) cb * LANES * Float.BYTES);
            }
            y.store(n, cb, scratch);
        }

        @Override
        protected void clear() {
            plane = null;
            input = null;
            x = null;
            w = null;
            b = null;
            y.release();
            lease = null;
        }
    }

    private static final class BackwardData extends Pass implements BackwardDataPrimitive<float[][]> {
        private final List<Phase> phases;
        private final boolean inPlace;
        private final CallTask.Pool<BackwardDataTask> tasks = new CallTask.Pool<>(BackwardDataTask::new);
        private final CallTask.Pool<AlongNchwRows> rowTasks = new CallTask.Pool<>(AlongNchwRows::new);

        BackwardData(ConvProblem g) {
            super(g);
            this.phases = BackwardDataPhase.of(g, LANES).stream()
                    .map(ph -> new Phase(new DepthwisePlane(ph.problem(), ph.grid()), ph.rows(), ph.columns())).toList();
            this.inPlace = phases.size() == 1 && phases.get(0).plane().sweepsInPlace();
        }

        /** The weights of every stride phase, rotated by 180 degrees through the phase's tap order. */
        @Override
        public float[][] pack(float[] oihw, float[][] previous) {
            float[][] packed = previous != null ? previous : new float[phases.size()][];
            for (int i = 0; i < packed.length; i++) {
                Phase phase = phases.get(i);
                if (packed[i] == null) {
                    packed[i] = new float[blocks * phase.plane().taps() * LANES];
                }
                DepthwiseKernel.pack(oihw, g.c(), g.r() * g.s(), phase, g, packed[i]);
            }
            return packed;
        }

        @Override
        public void backwardData(Tensor gradOutput, float[][] weights, Tensor gradInput, boolean accumulate,
                                 Workspace workspace, Parallelism par) {
            boolean blockedTensors = blocked(gradOutput);
            try (Workspace.Lease lease = workspace.lease().workers(par.threads())) {
                if (inPlace && !blockedTensors) {
                    alongNchwRows(rowTasks, g, phases.get(0).plane(), gradOutput, g.outH() * g.outW(), weights[0],
                            gradInput, g.h() * g.w(), null, accumulate, lease, par);
                    return;
                }
                // Every pixel lies in one phase; when some phase has no taps, its pixels must be zeroed first.
                boolean everyPixelInAPhase = phases.size() == Math.min(g.strideH(), g.h()) * Math.min(g.strideW(), g.w());
                MemorySegment zero = lease.segment(ZERO, 0, PIXEL_BYTES);
                zero.fill((byte) 0);
                try (BackwardDataTask task = tasks.take()) {
                    task.dx.of(gradInput, x, blockedTensors, lease);
                    task.blocks = blocks;
                    task.inPlace = inPlace; // blocked tensors when inPlace: NCHW ones went along the rows
                    task.blockedTensors = blockedTensors;
                    task.accumulate = accumulate;
                    task.everyPixelInAPhase = everyPixelInAPhase;
                    task.phases = phases;
                    task.gradOutput = gradOutput;
                    task.dy = y;
                    task.weights = weights;
                    task.zero = zero;
                    task.lease = lease;
                    task.scratchFloats = scratchFloats();
                    par.forEach(g.n() * blocks, task);
                }
            }
        }
    }

    /** Backward-data on blocked planes, every stride phase: a task is (item, block). */
    private static final class BackwardDataTask extends CallTask {
        int blocks;
        boolean inPlace;
        boolean blockedTensors;
        boolean accumulate;
        boolean everyPixelInAPhase;
        List<Phase> phases;
        Tensor gradOutput;
        BlockedPlanes dy;
        float[][] weights;
        /** The input gradient's planes, reused with the task. */
        final Planes dx = new Planes();
        MemorySegment zero;
        Workspace.Lease lease;
        int scratchFloats;

        @Override
        public void run(int task, int worker) {
            int n = task / blocks, cb = task % blocks;
            float[] scratch = lease.worker(worker).floats(SCRATCH, scratchFloats);
            float[] in = inPlace ? null : stage(gradOutput, dy, blockedTensors, n, cb, STAGED, lease, worker, scratch);
            if (accumulate) {
                dx.load(n, cb, scratch);
            } else if (!everyPixelInAPhase) {
                Zeros.fill(dx.segment, dx.plane(n, cb), (long) dx.pixels * PIXEL_BYTES);
            }
            MemorySegment starts = accumulate || !everyPixelInAPhase ? null : zero;
            for (int i = 0; i < weights.length; i++) {
                DepthwisePlane plane = phases.get(i).plane();
                if (inPlace) {
                    plane.runInPlace(gradOutput.segment(), planeAt(gradOutput, dy, true, n, cb, PLANE, lease, worker,
                            scratch), weights[i], cb * plane.taps() * LANES, dx.segment, dx.plane(n, cb), starts, 0);
                } else {
                    plane.run(in, weights[i], cb * plane.taps() * LANES, dx.segment, dx.plane(n, cb), starts, 0);
                }
            }
            dx.store(n, cb, scratch);
        }

        @Override
        protected void clear() {
            phases = null;
            gradOutput = null;
            dy = null;
            weights = null;
            zero = null;
            dx.release();
            lease = null;
        }
    }

    /**
     * A problem that {@link DepthwisePlane#sweepsInPlace} on NCHW tensors, channel by channel along
     * the rows ({@link DepthwiseRows}): planes of {@code inPlane} and {@code outPlane} floats, the
     * packed weights {@code w} ({@code [block][tap][lane]}), every output starting from its bias
     * (zero without one) or, when {@code accumulate}, from its own value. Tasks are (item, block).
     */
    private static void alongNchwRows(CallTask.Pool<AlongNchwRows> tasks, ConvProblem g, DepthwisePlane plane,
                                      Tensor in, int inPlane, float[] w, Tensor out, int outPlane, Tensor bias,
                                      boolean accumulate, Workspace.Lease lease, Parallelism par) {
        try (AlongNchwRows task = tasks.take()) {
            task.g = g;
            task.blocks = Math.ceilDiv(g.c(), LANES);
            task.inPlane = inPlane;
            task.outPlane = outPlane;
            task.plane = plane;
            task.in = in;
            task.out = out;
            task.bias = bias;
            task.w = w;
            task.accumulate = accumulate;
            task.lease = lease;
            par.forEach(g.n() * task.blocks, task);
        }
    }

    /** Forward or backward-data along the rows of NCHW planes: a task is (item, block of channels). */
    private static final class AlongNchwRows extends CallTask {
        ConvProblem g;
        int blocks;
        int inPlane;
        int outPlane;
        DepthwisePlane plane;
        Tensor in;
        Tensor out;
        Tensor bias;
        float[] w;
        boolean accumulate;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            int n = task / blocks, cb = task % blocks;
            float[] x = lease.worker(worker).floats(ROW_INPUT, plane.nchwArrayFloats(true));
            float[] y = lease.worker(worker).floats(ROW_OUTPUT, plane.nchwArrayFloats(false));
            for (int c = cb * LANES; c < Math.min(g.c(), (cb + 1) * LANES); c++) {
                long plane0 = (long) n * g.c() + c;
                plane.runNchw(in.segment(), in.byteOffset() + plane0 * inPlane * Float.BYTES, w,
                        cb * plane.taps() * LANES + c % LANES, out.segment(),
                        out.byteOffset() + plane0 * outPlane * Float.BYTES,
                        bias == null ? 0f : bias.segment().get(Tensor.FLOAT, bias.byteOffset() + (long) c * Float.BYTES),
                        accumulate, x, y);
            }
        }

        @Override
        protected void clear() {
            g = null;
            plane = null;
            in = null;
            out = null;
            bias = null;
            w = null;
            lease = null;
        }
    }

    /**
     * Tasks are chunks of batch items (one per thread) times, with fewer items than threads, ranges
     * of blocks; each chunk sums its items into its own partial gradient ({@code [block][tap][lane]},
     * then the bias as one more tap), and the partials are summed in chunk order: the result depends
     * on the thread count, never on scheduling.
     */
    private static final class BackwardWeights extends Pass implements BackwardWeightsPrimitive {
        private final DepthwiseWeightGradient rectangles;
        private final CallTask.Pool<WeightGradient> tasks = new CallTask.Pool<>(WeightGradient::new);

        BackwardWeights(ConvProblem g) {
            super(g);
            this.rectangles = new DepthwiseWeightGradient(g);
        }

        @Override
        public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                    boolean accumulate, Workspace workspace, Parallelism par) {
            int taps = g.r() * g.s();
            int perBlock = (taps + 1) * LANES;
            // Enough blocks for every thread: a task is one block over every item (one partial, nothing
            // to add up across tasks); else chunks of items, each with its own partial.
            boolean byBlock = blocks >= CHUNKS_PER_THREAD * par.threads();
            int chunks = byBlock ? 1 : Math.min(CHUNKS_PER_THREAD * par.threads(), g.n());
            try (Workspace.Lease lease = workspace.lease().workers(par.threads()); WeightGradient task = tasks.take()) {
                task.use(chunks);
                for (int i = 0; i < chunks; i++) {
                    task.partials[i] = lease.floats(PARTIAL, i, blocks * perBlock + FALSE_SHARING_PAD);
                    Arrays.fill(task.partials[i], 0f);
                }
                task.g = g;
                task.chunks = chunks;
                task.splits = byBlock ? blocks : WorkSplit.channelSplits(g.n(), blocks, par.threads());
                task.blocks = blocks;
                task.taps = taps;
                task.perBlock = perBlock;
                task.blockedTensors = blocked(input);
                task.rectangles = rectangles;
                task.input = input;
                task.gradOutput = gradOutput;
                task.x = x;
                task.dy = y;
                task.lease = lease;
                task.scratchFloats = scratchFloats();
                par.forEach(chunks * task.splits, task);
                float[][] partials = task.partials;
                // The plan checked both tensors dense and plain: element i is at byte offset + 4i. (The
                // tensor's flat accessors map every index through the shape: 7% of the call at 7x7.)
                MemorySegment dw = gradWeight.segment(), db = gradBias == null ? null : gradBias.segment();
                for (int k = 0; k < g.k(); k++) {
                    int at = (k / LANES) * perBlock + k % LANES;
                    for (int t = 0; t < taps; t++) {
                        long byteAt = gradWeight.byteOffset() + ((long) k * taps + t) * Float.BYTES;
                        dw.set(Tensor.FLOAT, byteAt, total(partials, chunks, at + t * LANES,
                                accumulate ? dw.get(Tensor.FLOAT, byteAt) : 0f));
                    }
                    if (db != null) {
                        long byteAt = gradBias.byteOffset() + (long) k * Float.BYTES;
                        db.set(Tensor.FLOAT, byteAt, total(partials, chunks, at + taps * LANES,
                                accumulate ? db.get(Tensor.FLOAT, byteAt) : 0f));
                    }
                }
            }
        }
    }

    /** Backward-weights: a task is (chunk of items, range of blocks), summing into the chunk's partial. */
    private static final class WeightGradient extends CallTask {
        ConvProblem g;
        int chunks;
        int splits;
        int blocks;
        int taps;
        int perBlock;
        boolean blockedTensors;
        DepthwiseWeightGradient rectangles;
        Tensor input;
        Tensor gradOutput;
        BlockedPlanes x;
        BlockedPlanes dy;
        float[][] partials = new float[0][];
        Workspace.Lease lease;
        int scratchFloats;

        /** Room for the partials of {@code count} chunks (kept for the next call). */
        void use(int count) {
            if (partials.length < count) {
                partials = new float[count][];
            }
        }

        @Override
        public void run(int task, int worker) {
            int chunk = task / splits;
            int kb0 = WorkSplit.start(blocks, splits, task % splits);
            int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
            float[] partial = partials[chunk];
            float[] scratch = lease.worker(worker).floats(SCRATCH, scratchFloats);
            for (int n = WorkSplit.start(g.n(), chunks, chunk); n < WorkSplit.start(g.n(), chunks, chunk + 1); n++) {
                for (int cb = kb0; cb < kb1; cb++) {
                    long in = planeAt(input, x, blockedTensors, n, cb, PLANE, lease, worker, scratch);
                    long grad = planeAt(gradOutput, dy, blockedTensors, n, cb, PLANE_GRADIENT, lease, worker, scratch);
                    MemorySegment inPlanes = blockedTensors ? input.segment() : lease.worker(worker).segment(PLANE, 0);
                    MemorySegment gradPlanes = blockedTensors ? gradOutput.segment()
                            : lease.worker(worker).segment(PLANE_GRADIENT, 0);
                    rectangles.accumulate(inPlanes, in, gradPlanes, grad, partial, cb * perBlock);
                    DepthwiseTiles.sum(gradPlanes, grad, 0, g.outH() * g.outW(), partial, cb * perBlock + taps * LANES);
                }
            }
        }

        @Override
        protected void clear() {
            g = null;
            rectangles = null;
            input = null;
            gradOutput = null;
            x = null;
            dy = null;
            Arrays.fill(partials, null);
            lease = null;
        }
    }

    private static float total(float[][] partials, int count, int at, float start) {
        float sum = start;
        for (int i = 0; i < count; i++) {
            sum += partials[i][at];
        }
        return sum;
    }

    /**
     * Block {@code cb} of item {@code n} of {@code t} (blocked, or NCHW converted on the way) as one
     * blocked plane in the worker's array {@code slot}: the tiles read arrays.
     */
    private static float[] stage(Tensor t, BlockedPlanes layout, boolean blocked, int n, int cb, int slot,
                                 Workspace.Lease lease, int worker, float[] scratch) {
        int floats = (int) (layout.blockBytes() / Float.BYTES);
        float[] staged = lease.worker(worker).floats(slot, floats);
        if (blocked) {
            MemorySegment.copy(t.segment(), Tensor.FLOAT, t.byteOffset() + ((long) n * layout.blocks() + cb) * floats
                    * Float.BYTES, staged, 0, floats);
        } else {
            Reorder.toBlockedPlane(layout, t.segment(), t.byteOffset(), n, cb, staged, scratch);
        }
        return staged;
    }

    /**
     * Block {@code cb} of item {@code n} of {@code t} for the tiles that read planes where they lie:
     * the byte where the plane starts, in the caller's tensor when it is blocked (no copy), else in
     * the worker's native plane {@code slot} holding the converted NCHW block (at byte 0).
     */
    private static long planeAt(Tensor t, BlockedPlanes layout, boolean blocked, int n, int cb, int slot,
                                Workspace.Lease lease, int worker, float[] scratch) {
        if (blocked) {
            return t.byteOffset() + ((long) n * layout.blocks() + cb) * layout.blockBytes();
        }
        float[] converted = stage(t, layout, false, n, cb, slot, lease, worker, scratch);
        MemorySegment plane = lease.worker(worker).segment(slot, layout.blockBytes());
        MemorySegment.copy(converted, 0, plane, Tensor.FLOAT, 0, (int) (layout.blockBytes() / Float.BYTES));
        return 0;
    }

    /**
     * Packs the OIHW weights (one input channel each) as {@code [block][tap][lane]}; for a phase of
     * backward-data, the phase's taps in its order (the 180-degree rotation), else every tap.
     * Lanes past the last channel are zero, so padded channels stay zero.
     */
    private static void pack(float[] oihw, int channels, int taps, Phase phase, ConvProblem g, float[] packed) {
        int used = phase == null ? taps : phase.rows().length * phase.columns().length;
        Arrays.fill(packed, 0, Math.ceilDiv(channels, LANES) * used * LANES, 0f);
        for (int c = 0; c < channels; c++) {
            int base = (c / LANES) * used * LANES + c % LANES;
            for (int t = 0; t < used; t++) {
                int tap = phase == null ? t
                        : phase.rows()[t / phase.columns().length] * g.s() + phase.columns()[t % phase.columns().length];
                packed[base + t * LANES] = oihw[c * taps + tap];
            }
        }
    }

    /**
     * A tensor's channel-blocked planes: the tensor itself when it is blocked, else ({@code nchw}
     * not null) a blocked copy in the call's workspace whose planes {@link #load} and {@link #store}
     * convert. Set for a call by {@link #of} and emptied by {@link #release}; each task object keeps one.
     */
    private static final class Planes {
        Tensor nchw;
        MemorySegment segment;
        long offset;
        BlockedPlanes layout;
        int pixels;

        /** The planes of {@code t} (blocked, or NCHW copied through the workspace) in {@code layout}. */
        void of(Tensor t, BlockedPlanes layout, boolean blocked, Workspace.Lease lease) {
            this.nchw = blocked ? null : t;
            this.segment = blocked ? t.segment() : lease.segment(BLOCKED_PLANES, 0, layout.itemBytes() * t.dim(0));
            this.offset = blocked ? t.byteOffset() : 0;
            this.layout = layout;
            this.pixels = layout.height() * layout.width();
        }

        long plane(int n, int cb) {
            return offset + ((long) n * layout.blocks() + cb) * pixels * PIXEL_BYTES;
        }

        void load(int n, int cb, float[] scratch) {
            if (nchw != null) {
                Reorder.toBlocked(layout, nchw.segment(), nchw.byteOffset(), segment, offset, n, cb, scratch);
            }
        }

        void store(int n, int cb, float[] scratch) {
            if (nchw != null) {
                Reorder.toNchw(layout, segment, offset, nchw.segment(), nchw.byteOffset(), n, cb, scratch);
            }
        }

        void release() {
            nchw = null;
            segment = null;
            layout = null;
        }
    }
}
