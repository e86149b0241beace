package org.simdconv.internal.simd.rows;

import java.util.concurrent.ConcurrentHashMap;
import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Forward and backward-weights at stride 1 on small planes, read as one flat row so that every
 * vector is whole ({@link FlatPlaneConvolution}, four output channels by four vectors): the seed
 * network's layers. Tasks are (item, slice of filters) for the forward, (chunk of items, slice)
 * for the weight gradient.
 */
public final class FlatPlaneKernel extends RowsKernel {

    @Override
    public String name() {
        return "flat-plane-4x4";
    }

    /** See {@link FlatPlaneConvolution#accepts}: stride 1, and the planes of a group fit in L2. */
    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return pass != ConvPass.BACKWARD_DATA && FlatPlaneConvolution.accepts(g);
    }

    @Override
    public ForwardPrimitive<float[]> forward(ConvProblem g) {
        return new Forward(g);
    }

    @Override
    public BackwardWeightsPrimitive backwardWeights(ConvProblem g) {
        Plans plans = new Plans(g);
        return new LaneWeightGradient(g) {
            @Override
            void accumulate(Tensor input, Tensor gradOutput, int n0, int n1, int split, int splits, float[] partial,
                            float[] biasPartial, Workspace.Worker worker) {
                plans.of(splits).accumulateWeightGradient(input, gradOutput, n0, n1, split, partial, biasPartial,
                        worker);
            }
        };
    }

    /** The flat-plane plans of one problem, one per number of slices of the filters asked for. */
    private static final class Plans {
        private final ConvProblem g;
        private final ConcurrentHashMap<Integer, FlatPlaneConvolution> bySplits = new ConcurrentHashMap<>();

        Plans(ConvProblem g) {
            this.g = g;
        }

        FlatPlaneConvolution of(int splits) {
            FlatPlaneConvolution plan = bySplits.get(splits); // splits are few: boxed from the Integer cache
            return plan != null ? plan : bySplits.computeIfAbsent(splits, n -> new FlatPlaneConvolution(g, n));
        }
    }

    private static final class Forward extends PlainRows implements ForwardPrimitive<float[]> {
        private final Plans plans;
        private final CallTask.Pool<ForwardTask> tasks = new CallTask.Pool<>(ForwardTask::new);

        Forward(ConvProblem g) {
            super(g);
            this.plans = new Plans(g);
        }

        @Override
        public float[] pack(float[] oihw, float[] previous) {
            return interleaved(g, oihw, previous);
        }

        @Override
        public void forward(Tensor input, float[] weights, Tensor bias, Tensor output, Workspace workspace,
                            Parallelism par) {
            FlatPlaneConvolution flat = plans.of(WorkSplit.channelSplits(g.n(), g.k(), par.threads()));
            try (Workspace.Lease lease = workspace.lease().workers(par.threads()); ForwardTask task = tasks.take()) {
                task.flat = flat;
                task.input = input;
                task.weights = weights;
                task.biases = biases(bias, lease);
                task.output = output;
                task.lease = lease;
                par.forEach(g.n() * flat.splits(), task);
            }
        }
    }

    /** Forward: a task is (item, slice of filters). */
    private static final class ForwardTask extends CallTask {
        FlatPlaneConvolution flat;
        Tensor input;
        Tensor output;
        float[] weights;
        float[] biases;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            flat.forward(input, weights, biases, output, task / flat.splits(), task % flat.splits(),
                    lease.worker(worker));
        }

        @Override
        protected void clear() {
            flat = null;
            input = output = null;
            weights = biases = null;
            lease = null;
        }
    }
}
