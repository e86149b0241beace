package org.simdconv.internal.simd.rows;

import java.util.Arrays;
import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * The weight and bias gradients of the row kernels, summed lane-wise: tasks are (chunk of items,
 * slice of filters), each chunk (one per thread) sums into its own partial gradient
 * ({@code [k][c][t][lane]}, bias {@code [k][lane]}), and {@link RowWeightGradient#reduce} adds the
 * partials' lanes in order, the partials in chunk order, so results depend on the thread count but
 * never on scheduling. What a task adds is the subclass's: the packed-plane tiles or the flat-plane ones.
 */
abstract class LaneWeightGradient extends RowsKernel.PlainRows implements BackwardWeightsPrimitive {

    final RowWeightGradient grad;
    private final CallTask.Pool<Chunks> tasks = new CallTask.Pool<>(Chunks::new);

    LaneWeightGradient(ConvProblem g) {
        super(g);
        this.grad = new RowWeightGradient(g);
    }

    /**
     * Adds the gradients of items {@code [n0, n1)} for filters {@code [k0, k1)}, slice {@code split}
     * of {@code splits}, to a chunk's partials.
     */
    abstract void accumulate(Tensor input, Tensor gradOutput, int n0, int n1, int split, int splits, float[] partial,
                             float[] biasPartial, Workspace.Worker worker);

    @Override
    public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                boolean accumulate, Workspace workspace, Parallelism par) {
        int chunks = Math.min(par.threads(), g.n());
        int splits = WorkSplit.channelSplits(g.n(), g.k(), par.threads());
        try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Chunks task = tasks.take()) {
            task.use(chunks);
            for (int i = 0; i < chunks; i++) {
                // Padded past their ends: two threads' partials of a small layer would otherwise share
                // cache lines (false sharing made two threads four times slower than one on seed_conv1).
                task.partials[i] = zeroed(lease.floats(RowsKernel.PARTIAL, i,
                        grad.partialLength() + RowsKernel.FALSE_SHARING_PAD), grad.partialLength());
                task.biasPartials[i] = gradBias == null ? null : zeroed(lease.floats(RowsKernel.BIAS_PARTIAL, i,
                        grad.biasPartialLength() + RowsKernel.FALSE_SHARING_PAD), grad.biasPartialLength());
            }
            task.primitive = this;
            task.n = g.n();
            task.chunks = chunks;
            task.splits = splits;
            task.input = input;
            task.gradOutput = gradOutput;
            task.lease = lease;
            par.forEach(chunks * splits, task);
            grad.reduce(task.partials, task.biasPartials, chunks, gradWeight, gradBias, accumulate,
                    lease.floats(RowsKernel.SUMS, 0, (int) gradWeight.elementCount()));
        }
    }

    private static float[] zeroed(float[] a, int length) {
        Arrays.fill(a, 0, length, 0f);
        return a;
    }

    /** A task is (chunk of items, slice of filters), summing into the chunk's partial. */
    private static final class Chunks extends CallTask {
        LaneWeightGradient primitive;
        int n;
        int chunks;
        int splits;
        Tensor input;
        Tensor gradOutput;
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
            primitive.accumulate(input, gradOutput, WorkSplit.start(n, chunks, chunk), WorkSplit.start(n, chunks, chunk + 1),
                    task % splits, splits, partials[chunk], biasPartials[chunk], lease.worker(worker));
        }

        @Override
        protected void clear() {
            primitive = null;
            input = gradOutput = null;
            Arrays.fill(partials, null);
            Arrays.fill(biasPartials, null);
            lease = null;
        }
    }
}
