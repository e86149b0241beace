package org.simdconv.internal.simd.blocked;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.List;
import org.simdconv.internal.conv.BackwardDataPrimitive;
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
import org.simdconv.tensor.Tensor;

/**
 * Channel-blocked direct convolution ({@link BlockedDirectConvolution}, tiles of two blocks of
 * output channels by four or eight pixels): forward, and backward-data as the seed's transformed
 * problem (seed 001, 17.3.1) split into stride phases ({@link BackwardDataPhase}). Each batch item
 * is staged into an array (from NCHW or blocked memory), the tiles write a channel-blocked output,
 * and an NCHW output is converted item by item right after it is computed. Tasks are batch items,
 * and ranges of output blocks too when there are fewer items than threads.
 *
 * <p>Two entries of the list: the input staged four blocks per pixel, when a group's input blocks
 * are a multiple of four (one loop over 64 channels per kernel tap instead of four over 16: 14 to
 * 58% faster on the ResNet shapes in an interleaved A/B), else two blocks per pixel when they are
 * even, or one.
 */
public final class BlockedDirectKernel implements ConvKernel {

    /** Workspace slots of a call. */
    private static final int STAGED = 0;
    private static final int SCRATCH = 1;
    private static final int BIAS = 2;
    private static final int BLOCKED_OUTPUT = 3;

    private final boolean fourBlocksPerPixel;

    private BlockedDirectKernel(boolean fourBlocksPerPixel) {
        this.fourBlocksPerPixel = fourBlocksPerPixel;
    }

    /** The entry for groups of a multiple of four input blocks, staged four blocks per pixel. */
    public static BlockedDirectKernel fourBlocksPerPixel() {
        return new BlockedDirectKernel(true);
    }

    /** The entry for the other groups, staged one block per pixel. */
    public static BlockedDirectKernel oneBlockPerPixel() {
        return new BlockedDirectKernel(false);
    }

    @Override
    public String name() {
        return fourBlocksPerPixel ? "blocked-direct-2x4-b4" : "blocked-direct-2x4";
    }

    /**
     * Groups whose channels fill whole blocks, or one group of at least half a block of channels
     * (on the side the tiles reduce over: the input for forward, the output gradient for
     * backward-data; a partial last block runs only its real channels). Measured on both layouts
     * (2 threads, oneDNN ratios): the seed's second layer (4 channels to 6) went from 0.11 to 0.42
     * on blocked tensors; first layers with one or three channels got slower (seed_conv1 1.01 to
     * 0.12), so they are left to kernels that vectorise along the width. This entry takes the
     * problems whose staging has its number of blocks per pixel.
     */
    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        if (!BlockedProblem.blocksFitGroups(g, LANES)
                || (g.groups() == 1 ? 2 * g.channelsPerGroup() < LANES : g.channelsPerGroup() < LANES)) {
            return false;
        }
        return switch (pass) {
            case FORWARD -> {
                BlockedProblem p = BlockedProblem.forward(g, LANES);
                yield BlockedDirectConvolution.fitsArrays(p)
                        && (BlockedDirectConvolution.group(p) == BlockedDirectConvolution.GROUP) == fourBlocksPerPixel;
            }
            case BACKWARD_DATA -> new BlockedStaging(g.k(), g.outH(), g.outW(), 1, LANES).itemFloats() < Integer.MAX_VALUE - 64
                    && (BlockedProblem.blocksPerGroup(g.filtersPerGroup(), g, LANES) % BlockedDirectConvolution.GROUP == 0)
                    == fourBlocksPerPixel;
            case BACKWARD_WEIGHTS -> false;
        };
    }

    @Override
    public ForwardPrimitive<float[][]> forward(ConvProblem g) {
        return new Forward(g);
    }

    @Override
    public BackwardDataPrimitive<float[][]> backwardData(ConvProblem g) {
        return new BackwardData(g);
    }

    /**
     * The problems one pass runs (one, or the stride phases of backward-data; none when no tap
     * reaches an input pixel) and the layouts of its output, blocked and NCHW.
     */
    private abstract static class Pass extends SimdPrimitive {
        final BlockedDirectConvolution[] convs;
        final BlockedPlanes blockedOutput;
        final BlockedPlanes nchwOutput;
        private final CallTask.Pool<Items> tasks = new CallTask.Pool<>(Items::new);

        Pass(ConvProblem g, BlockedDirectConvolution[] convs, int outputChannels) {
            super(g);
            this.convs = convs;
            if (convs.length == 0) {
                blockedOutput = nchwOutput = null;
            } else {
                OutputGrid plane = convs[0].grid();
                int blocks = convs[0].problem().totalOutBlocks();
                blockedOutput = new BlockedPlanes(blocks * LANES, plane.planeH(), plane.planeW());
                nchwOutput = new BlockedPlanes(outputChannels, plane.planeH(), plane.planeW());
            }
        }

        /**
         * Stages every item of {@code in}, runs every problem (with its weights) into the blocked
         * output, which starts from {@code bias} (or keeps its values when {@code accumulate}). An
         * NCHW output is computed in a blocked workspace and converted into {@code out} item by item.
         */
        void run(float[][] weights, Tensor in, Tensor out, Tensor bias, boolean accumulate, Workspace workspace,
                 Parallelism par) {
            boolean outBlocked = blocked(out);
            BlockedPlanes layout = outBlocked ? blockedOutput : nchwOutput;
            int blocks = layout.blocks(), batch = g.n();
            try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Items task = tasks.take()) {
                float[] b = null;
                if (bias != null) {
                    b = lease.floats(BIAS, 0, convs[0].problem().totalOutBlocks() * LANES);
                    Arrays.fill(b, 0f);
                    MemorySegment.copy(bias.segment(), Tensor.FLOAT, bias.byteOffset(), b, 0, g.k());
                }
                task.splits = WorkSplit.channelSplits(batch, blocks, par.threads());
                task.blocks = blocks;
                task.convs = convs;
                task.weights = weights;
                task.layout = layout;
                task.in = in;
                task.inBlocked = blocked(in);
                task.out = out;
                task.outBlocked = outBlocked;
                task.blocked = outBlocked ? out.segment() : lease.segment(BLOCKED_OUTPUT, 0, layout.itemBytes() * batch);
                task.offset = outBlocked ? out.byteOffset() : 0;
                task.bias = b;
                task.accumulate = accumulate;
                task.lease = lease;
                task.scratchFloats = Reorder.scratchFloats(Math.max(convs[0].staging().width(), layout.width()));
                par.forEach(batch * task.splits, task);
            }
        }
    }

    private static final class Forward extends Pass implements ForwardPrimitive<float[][]> {
        Forward(ConvProblem g) {
            this(g, BlockedProblem.forward(g, LANES));
        }

        private Forward(ConvProblem g, BlockedProblem p) {
            super(g, new BlockedDirectConvolution[] {new BlockedDirectConvolution(p, OutputGrid.dense(p))}, g.k());
        }

        @Override
        public float[][] pack(float[] oihw, float[][] previous) {
            float[][] packed = previous != null ? previous : new float[][] {new float[BlockedWeights.length(convs[0].problem())]};
            BlockedWeights.forward(g, convs[0].problem(), oihw, convs[0].staging().group(), packed[0]);
            return packed;
        }

        @Override
        public void forward(Tensor input, float[][] weights, Tensor bias, Tensor output, Workspace workspace,
                            Parallelism par) {
            run(weights, input, output, bias, false, workspace, par);
        }
    }

    private static final class BackwardData extends Pass implements BackwardDataPrimitive<float[][]> {
        final List<BackwardDataPhase> phases;

        BackwardData(ConvProblem g) {
            this(g, BackwardDataPhase.of(g, LANES));
        }

        private BackwardData(ConvProblem g, List<BackwardDataPhase> phases) {
            super(g, phases.stream().map(ph -> new BlockedDirectConvolution(ph.problem(), ph.grid()))
                    .toArray(BlockedDirectConvolution[]::new), g.c());
            this.phases = phases;
        }

        /** The rotated, transposed weights of every stride phase (seed 001, 17.3.1). */
        @Override
        public float[][] pack(float[] oihw, float[][] previous) {
            float[][] packed = previous != null ? previous : new float[convs.length][];
            for (int i = 0; i < packed.length; i++) {
                BackwardDataPhase phase = phases.get(i);
                if (packed[i] == null) {
                    packed[i] = new float[BlockedWeights.length(phase.problem())];
                }
                BlockedWeights.backwardData(g, oihw, convs[i].staging().group(), phase, packed[i]);
            }
            return packed;
        }

        @Override
        public void backwardData(Tensor gradOutput, float[][] weights, Tensor gradInput, boolean accumulate,
                                 Workspace workspace, Parallelism par) {
            if (convs.length == 0) { // no kernel tap reaches any input pixel: the gradient is zero
                if (!accumulate) { // padding channels included
                    Zeros.fill(gradInput.segment(), gradInput.byteOffset(), gradInput.storageBytes());
                }
                return;
            }
            run(weights, gradOutput, gradInput, null, accumulate, workspace, par);
        }
    }

    /** A task is (item, range of output blocks): stage the item, run every problem, convert an NCHW output. */
    private static final class Items extends CallTask {
        int splits;
        int blocks;
        BlockedDirectConvolution[] convs;
        float[][] weights;
        BlockedPlanes layout;
        Tensor in;
        boolean inBlocked;
        Tensor out;
        boolean outBlocked;
        MemorySegment blocked;
        long offset;
        float[] bias;
        boolean accumulate;
        Workspace.Lease lease;
        int scratchFloats;

        @Override
        public void run(int task, int worker) {
            int n = task / splits;
            int kb0 = WorkSplit.start(blocks, splits, task % splits);
            int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
            BlockedDirectConvolution first = convs[0];
            float[] scratch = lease.worker(worker).floats(SCRATCH, scratchFloats);
            if (!accumulate) {
                first.fill(blocked, offset, n, kb0, kb1, bias);
            } else if (!outBlocked) {
                for (int kb = kb0; kb < kb1; kb++) {
                    Reorder.toBlocked(layout, out.segment(), out.byteOffset(), blocked, offset, n, kb, scratch);
                }
            }
            BlockedStaging staging = first.staging();
            float[] into = lease.worker(worker).floats(STAGED, (int) staging.itemFloats());
            float[] staged = inBlocked ? staging.stageBlocked(in.segment(), in.byteOffset(), n, into)
                    : staging.stageNchw(in.segment(), in.byteOffset(), n, into, scratch);
            for (int i = 0; i < convs.length; i++) {
                convs[i].run(staged, blocked, offset, weights[i], n, kb0, kb1);
            }
            if (!outBlocked) {
                for (int kb = kb0; kb < kb1; kb++) {
                    Reorder.toNchw(layout, blocked, offset, out.segment(), out.byteOffset(), n, kb, scratch);
                }
            }
        }

        @Override
        protected void clear() {
            convs = null;
            weights = null;
            layout = null;
            in = out = null;
            blocked = null;
            bias = null;
            lease = null;
        }
    }
}
