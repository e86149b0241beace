package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.BlockedTiles.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.ConcurrentHashMap;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * The passes of the blocked direct convolution on NCHW tensors: each batch item is staged into the
 * channel-blocked layout, the tiles write a channel-blocked output ({@link BlockedDirectConvolution}),
 * and the output is converted back to NCHW; the conversions are counted in the time of the pass.
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
     * Forward: groups whose channels fill whole blocks, and at least a block of channels in and out
     * (with fewer, most lanes would multiply padding: the row kernels are faster there, measured on
     * the seed's second layer, 4 to 6 channels).
     */
    static boolean acceptsForward(Conv2dGeometry g) {
        return BlockedProblem.blocksFitGroups(g, LANES) && g.channelsPerGroup() >= LANES
                && g.filtersPerGroup() >= LANES && BlockedDirectConvolution.fitsArrays(BlockedProblem.forward(g, LANES));
    }

    /** Backward-data: as forward, at stride 1 (larger strides are split into phases by the row kernels). */
    static boolean acceptsBackwardData(Conv2dGeometry g) {
        return g.strideH() == 1 && g.strideW() == 1 && BlockedProblem.blocksFitGroups(g, LANES)
                && g.channelsPerGroup() >= LANES && g.filtersPerGroup() >= LANES
                && BlockedDirectConvolution.fitsArrays(BlockedProblem.backwardData(g, LANES));
    }

    void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, Parallelism par) {
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
            run(conv, g.n(), input, output, w, b, null, par);
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
                      Parallelism par) {
        BlockedDirectConvolution conv = plan(BlockedProblem.backwardData(g, LANES));
        float[] w = pool.array(BlockedWeights.length(conv.problem(), LANES));
        try {
            BlockedWeights.backwardData(g, weight, LANES, w);
            run(conv, g.n(), gradOutput, gradInput, w, null, mode == Accumulation.ACCUMULATE ? gradInput : null, par);
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
                         Accumulation mode, Parallelism par) {
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
                    grad.accumulate(input, gradOutput, n, kb0, kb1, partials[chunk],
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
     * Stages every item of {@code in}, runs {@code conv} into a blocked workspace that starts from
     * {@code bias} (or from {@code accumulateInto}'s values), and converts the result into {@code out}.
     */
    private void run(BlockedDirectConvolution conv, int batch, Tensor in, Tensor out, float[] w, float[] bias,
                     Tensor accumulateInto, Parallelism par) {
        BlockedProblem p = conv.problem();
        int channels = out.dim(1);
        ChannelBlockedLayout layout = new ChannelBlockedLayout(channels, p.outH(), p.outW(), LANES);
        int blocks = layout.blocks();
        MemorySegment blocked = pool.segment(layout.itemBytes() * batch);
        try {
            int splits = WorkSplit.channelSplits(batch, blocks, par.threads());
            par.forEach(batch * splits, task -> {
                int n = task / splits;
                int kb0 = WorkSplit.start(blocks, splits, task % splits);
                int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
                if (accumulateInto != null) {
                    for (int kb = kb0; kb < kb1; kb++) {
                        layout.toBlocked(accumulateInto.segment(), accumulateInto.byteOffset(), blocked, 0, n, kb);
                    }
                } else {
                    conv.fill(blocked, 0, n, kb0, kb1, bias);
                }
                float[] staged = conv.staging().stageNchw(in.segment(), in.byteOffset(), n);
                conv.run(staged, blocked, 0, w, n, kb0, kb1);
                for (int kb = kb0; kb < kb1; kb++) {
                    layout.toNchw(blocked, 0, out.segment(), out.byteOffset(), n, kb);
                }
            });
        } finally {
            pool.give(blocked);
        }
    }
}
