package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.BlockedTiles.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
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

    /** Problems kept with their tap lists, so that a repeated call builds nothing; cleared past {@link #PLANS}. */
    static final int PLANS = 64;

    private final ScratchPool pool = new ScratchPool();
    private final ConcurrentHashMap<BlockedProblem, BlockedDirectConvolution> plans = new ConcurrentHashMap<>();

    private BlockedDirectConvolution plan(BlockedProblem p) {
        if (plans.size() > PLANS) {
            plans.clear();
        }
        return plans.computeIfAbsent(p, BlockedDirectConvolution::new);
    }

    /**
     * Forward: groups whose channels fill whole blocks, and at least a block of channels in and out.
     * A partial last block runs only its real input channels, but first layers (one or three
     * channels) measured slower here than on the row kernels: with stride 2 and a 7x7 kernel the
     * staging and the conversions of a 224x224 image cost more than the tiles save.
     */
    static boolean acceptsForward(Conv2dGeometry g) {
        return BlockedProblem.blocksFitGroups(g, LANES) && g.channelsPerGroup() >= LANES
                && g.filtersPerGroup() >= LANES && BlockedDirectConvolution.fitsArrays(BlockedProblem.forward(g, LANES));
    }

    /**
     * Backward-data at stride 1 (larger strides are split into phases by the row kernels): the
     * input channels are its lanes, so at least a block of them (a first layer's three channels would
     * leave most lanes empty: it stays on the row kernels, vectorised along the width).
     */
    static boolean acceptsBackwardData(Conv2dGeometry g) {
        return g.strideH() == 1 && g.strideW() == 1 && BlockedProblem.blocksFitGroups(g, LANES)
                && g.channelsPerGroup() >= LANES
                && BlockedDirectConvolution.fitsArrays(BlockedProblem.backwardData(g, LANES));
    }

    /**
     * Forward; {@code blockedTensors} says whether input and output are NCHW (converted on the way)
     * or already channel-blocked ({@link ChannelBlockedLayout}, used as they are).
     */
    void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, boolean blockedTensors,
                 Parallelism par) {
        BlockedDirectConvolution conv = plan(BlockedProblem.forward(g, LANES));
        float[] w = pool.array(BlockedWeights.length(conv.problem(), LANES));
        float[] b = bias == null ? null : pool.array(conv.problem().totalOutBlocks() * LANES);
        try {
            BlockedWeights.forward(g, weight, LANES, w);
            if (b != null) {
                Arrays.fill(b, 0f);
                for (int k = 0; k < g.k(); k++) {
                    b[k] = bias.getFlat(k);
                }
            }
            run(conv, g.n(), input, output, blockedTensors, w, b, false, par);
        } finally {
            pool.give(w);
            if (b != null) {
                pool.give(b);
            }
        }
    }

    /**
     * Backward-data at stride 1, the seed's transformed problem (seed 001, 17.3.1): the output
     * gradient padded by the kernel extent and cross-correlated with the kernels rotated by 180
     * degrees and transposed ({@link BlockedProblem#backwardData}, {@link BlockedWeights#backwardData}).
     */
    void backwardData(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput, Accumulation mode,
                      boolean blockedTensors, Parallelism par) {
        BlockedDirectConvolution conv = plan(BlockedProblem.backwardData(g, LANES));
        float[] w = pool.array(BlockedWeights.length(conv.problem(), LANES));
        try {
            BlockedWeights.backwardData(g, weight, LANES, w);
            run(conv, g.n(), gradOutput, gradInput, blockedTensors, w, null, mode == Accumulation.ACCUMULATE, par);
        } finally {
            pool.give(w);
        }
    }

    /**
     * Backward-weights and backward-bias: tasks are chunks of batch items (one per thread) and, with
     * fewer items than threads, ranges of output blocks; each chunk sums its items into its own
     * partial gradient, and the partials are summed in chunk order, so the result depends on the
     * thread count but never on scheduling.
     */
    void backwardWeights(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                         Accumulation mode, boolean blockedTensors, Parallelism par) {
        BlockedWeightGradient grad = new BlockedWeightGradient(g);
        int chunks = Math.min(par.threads(), g.n());
        int blocks = grad.problem().totalOutBlocks();
        int splits = WorkSplit.channelSplits(g.n(), blocks, par.threads());
        float[][] partials = new float[chunks][];
        float[][] biasPartials = new float[chunks][];
        try {
            for (int i = 0; i < chunks; i++) {
                partials[i] = pool.array(grad.partialLength());
                Arrays.fill(partials[i], 0, grad.partialLength(), 0f);
                biasPartials[i] = pool.array(blocks * LANES);
                Arrays.fill(biasPartials[i], 0, blocks * LANES, 0f);
            }
            par.forEach(chunks * splits, task -> {
                int chunk = task / splits;
                int n0 = WorkSplit.start(g.n(), chunks, chunk), n1 = WorkSplit.start(g.n(), chunks, chunk + 1);
                int kb0 = WorkSplit.start(blocks, splits, task % splits);
                int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
                for (int n = n0; n < n1; n++) {
                    grad.accumulate(input, gradOutput, blockedTensors, n, kb0, kb1, partials[chunk],
                            gradBias == null ? null : biasPartials[chunk]);
                }
            });
            grad.unpack(partials, biasPartials, chunks, gradWeight, gradBias, mode);
        } finally {
            for (int i = 0; i < chunks; i++) {
                if (partials[i] != null) {
                    pool.give(partials[i]);
                }
                if (biasPartials[i] != null) {
                    pool.give(biasPartials[i]);
                }
            }
        }
    }

    /**
     * Stages every item of {@code in}, runs {@code conv} into the blocked output, which starts from
     * {@code bias} (or keeps its values when {@code accumulate}). With NCHW tensors the output is a
     * pooled blocked workspace, converted into {@code out} item by item; with blocked tensors it is
     * {@code out} itself.
     */
    private void run(BlockedDirectConvolution conv, int batch, Tensor in, Tensor out, boolean blockedTensors,
                     float[] w, float[] bias, boolean accumulate, Parallelism par) {
        BlockedProblem p = conv.problem();
        int channels = blockedTensors ? p.totalOutBlocks() * LANES : out.dim(1);
        ChannelBlockedLayout layout = new ChannelBlockedLayout(channels, p.outH(), p.outW(), LANES);
        int blocks = layout.blocks();
        MemorySegment workspace = blockedTensors ? null : pool.segment(layout.itemBytes() * batch);
        MemorySegment blocked = blockedTensors ? out.segment() : workspace;
        long offset = blockedTensors ? out.byteOffset() : 0;
        try {
            int splits = WorkSplit.channelSplits(batch, blocks, par.threads());
            par.forEach(batch * splits, task -> {
                int n = task / splits;
                int kb0 = WorkSplit.start(blocks, splits, task % splits);
                int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
                if (!accumulate) {
                    conv.fill(blocked, offset, n, kb0, kb1, bias);
                } else if (!blockedTensors) {
                    for (int kb = kb0; kb < kb1; kb++) {
                        layout.toBlocked(out.segment(), out.byteOffset(), blocked, offset, n, kb);
                    }
                }
                float[] staged = blockedTensors ? conv.staging().stageBlocked(in.segment(), in.byteOffset(), n)
                        : conv.staging().stageNchw(in.segment(), in.byteOffset(), n);
                conv.run(staged, blocked, offset, w, n, kb0, kb1);
                if (!blockedTensors) {
                    for (int kb = kb0; kb < kb1; kb++) {
                        layout.toNchw(blocked, offset, out.segment(), out.byteOffset(), n, kb);
                    }
                }
            });
        } finally {
            if (workspace != null) {
                pool.give(workspace);
            }
        }
    }
}
