package org.simdconv.internal.simd.blocked;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvKernel;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.SimdPrimitive;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Channel-blocked weight and bias gradients ({@link BlockedWeightGradient}, tiles of four blocks of
 * output channels by four input channels where there are 32 vector registers, else two by four).
 * Tasks are chunks of batch items (one per thread) and, with fewer items than threads, ranges of
 * output blocks; each chunk sums its items into its own partial gradient, and the partials are
 * summed in chunk order, so the result depends on the thread count but never on scheduling.
 */
public final class BlockedWeightGradientKernel implements ConvKernel {

    /** Workspace slots of a call. */
    private static final int PARTIAL = 0;
    private static final int BIAS_PARTIAL = 1;
    private static final int STAGED_INPUT = 2;
    private static final int STAGED_GRADIENT = 3;
    private static final int SCRATCH = 4;
    private static final int UNPACKED = 5;

    @Override
    public String name() {
        return "blocked-weight-gradient-2x4";
    }

    /** See {@link BlockedWeightGradient#accepts}. */
    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return pass == ConvPass.BACKWARD_WEIGHTS && BlockedWeightGradient.accepts(g);
    }

    @Override
    public BackwardWeightsPrimitive backwardWeights(ConvProblem g) {
        return new Primitive(g);
    }

    private static final class Primitive extends SimdPrimitive implements BackwardWeightsPrimitive {
        private final BlockedWeightGradient grad;
        private final CallTask.Pool<Chunks> tasks = new CallTask.Pool<>(Chunks::new);

        Primitive(ConvProblem g) {
            super(g);
            this.grad = new BlockedWeightGradient(g);
        }

        @Override
        public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                    boolean accumulate, Workspace workspace, Parallelism par) {
            int chunks = Math.min(par.threads(), g.n());
            int blocks = grad.problem().totalOutBlocks();
            try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Chunks task = tasks.take()) {
                task.use(chunks);
                for (int i = 0; i < chunks; i++) {
                    task.partials[i] = lease.floats(PARTIAL, i, grad.partialLength());
                    task.biasPartials[i] = lease.floats(BIAS_PARTIAL, i, blocks * LANES);
                }
                task.chunks = chunks;
                task.splits = WorkSplit.channelSplits(g.n(), blocks, par.threads());
                task.blocks = blocks;
                task.n = g.n();
                task.grad = grad;
                task.input = input;
                task.gradOutput = gradOutput;
                task.withBias = gradBias != null;
                task.inputBlocked = blocked(input);
                task.gradOutputBlocked = blocked(gradOutput);
                task.lease = lease;
                par.forEach(chunks * task.splits, task);
                grad.unpack(task.partials, task.biasPartials, chunks, gradWeight, gradBias, accumulate,
                        lease.floats(UNPACKED, 0, (int) gradWeight.elementCount()), par);
            }
        }
    }

    /** A task is (chunk of items, range of output blocks), summing into the chunk's partial. */
    private static final class Chunks extends CallTask {
        int chunks;
        int splits;
        int blocks;
        int n;
        BlockedWeightGradient grad;
        Tensor input;
        Tensor gradOutput;
        boolean withBias;
        boolean inputBlocked;
        boolean gradOutputBlocked;
        float[][] partials = new float[0][];
        float[][] biasPartials = new float[0][];
        Workspace.Lease lease;

        /** Room for the partials of {@code count} chunks (kept for the next call). */
        void use(int count) {
            if (partials.length < count) {
                partials = new float[count][];
                biasPartials = new float[count][];
            }
        }

        @Override
        public void run(int task, int worker) {
            int chunk = task / splits;
            int n0 = WorkSplit.start(n, chunks, chunk), n1 = WorkSplit.start(n, chunks, chunk + 1);
            int kb0 = WorkSplit.start(blocks, splits, task % splits);
            int kb1 = WorkSplit.start(blocks, splits, task % splits + 1);
            grad.clear(partials[chunk], biasPartials[chunk], kb0, kb1); // each task its own blocks, in parallel
            float[] xStaged = lease.worker(worker).floats(STAGED_INPUT, grad.stagedInputFloats());
            float[] dyStaged = lease.worker(worker).floats(STAGED_GRADIENT, grad.stagedGradientFloats());
            float[] scratch = lease.worker(worker).floats(SCRATCH, grad.scratchFloats());
            for (int item = n0; item < n1; item++) {
                grad.accumulate(input, gradOutput, inputBlocked, gradOutputBlocked, item, kb0, kb1, partials[chunk],
                        withBias ? biasPartials[chunk] : null, xStaged, dyStaged, scratch);
            }
        }

        @Override
        protected void clear() {
            grad = null;
            input = gradOutput = null;
            java.util.Arrays.fill(partials, null);
            java.util.Arrays.fill(biasPartials, null);
            lease = null;
        }
    }
}
