package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.BlockedTiles.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Function;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.ChannelBlockedLayout;
import org.simdconv.tensor.Tensor;

/**
 * The passes of the blocked direct convolution, on NCHW tensors or on channel-blocked ones
 * ({@link ChannelBlockedLayout}): each batch item is staged into a heap array, the tiles write a
 * channel-blocked output ({@link BlockedDirectConvolution}), and with NCHW tensors the output is
 * converted back; those conversions are counted in the time of the NCHW passes.
 * Tasks are batch items, and output-channel blocks too when there are fewer items than threads.
 * Workspaces come from a {@link ScratchPool} and plans (tap lists) are kept per problem, so a pass
 * allocates next to nothing after its first call.
 */
final class BlockedPasses {

    /**
     * Plans kept per problem (tap lists) and per geometry (stride phases), so that a repeated call
     * builds nothing; cleared when more than {@link #PLANS} accumulate.
     */
    static final int PLANS = 64;

    private final ScratchPool pool;
    private final PackedWeights packedWeights;
    private final ConcurrentHashMap<Conv2dGeometry, Plans> forwardPlans = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Conv2dGeometry, Plans> backwardDataPlans = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Conv2dGeometry, BlockedWeightGradient> gradientPlans = new ConcurrentHashMap<>();

    /**
     * The problems one pass runs on one geometry (one, or the stride phases of backward-data, none
     * when no tap reaches an input pixel), with the layouts of its output, blocked and NCHW: built
     * on the first call, so that the next ones find everything by the geometry alone.
     */
    private record Plans(BlockedDirectConvolution[] convs, List<BackwardDataPhase> phases,
                         ChannelBlockedLayout blockedOutput, ChannelBlockedLayout nchwOutput) {

        static Plans of(BlockedDirectConvolution[] convs, List<BackwardDataPhase> phases, int channels) {
            if (convs.length == 0) {
                return new Plans(convs, phases, null, null);
            }
            BlockedDirectConvolution.OutputGrid plane = convs[0].grid();
            int blocks = convs[0].problem().totalOutBlocks();
            return new Plans(convs, phases,
                    new ChannelBlockedLayout(blocks * LANES, plane.planeH(), plane.planeW(), LANES),
                    new ChannelBlockedLayout(channels, plane.planeH(), plane.planeW(), LANES));
        }
    }

    /**
     * Packs forward weights for the tiles of {@code g}'s plan (one object, not one a call), as a
     * list of one problem's weights like backward-data's phases.
     */
    private final BiFunction<Conv2dGeometry, float[], float[][]> forwardPacker = (g, oihw) -> {
        BlockedDirectConvolution conv = forwardPlans(g).convs()[0];
        float[] packed = new float[BlockedWeights.length(conv.problem())];
        BlockedWeights.forward(g, oihw, conv.staging().group(), packed);
        return new float[][] {packed};
    };

    /** Packs the rotated, transposed weights of every stride phase of {@code g}'s backward-data. */
    private final BiFunction<Conv2dGeometry, float[], float[][]> backwardDataPacker = (g, oihw) -> {
        Plans plans = backwardDataPlans(g);
        float[][] packed = new float[plans.convs().length][];
        for (int i = 0; i < packed.length; i++) {
            BackwardDataPhase phase = plans.phases().get(i);
            packed[i] = new float[BlockedWeights.length(phase.problem())];
            BlockedWeights.backwardData(g, oihw, plans.convs()[i].staging().group(), phase, packed[i]);
        }
        return packed;
    };

    BlockedPasses(ScratchPool pool, PackedWeights packedWeights) {
        this.pool = pool;
        this.packedWeights = packedWeights;
    }

    private Plans forwardPlans(Conv2dGeometry g) {
        return cached(forwardPlans, g, key -> {
            BlockedProblem p = BlockedProblem.forward(key, LANES);
            return Plans.of(new BlockedDirectConvolution[] {
                new BlockedDirectConvolution(p, BlockedDirectConvolution.OutputGrid.dense(p))}, List.of(), key.k());
        });
    }

    private Plans backwardDataPlans(Conv2dGeometry g) {
        return cached(backwardDataPlans, g, key -> {
            List<BackwardDataPhase> phases = BackwardDataPhase.of(key, LANES);
            return Plans.of(phases.stream().map(ph -> new BlockedDirectConvolution(ph.problem(), ph.grid()))
                    .toArray(BlockedDirectConvolution[]::new), phases, key.c());
        });
    }

    /**
     * The value kept for {@code key}, made by {@code make} on the first call; the map is cleared
     * when more than {@link #PLANS} accumulate. {@code make} should capture nothing: it is then one
     * object for the JVM's life, and a call that finds its value allocates nothing.
     */
    static <K, V> V cached(ConcurrentHashMap<K, V> map, K key, Function<K, V> make) {
        V kept = map.get(key);
        if (kept != null) {
            return kept;
        }
        if (map.size() > PLANS) {
            map.clear();
        }
        return map.computeIfAbsent(key, make);
    }

    /**
     * Forward: groups whose channels fill whole blocks, or one group of at least half a block of
     * input channels (a partial last block runs only its real channels; output lanes past the last
     * filter are computed with zero weights). Measured on both entry points (2 threads, oneDNN
     * ratios): the seed's second layer (4 channels to 6) went from 0.11 to 0.42 on the blocked
     * entry and stayed at 0.23 on NCHW; first layers with one or three channels got slower on
     * NCHW (seed_conv1 1.01 to 0.12, resnet_stem 0.38 to 0.30) without gaining on the blocked
     * entry, so they stay on the row kernels, vectorised along the width.
     */
    static boolean acceptsForward(Conv2dGeometry g) {
        return BlockedProblem.blocksFitGroups(g, LANES)
                && (g.groups() == 1 ? 2 * g.channelsPerGroup() >= LANES : g.channelsPerGroup() >= LANES)
                && BlockedDirectConvolution.fitsArrays(BlockedProblem.forward(g, LANES));
    }

    /**
     * Backward-data, at any stride ({@link BackwardDataPhase}): the input channels are its lanes, so
     * whole blocks of them per group, or one group of at least half a block (the seed's second
     * layer, 4 channels: 0.22 to 0.44 of oneDNN on the blocked entry at 2 threads). A first layer's
     * one or three channels would leave most lanes empty: it stays on the row kernels, vectorised
     * along the width.
     */
    static boolean acceptsBackwardData(Conv2dGeometry g) {
        return BlockedProblem.blocksFitGroups(g, LANES)
                && (g.groups() == 1 ? 2 * g.channelsPerGroup() >= LANES : g.channelsPerGroup() >= LANES)
                && new BlockedStaging(g.k(), g.outH(), g.outW(), 1, LANES).itemFloats() < Integer.MAX_VALUE - 64;
    }

    /** True when the forward input of {@code g} is staged four blocks per pixel ({@link BlockedDirectConvolution#group}). */
    static boolean forwardStagesFourBlocks(Conv2dGeometry g) {
        return BlockedDirectConvolution.group(BlockedProblem.forward(g, LANES)) == BlockedDirectConvolution.GROUP;
    }

    /** True when the output gradient of {@code g} is staged four blocks per pixel for backward-data. */
    static boolean backwardDataStagesFourBlocks(Conv2dGeometry g) {
        return BlockedProblem.blocksPerGroup(g.filtersPerGroup(), g, LANES) % BlockedDirectConvolution.GROUP == 0;
    }

    /**
     * Forward; {@code inBlocked} and {@code outBlocked} say whether input and output are
     * channel-blocked ({@link ChannelBlockedLayout}, used as they are) or NCHW (the input staged
     * from it, the output converted into it).
     */
    void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, boolean inBlocked,
                 boolean outBlocked, Parallelism par) {
        Plans plans = forwardPlans(g);
        float[][] w = packedWeights.packed("blocked-forward", g, weight, forwardPacker);
        float[] b = bias == null ? null : pool.array(plans.convs()[0].problem().totalOutBlocks() * LANES);
        try {
            if (b != null) {
                Arrays.fill(b, 0f);
                for (int k = 0; k < g.k(); k++) {
                    b[k] = bias.getFlat(k);
                }
            }
            run(plans, w, g.n(), input, output, inBlocked, outBlocked, b, false, par);
        } finally {
            if (b != null) {
                pool.give(b);
            }
        }
    }

    /**
     * Backward-data, the seed's transformed problem (seed 001, 17.3.1) split into stride phases
     * ({@link BackwardDataPhase}): the output gradient correlated with the kernels rotated by 180
     * degrees and transposed, each phase filling its sub-grid of the input gradient. The flags say
     * which of the two gradients are channel-blocked (else NCHW).
     */
    void backwardData(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput, Accumulation mode,
                      boolean gradOutputBlocked, boolean gradInputBlocked, Parallelism par) {
        Plans plans = backwardDataPlans(g);
        if (plans.convs().length == 0) { // no kernel tap reaches any input pixel: the gradient is zero
            if (mode == Accumulation.OVERWRITE) {
                gradInput.fill(0f);
            }
            return;
        }
        float[][] weights = packedWeights.packed("blocked-backward-data", g, weight, backwardDataPacker);
        run(plans, weights, g.n(), gradOutput, gradInput, gradOutputBlocked, gradInputBlocked, null,
                mode == Accumulation.ACCUMULATE, par);
    }

    /**
     * Backward-weights and backward-bias: tasks are chunks of batch items (one per thread) and, with
     * fewer items than threads, ranges of output blocks; each chunk sums its items into its own
     * partial gradient, and the partials are summed in chunk order, so the result depends on the
     * thread count but never on scheduling.
     */
    void backwardWeights(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                         Accumulation mode, boolean inputBlocked, boolean gradOutputBlocked, Parallelism par) {
        BlockedWeightGradient grad = cached(gradientPlans, g, BlockedWeightGradient::new);
        int chunks = Math.min(par.threads(), g.n());
        int blocks = grad.problem().totalOutBlocks();
        int splits = WorkSplit.channelSplits(g.n(), blocks, par.threads());
        float[][] partials = pool.table(chunks);
        float[][] biasPartials = pool.table(chunks);
        try {
            for (int i = 0; i < chunks; i++) {
                partials[i] = pool.array(grad.partialLength());
                biasPartials[i] = pool.array(blocks * LANES);
            }
            try (WeightGradient task = weightGradientTasks.take()) {
                task.g = g;
                task.chunks = chunks;
                task.splits = splits;
                task.blocks = blocks;
                task.grad = grad;
                task.input = input;
                task.gradOutput = gradOutput;
                task.gradBias = gradBias;
                task.inputBlocked = inputBlocked;
                task.gradOutputBlocked = gradOutputBlocked;
                task.partials = partials;
                task.biasPartials = biasPartials;
                par.forEach(chunks * splits, task);
            }
            float[] scratch = pool.array((int) gradWeight.elementCount());
            grad.unpack(partials, biasPartials, chunks, gradWeight, gradBias, mode, scratch, par);
            pool.give(scratch);
        } finally {
            pool.giveAll(partials);
            pool.giveAll(biasPartials);
        }
    }

    private final CallTask.PerThread<WeightGradient> weightGradientTasks = new CallTask.PerThread<>(WeightGradient::new);

    /** Backward-weights: a task is (chunk of items, range of output blocks), summing into the chunk's partial. */
    private final class WeightGradient extends CallTask {
        Conv2dGeometry g;
        int chunks;
        int splits;
        int blocks;
        BlockedWeightGradient grad;
        Tensor input;
        Tensor gradOutput;
        Tensor gradBias;
        boolean inputBlocked;
        boolean gradOutputBlocked;
        float[][] partials;
        float[][] biasPartials;

        @Override
        public void accept(int task) {
            int chunk = task / splits;
            int n0 = WorkSplit.start(g.n(), chunks, chunk), n1 = WorkSplit.start(g.n(), chunks, chunk + 1);
            int kb0 = WorkSplit.start(blocks, splits, task % splits);
            int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
            grad.clear(partials[chunk], biasPartials[chunk], kb0, kb1); // each task its own blocks, in parallel
            for (int n = n0; n < n1; n++) {
                grad.accumulate(input, gradOutput, inputBlocked, gradOutputBlocked, n, kb0, kb1, partials[chunk],
                        gradBias == null ? null : biasPartials[chunk]);
            }
        }

        @Override
        void clear() {
            g = null;
            grad = null;
            input = null;
            gradOutput = null;
            gradBias = null;
            partials = null;
            biasPartials = null;
        }
    }

    /**
     * Stages every item of {@code in}, runs every problem of {@code convs} (with its weights) into
     * the blocked output, which starts from {@code bias} (or keeps its values when
     * {@code accumulate}). The problems share their input and output planes: one, or the stride
     * phases of backward-data. The input is staged from its layout; an NCHW output is computed in a
     * pooled blocked workspace and converted into {@code out} item by item, a blocked one is
     * {@code out} itself.
     */
    private void run(Plans plans, float[][] weights, int batch, Tensor in, Tensor out,
                     boolean inBlocked, boolean outBlocked, float[] bias, boolean accumulate, Parallelism par) {
        BlockedDirectConvolution[] convs = plans.convs();
        BlockedDirectConvolution first = convs[0];
        ChannelBlockedLayout layout = outBlocked ? plans.blockedOutput() : plans.nchwOutput();
        int blocks = layout.blocks();
        MemorySegment workspace = outBlocked ? null : pool.segment(layout.itemBytes() * batch);
        MemorySegment blocked = outBlocked ? out.segment() : workspace;
        long offset = outBlocked ? out.byteOffset() : 0;
        try {
            int splits = WorkSplit.channelSplits(batch, blocks, par.threads());
            try (Items task = itemsTasks.take()) {
                task.splits = splits;
                task.blocks = blocks;
                task.first = first;
                task.convs = convs;
                task.weights = weights;
                task.layout = layout;
                task.in = in;
                task.out = out;
                task.blocked = blocked;
                task.offset = offset;
                task.bias = bias;
                task.inBlocked = inBlocked;
                task.outBlocked = outBlocked;
                task.accumulate = accumulate;
                par.forEach(batch * splits, task);
            }
        } finally {
            if (workspace != null) {
                pool.give(workspace);
            }
        }
    }

    private final CallTask.PerThread<Items> itemsTasks = new CallTask.PerThread<>(Items::new);

    /** Forward or backward-data: a task is (item, range of output blocks): stage the item, run every problem. */
    private final class Items extends CallTask {
        int splits;
        int blocks;
        BlockedDirectConvolution first;
        BlockedDirectConvolution[] convs;
        float[][] weights;
        ChannelBlockedLayout layout;
        Tensor in;
        Tensor out;
        MemorySegment blocked;
        long offset;
        float[] bias;
        boolean inBlocked;
        boolean outBlocked;
        boolean accumulate;

        @Override
        public void accept(int task) {
            int n = task / splits;
            int kb0 = WorkSplit.start(blocks, splits, task % splits);
            int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
            if (!accumulate) {
                first.fill(blocked, offset, n, kb0, kb1, bias);
            } else if (!outBlocked) {
                for (int kb = kb0; kb < kb1; kb++) {
                    BlockedConversion.toBlocked(layout, out.segment(), out.byteOffset(), blocked, offset, n, kb);
                }
            }
            float[] staged = inBlocked ? first.staging().stageBlocked(in.segment(), in.byteOffset(), n)
                    : first.staging().stageNchw(in.segment(), in.byteOffset(), n);
            for (int i = 0; i < convs.length; i++) {
                convs[i].run(staged, blocked, offset, weights[i], n, kb0, kb1);
            }
            if (!outBlocked) {
                for (int kb = kb0; kb < kb1; kb++) {
                    BlockedConversion.toNchw(layout, blocked, offset, out.segment(), out.byteOffset(), n, kb);
                }
            }
        }

        @Override
        void clear() {
            first = null;
            convs = null;
            weights = null;
            layout = null;
            in = null;
            out = null;
            blocked = null;
            bias = null;
        }
    }
}
