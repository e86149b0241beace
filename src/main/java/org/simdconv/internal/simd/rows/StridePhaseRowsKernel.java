package org.simdconv.internal.simd.rows;

import java.util.concurrent.ConcurrentHashMap;
import org.simdconv.internal.conv.BackwardDataPrimitive;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Backward-data at strides above 1 on NCHW rows, split into stride phases instead of inserting
 * zeros ({@link StridedBackwardData}; seed 001, 17.3.2 without its zeros). Tasks are (item, slice
 * of input channels).
 */
public final class StridePhaseRowsKernel extends RowsKernel {

    @Override
    public String name() {
        return "row-direct-stride-phases";
    }

    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return pass == ConvPass.BACKWARD_DATA && (g.strideH() > 1 || g.strideW() > 1);
    }

    @Override
    public BackwardDataPrimitive<StridedBackwardData> backwardData(ConvProblem g) {
        return new Primitive(g);
    }

    private static final class Primitive extends PlainRows implements BackwardDataPrimitive<StridedBackwardData> {
        private final ConcurrentHashMap<Integer, FourChannelBlocks.ChannelTiles[]> tilesBySplits = new ConcurrentHashMap<>();
        private final CallTask.Pool<Task> tasks = new CallTask.Pool<>(Task::new);

        Primitive(ConvProblem g) {
            super(g);
        }

        @Override
        public StridedBackwardData pack(float[] oihw, StridedBackwardData previous) {
            return (previous != null ? previous : new StridedBackwardData(g)).load(oihw);
        }

        @Override
        public void backwardData(Tensor gradOutput, StridedBackwardData strided, Tensor gradInput, boolean accumulate,
                                 Workspace workspace, Parallelism par) {
            int splits = WorkSplit.channelSplits(g.n(), g.c(), par.threads());
            FourChannelBlocks.ChannelTiles[] tiles = tilesBySplits.get(splits);
            if (tiles == null) {
                tiles = tilesBySplits.computeIfAbsent(splits,
                        n -> FourChannelBlocks.ofSplits(g.c(), n, g.channelsPerGroup()));
            }
            try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Task task = tasks.take()) {
                task.strided = strided;
                task.channels = g.c();
                task.splits = splits;
                task.sliceTiles = tiles;
                task.gradOutput = gradOutput;
                task.gradInput = gradInput;
                task.accumulate = accumulate;
                task.lease = lease;
                par.forEach(g.n() * splits, task);
            }
        }
    }

    /** A task is (item, slice of input channels). */
    private static final class Task extends CallTask {
        StridedBackwardData strided;
        int channels;
        int splits;
        FourChannelBlocks.ChannelTiles[] sliceTiles;
        Tensor gradOutput;
        Tensor gradInput;
        boolean accumulate;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            int slice = task % splits;
            strided.run(task / splits, WorkSplit.start(channels, splits, slice),
                    WorkSplit.start(channels, splits, slice + 1), sliceTiles[slice], gradOutput, gradInput, accumulate,
                    lease.worker(worker));
        }

        @Override
        protected void clear() {
            strided = null;
            sliceTiles = null;
            gradOutput = gradInput = null;
            lease = null;
        }
    }
}
