package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.BlockedTiles.LANES;
import static org.simdconv.conv.simd.DepthwiseTiles.PIXEL_BYTES;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.ChannelBlockedLayout;
import org.simdconv.tensor.Tensor;

/**
 * Depthwise convolution, one filter per channel ({@code groups = C = K}, as in MobileNet), on
 * channel-blocked planes ({@link ChannelBlockedLayout}): the lanes of a vector are the channels of a
 * block, each with its own kernel, so the three passes are vector FMAs of whole pixels
 * ({@link DepthwiseTiles}) with nothing broadcast and nothing reduced across lanes:
 * <ul>
 *   <li>forward (seed 001, 17.1.10): {@code out[c][oh][ow] = b[c] + sum over r, s of
 *       in[c][oh*sh + r*dh - pt][ow*sw + s*dw - pl] * w[c][r][s]};</li>
 *   <li>backward-data (17.3.1): the same per channel with the kernel rotated by 180 degrees, in
 *       stride phases ({@link BackwardDataPhase}), so no zero is inserted;</li>
 *   <li>backward-weights and bias (17.3.3, 17.3.4): {@code dw[c][r][s] = sum over items and pixels of
 *       dy[c][oh][ow] * in[c][oh*sh + r*dh - pt][ow*sw + s*dw - pl]}, {@code db[c] = sum of dy[c]}.</li>
 * </ul>
 * A task is one (batch item, block) pair, whose planes are small enough to stay in L1/L2 while all
 * the taps pass over them. Backward-weights, and forward and backward-data with a 3x3 kernel at
 * stride 1 ({@link DepthwisePlane#sweepsInPlace}), read blocked planes where they lie, in the
 * caller's tensor (backward-weights on NCHW tensors from a per-thread native plane converted from
 * them); the other geometries stage their input plane into a heap array ({@link DepthwiseTiles}
 * says why). The output plane is the caller's tensor, or with NCHW tensors a pooled blocked
 * workspace converted back right after, while it is in cache. A 3x3 kernel at stride 1 on NCHW
 * tensors converts nothing: it runs along the rows of each channel ({@link DepthwiseRows}).
 */
final class DepthwiseConvolution {

    private final ScratchPool pool;
    private final ConcurrentHashMap<Conv2dGeometry, DepthwisePlane> forwardPlans = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Conv2dGeometry, List<Phase>> backwardPlans = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Conv2dGeometry, DepthwiseWeightGradient> gradientPlans = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Conv2dGeometry, Layouts> layouts = new ConcurrentHashMap<>();

    /** The blocked layouts of a geometry's input and output planes, kept so that a call makes none. */
    private record Layouts(ChannelBlockedLayout input, ChannelBlockedLayout output) {
    }

    private Layouts layouts(Conv2dGeometry g) {
        return BlockedPasses.cached(layouts, g, key -> new Layouts(
                new ChannelBlockedLayout(key.c(), key.h(), key.w(), LANES),
                new ChannelBlockedLayout(key.k(), key.outH(), key.outW(), LANES)));
    }

    /** One stride phase of backward-data with the kernel taps it uses. */
    private record Phase(DepthwisePlane plane, int[] rows, int[] columns) {
    }

    DepthwiseConvolution(ScratchPool pool) {
        this.pool = pool;
    }

    /** Depthwise (one input channel and one filter per group), with planes that fit Java arrays. */
    static boolean accepts(Conv2dGeometry g) {
        return g.channelsPerGroup() == 1 && g.filtersPerGroup() == 1
                && Math.max(g.h() * (long) g.w(), g.outH() * (long) g.outW()) * LANES < Integer.MAX_VALUE - 64;
    }

    /** Each thread's two staging planes (input, and the output gradient of backward-weights). */
    private static final ThreadLocal<float[][]> STAGED = ThreadLocal.withInitial(() -> new float[2][0]);

    /**
     * Block {@code cb} of item {@code n} of {@code t} (blocked, or NCHW converted on the way) as one
     * blocked plane in this thread's staging array {@code slot}: the tiles read arrays.
     */
    private static float[] stage(Tensor t, ChannelBlockedLayout layout, boolean blocked, int n, int cb, int slot) {
        float[][] staged = STAGED.get();
        int floats = (int) (layout.itemBytes() / layout.blocks() / Float.BYTES);
        if (staged[slot].length < floats) {
            staged[slot] = new float[floats];
        }
        if (blocked) {
            MemorySegment.copy(t.segment(), Tensor.FLOAT, t.byteOffset() + ((long) n * layout.blocks() + cb) * floats
                    * Float.BYTES, staged[slot], 0, floats);
        } else {
            BlockedConversion.toBlockedPlane(layout, t.segment(), t.byteOffset(), n, cb, staged[slot]);
        }
        return staged[slot];
    }

    /** Each thread's two native planes for backward-weights on NCHW tensors (input and output gradient). */
    private static final ThreadLocal<MemorySegment[]> PLANES =
            ThreadLocal.withInitial(() -> new MemorySegment[] {MemorySegment.NULL, MemorySegment.NULL});

    /**
     * Block {@code cb} of item {@code n} of {@code t} for the tiles that read planes in place, which read it
     * where it lies: returns the byte where the plane starts in {@link #planeSegment}, the caller's
     * tensor itself when it is blocked (no copy), else this thread's native plane {@code slot}
     * holding the converted NCHW block.
     */
    private static long planeAt(Tensor t, ChannelBlockedLayout layout, boolean blocked, int n, int cb, int slot) {
        int floats = (int) (layout.itemBytes() / layout.blocks() / Float.BYTES);
        if (blocked) {
            return t.byteOffset() + ((long) n * layout.blocks() + cb) * floats * Float.BYTES;
        }
        float[] converted = stage(t, layout, false, n, cb, slot);
        MemorySegment[] planes = PLANES.get();
        if (planes[slot].byteSize() < (long) floats * Float.BYTES) {
            planes[slot] = Arena.ofAuto().allocate((long) floats * Float.BYTES, Tensor.ALIGNMENT);
        }
        MemorySegment.copy(converted, 0, planes[slot], Tensor.FLOAT, 0, floats);
        return 0;
    }

    /** The segment of the plane {@link #planeAt} placed. */
    private static MemorySegment planeSegment(Tensor t, boolean blocked, int slot) {
        return blocked ? t.segment() : PLANES.get()[slot];
    }

    private DepthwisePlane forwardPlan(Conv2dGeometry g) {
        return BlockedPasses.cached(forwardPlans, g, key -> {
            BlockedProblem p = BlockedProblem.forward(key, LANES);
            return new DepthwisePlane(p, BlockedDirectConvolution.OutputGrid.dense(p));
        });
    }

    private List<Phase> backwardPlan(Conv2dGeometry g) {
        return BlockedPasses.cached(backwardPlans, g, key -> BackwardDataPhase.of(key, LANES).stream()
                .map(ph -> new Phase(new DepthwisePlane(ph.problem(), ph.grid()), ph.rows(), ph.columns())).toList());
    }

    void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, boolean blockedTensors,
                 Parallelism par) {
        DepthwisePlane plane = forwardPlan(g);
        int blocks = Math.ceilDiv(g.c(), LANES), taps = g.r() * g.s();
        if (!blockedTensors && plane.sweepsInPlace()) {
            float[] w = pool.array(blocks * taps * LANES);
            try {
                pack(weight, g.c(), taps, null, null, w);
                alongNchwRows(g, plane, input, g.h() * g.w(), w, output, g.outH() * g.outW(), bias, false, par);
            } finally {
                pool.give(w);
            }
            return;
        }
        float[] w = pool.array(blocks * taps * LANES);
        MemorySegment b = pool.segment((long) blocks * LANES * Float.BYTES);
        ChannelBlockedLayout x = layouts(g).input();
        try (Forward task = forwardTasks.take()) {
            Planes y = task.y.of(output, layouts(g).output(), blockedTensors);
            try {
                pack(weight, g.c(), taps, null, null, w);
                b.fill((byte) 0);
                for (int k = 0; bias != null && k < g.k(); k++) {
                    b.setAtIndex(Tensor.FLOAT, k, bias.getFlat(k));
                }
                task.blocks = blocks;
                task.taps = taps;
                task.inPlace = plane.sweepsInPlace(); // blocked tensors here: NCHW ones went along the rows
                task.blockedTensors = blockedTensors;
                task.plane = plane;
                task.input = input;
                task.x = x;
                task.w = w;
                task.b = b;
                par.forEach(g.n() * blocks, task);
            } finally {
                pool.give(w);
                pool.give(b);
                y.release();
            }
        }
    }

    private final CallTask.PerThread<Forward> forwardTasks = new CallTask.PerThread<>(Forward::new);

    /** Forward on blocked planes: a task is (item, block). */
    private final class Forward extends CallTask {
        int blocks;
        int taps;
        boolean inPlace;
        boolean blockedTensors;
        DepthwisePlane plane;
        Tensor input;
        ChannelBlockedLayout x;
        float[] w;
        /** The output planes, reused with the task. */
        final Planes y = new Planes();
        MemorySegment b;

        @Override
        public void accept(int task) {
            int n = task / blocks, cb = task % blocks;
            if (inPlace) {
                plane.runInPlace(input.segment(), planeAt(input, x, true, n, cb, 0), w, cb * taps * LANES,
                        y.segment, y.plane(n, cb), b, (long) cb * LANES * Float.BYTES);
            } else {
                float[] in = stage(input, x, blockedTensors, n, cb, 0);
                plane.run(in, w, cb * taps * LANES, y.segment, y.plane(n, cb), b, (long) cb * LANES * Float.BYTES);
            }
            y.store(n, cb);
        }

        @Override
        void clear() {
            plane = null;
            input = null;
            x = null;
            w = null;
            b = null;
        }
    }

    void backwardData(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput, Accumulation mode,
                      boolean blockedTensors, Parallelism par) {
        List<Phase> phases = backwardPlan(g);
        int blocks = Math.ceilDiv(g.c(), LANES);
        boolean accumulate = mode == Accumulation.ACCUMULATE;
        boolean inPlace = phases.size() == 1 && phases.get(0).plane().sweepsInPlace();
        if (inPlace && !blockedTensors) {
            Phase phase = phases.get(0);
            float[] w = pool.array(blocks * phase.plane().taps() * LANES);
            try {
                pack(weight, g.c(), g.r() * g.s(), phase, g, w);
                alongNchwRows(g, phase.plane(), gradOutput, g.outH() * g.outW(), w, gradInput, g.h() * g.w(), null,
                        accumulate, par);
            } finally {
                pool.give(w);
            }
            return;
        }
        float[][] weights = pool.table(phases.size());
        ChannelBlockedLayout dy = layouts(g).output();
        // Every pixel lies in one phase; when some phase has no taps, its pixels must be zeroed first.
        boolean everyPixelInAPhase = phases.size() == Math.min(g.strideH(), g.h()) * Math.min(g.strideW(), g.w());
        MemorySegment zero = pool.segment(DepthwiseTiles.PIXEL_BYTES);
        try (BackwardData task = backwardDataTasks.take()) {
            Planes dx = task.dx.of(gradInput, layouts(g).input(), blockedTensors);
            try {
                zero.fill((byte) 0);
                for (int i = 0; i < weights.length; i++) {
                    Phase phase = phases.get(i);
                    weights[i] = pool.array(blocks * phase.plane().taps() * LANES);
                    pack(weight, g.c(), g.r() * g.s(), phase, g, weights[i]);
                }
                task.blocks = blocks;
                task.inPlace = inPlace; // blocked tensors when inPlace: NCHW ones went along the rows
                task.blockedTensors = blockedTensors;
                task.accumulate = accumulate;
                task.everyPixelInAPhase = everyPixelInAPhase;
                task.phases = phases;
                task.gradOutput = gradOutput;
                task.dy = dy;
                task.weights = weights;
                task.zero = zero;
                par.forEach(g.n() * blocks, task);
            } finally {
                dx.release();
            }
        } finally {
            pool.giveAll(weights);
            pool.give(zero);
        }
    }

    private final CallTask.PerThread<BackwardData> backwardDataTasks = new CallTask.PerThread<>(BackwardData::new);

    /** Backward-data on blocked planes, every stride phase: a task is (item, block). */
    private final class BackwardData extends CallTask {
        int blocks;
        boolean inPlace;
        boolean blockedTensors;
        boolean accumulate;
        boolean everyPixelInAPhase;
        List<Phase> phases;
        Tensor gradOutput;
        ChannelBlockedLayout dy;
        float[][] weights;
        /** The input gradient's planes, reused with the task. */
        final Planes dx = new Planes();
        MemorySegment zero;

        @Override
        public void accept(int task) {
            int n = task / blocks, cb = task % blocks;
            float[] in = inPlace ? null : stage(gradOutput, dy, blockedTensors, n, cb, 0);
            if (accumulate) {
                dx.load(n, cb);
            } else if (!everyPixelInAPhase) {
                fill(dx.segment, dx.plane(n, cb), dx.pixels);
            }
            MemorySegment starts = accumulate || !everyPixelInAPhase ? null : zero;
            for (int i = 0; i < weights.length; i++) {
                DepthwisePlane plane = phases.get(i).plane();
                if (inPlace) {
                    plane.runInPlace(gradOutput.segment(), planeAt(gradOutput, dy, true, n, cb, 0), weights[i],
                            cb * plane.taps() * LANES, dx.segment, dx.plane(n, cb), starts, 0);
                } else {
                    plane.run(in, weights[i], cb * plane.taps() * LANES, dx.segment, dx.plane(n, cb), starts, 0);
                }
            }
            dx.store(n, cb);
        }

        @Override
        void clear() {
            phases = null;
            gradOutput = null;
            dy = null;
            weights = null;
            zero = null;
        }
    }

    /**
     * A problem that {@link DepthwisePlane#sweepsInPlace} on NCHW tensors, channel by channel along
     * the rows ({@link DepthwiseRows}): planes of {@code inPlane} and {@code outPlane} floats, the
     * packed weights {@code w} ({@code [block][tap][lane]}), every output starting from its bias
     * (zero without one) or, when {@code accumulate}, from its own value. Tasks are (item, block).
     */
    private void alongNchwRows(Conv2dGeometry g, DepthwisePlane plane, Tensor in, int inPlane, float[] w, Tensor out,
                               int outPlane, Tensor bias, boolean accumulate, Parallelism par) {
        int blocks = Math.ceilDiv(g.c(), LANES);
        try (AlongNchwRows task = alongNchwRowsTasks.take()) {
            task.g = g;
            task.blocks = blocks;
            task.inPlane = inPlane;
            task.outPlane = outPlane;
            task.plane = plane;
            task.in = in;
            task.out = out;
            task.bias = bias;
            task.w = w;
            task.accumulate = accumulate;
            par.forEach(g.n() * blocks, task);
        }
    }

    private final CallTask.PerThread<AlongNchwRows> alongNchwRowsTasks = new CallTask.PerThread<>(AlongNchwRows::new);

    /** Forward or backward-data along the rows of NCHW planes: a task is (item, block of channels). */
    private final class AlongNchwRows extends CallTask {
        Conv2dGeometry g;
        int blocks;
        int inPlane;
        int outPlane;
        DepthwisePlane plane;
        Tensor in;
        Tensor out;
        Tensor bias;
        float[] w;
        boolean accumulate;

        @Override
        public void accept(int task) {
            int n = task / blocks, cb = task % blocks;
            for (int c = cb * LANES; c < Math.min(g.c(), (cb + 1) * LANES); c++) {
                long plane0 = (long) n * g.c() + c;
                plane.runNchw(in.segment(), in.byteOffset() + plane0 * inPlane * Float.BYTES, w,
                        cb * plane.taps() * LANES + c % LANES, out.segment(),
                        out.byteOffset() + plane0 * outPlane * Float.BYTES, bias == null ? 0f : bias.getFlat(c),
                        accumulate);
            }
        }

        @Override
        void clear() {
            g = null;
            plane = null;
            in = null;
            out = null;
            bias = null;
            w = null;
        }
    }

    /**
     * Tasks are chunks of batch items (one per thread) times, with fewer items than threads, ranges
     * of blocks; each chunk sums its items into its own partial gradient ({@code [block][tap][lane]},
     * then the bias as one more tap), and the partials are summed in chunk order: the result depends
     * on the thread count, never on scheduling.
     */
    void backwardWeights(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                         Accumulation mode, boolean blockedTensors, Parallelism par) {
        int blocks = Math.ceilDiv(g.c(), LANES), taps = g.r() * g.s();
        int perBlock = (taps + 1) * LANES;
        // Enough blocks for every thread: a task is one block over every item (one partial, nothing
        // to add up across tasks); else chunks of items, each with its own partial.
        boolean byBlock = blocks >= CHUNKS_PER_THREAD * par.threads();
        int chunks = byBlock ? 1 : Math.min(CHUNKS_PER_THREAD * par.threads(), g.n());
        int splits = byBlock ? blocks : WorkSplit.channelSplits(g.n(), blocks, par.threads());
        DepthwiseWeightGradient rectangles = BlockedPasses.cached(gradientPlans, g, DepthwiseWeightGradient::new);
        float[][] partials = pool.table(chunks);
        ChannelBlockedLayout x = layouts(g).input();
        ChannelBlockedLayout dy = layouts(g).output();
        try {
            for (int i = 0; i < chunks; i++) {
                partials[i] = pool.array(blocks * perBlock + FALSE_SHARING_PAD);
                Arrays.fill(partials[i], 0f);
            }
            try (WeightGradient task = weightGradientTasks.take()) {
                task.g = g;
                task.chunks = chunks;
                task.splits = splits;
                task.blocks = blocks;
                task.taps = taps;
                task.perBlock = perBlock;
                task.blockedTensors = blockedTensors;
                task.rectangles = rectangles;
                task.input = input;
                task.gradOutput = gradOutput;
                task.x = x;
                task.dy = dy;
                task.partials = partials;
                par.forEach(chunks * splits, task);
            }
            for (int k = 0; k < g.k(); k++) {
                int at = (k / LANES) * perBlock + k % LANES;
                for (int t = 0; t < taps; t++) {
                    gradWeight.setFlat((long) k * taps + t, total(partials, at + t * LANES,
                            mode == Accumulation.ACCUMULATE ? gradWeight.getFlat((long) k * taps + t) : 0f));
                }
                if (gradBias != null) {
                    gradBias.setFlat(k, total(partials, at + taps * LANES,
                            mode == Accumulation.ACCUMULATE ? gradBias.getFlat(k) : 0f));
                }
            }
        } finally {
            pool.giveAll(partials);
        }
    }

    private final CallTask.PerThread<WeightGradient> weightGradientTasks = new CallTask.PerThread<>(WeightGradient::new);

    /** Backward-weights: a task is (chunk of items, range of blocks), summing into the chunk's partial. */
    private final class WeightGradient extends CallTask {
        Conv2dGeometry g;
        int chunks;
        int splits;
        int blocks;
        int taps;
        int perBlock;
        boolean blockedTensors;
        DepthwiseWeightGradient rectangles;
        Tensor input;
        Tensor gradOutput;
        ChannelBlockedLayout x;
        ChannelBlockedLayout dy;
        float[][] partials;

        @Override
        public void accept(int task) {
            int chunk = task / splits;
            int kb0 = WorkSplit.start(blocks, splits, task % splits);
            int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
            float[] partial = partials[chunk];
            for (int n = WorkSplit.start(g.n(), chunks, chunk); n < WorkSplit.start(g.n(), chunks, chunk + 1); n++) {
                for (int cb = kb0; cb < kb1; cb++) {
                    long in = planeAt(input, x, blockedTensors, n, cb, 0);
                    long grad = planeAt(gradOutput, dy, blockedTensors, n, cb, 1);
                    MemorySegment gradPlanes = planeSegment(gradOutput, blockedTensors, 1);
                    rectangles.accumulate(planeSegment(input, blockedTensors, 0), in, gradPlanes, grad, partial,
                            cb * perBlock);
                    DepthwiseTiles.sum(gradPlanes, grad, 0, g.outH() * g.outW(), partial,
                            cb * perBlock + taps * LANES);
                }
            }
        }

        @Override
        void clear() {
            g = null;
            rectangles = null;
            input = null;
            gradOutput = null;
            x = null;
            dy = null;
            partials = null;
        }
    }

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

    private static float total(float[][] partials, int at, float start) {
        float sum = start;
        for (float[] partial : partials) {
            sum += partial[at];
        }
        return sum;
    }

    /**
     * Packs the OIHW weights (one input channel each) as {@code [block][tap][lane]}; for a phase of
     * backward-data, the phase's taps in its order (the 180-degree rotation), else every tap.
     * Lanes past the last channel are zero, so padded channels stay zero.
     */
    private static void pack(Tensor weight, int channels, int taps, Phase phase, Conv2dGeometry g, float[] packed) {
        int used = phase == null ? taps : phase.rows().length * phase.columns().length;
        Arrays.fill(packed, 0, Math.ceilDiv(channels, LANES) * used * LANES, 0f);
        for (int c = 0; c < channels; c++) {
            int base = (c / LANES) * used * LANES + c % LANES;
            for (int t = 0; t < used; t++) {
                int tap = phase == null ? t
                        : phase.rows()[t / phase.columns().length] * g.s() + phase.columns()[t % phase.columns().length];
                packed[base + t * LANES] = weight.getFlat((long) c * taps + tap);
            }
        }
    }

    /** Writes zeros into every pixel of a plane. */
    private static void fill(MemorySegment out, long at, int pixels) {
        out.asSlice(at, pixels * PIXEL_BYTES).fill((byte) 0);
    }

    /**
     * A tensor's channel-blocked planes: the tensor itself when it is blocked, else ({@code nchw}
     * not null) a pooled blocked copy whose planes {@link #load} and {@link #store} convert. Set for
     * a call by {@link #of} and emptied by {@link #release}; each task object keeps one.
     */
    private final class Planes {
        Tensor nchw;
        MemorySegment segment;
        long offset;
        ChannelBlockedLayout layout;
        int pixels;

        /** The planes of {@code t} (blocked, or NCHW copied through a pooled workspace) in {@code layout}. */
        Planes of(Tensor t, ChannelBlockedLayout layout, boolean blocked) {
            this.nchw = blocked ? null : t;
            this.segment = blocked ? t.segment() : pool.segment(layout.itemBytes() * t.dim(0));
            this.offset = blocked ? t.byteOffset() : 0;
            this.layout = layout;
            this.pixels = layout.height() * layout.width();
            return this;
        }

        long plane(int n, int cb) {
            return offset + ((long) n * layout.blocks() + cb) * pixels * PIXEL_BYTES;
        }

        void load(int n, int cb) {
            if (nchw != null) {
                BlockedConversion.toBlocked(layout, nchw.segment(), nchw.byteOffset(), segment, offset, n, cb);
            }
        }

        void store(int n, int cb) {
            if (nchw != null) {
                BlockedConversion.toNchw(layout, segment, offset, nchw.segment(), nchw.byteOffset(), n, cb);
            }
        }

        void release() {
            if (nchw != null) {
                pool.give(segment);
            }
            nchw = null;
            segment = null;
            layout = null;
        }
    }
}
