package org.simdconv.internal.simd.rows;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import org.simdconv.internal.conv.BackwardDataPrimitive;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * NCHW rows vectorised along the width, four output channels by three vectors ({@link DirectRowKernel}):
 * forward, and backward-data as the seed's transformed problem at stride 1 (the output gradient
 * padded by the kernel extent and correlated with the kernels rotated by 180 degrees, seed 001,
 * 17.3.1). It takes every problem: the last entry of the list for these two passes. Each task packs
 * its item's planes into the worker's workspace ({@link PackedPlanes}), with output rows as the outer
 * loop and blocks of four output channels inside, so the few packed rows an output row needs stay in
 * L2. Tasks are (item, slice of channels), slices when there are fewer items than threads.
 */
public final class RowDirectKernel extends RowsKernel {

    @Override
    public String name() {
        return "row-direct-4x3";
    }

    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return pass == ConvPass.FORWARD || pass == ConvPass.BACKWARD_DATA;
    }

    @Override
    public ForwardPrimitive<float[]> forward(ConvProblem g) {
        return new Forward(g);
    }

    @Override
    public BackwardDataPrimitive<float[]> backwardData(ConvProblem g) {
        return new BackwardData(g);
    }

    private static final class Forward extends PlainRows implements ForwardPrimitive<float[]> {
        private final PackedPlanes layout;
        private final ConcurrentHashMap<Integer, FourChannelBlocks.ChannelTiles[]> tilesBySplits = new ConcurrentHashMap<>();
        private final CallTask.Pool<ForwardTask> tasks = new CallTask.Pool<>(ForwardTask::new);

        Forward(ConvProblem g) {
            super(g);
            this.layout = new PackedPlanes(g.outH(), g.outW(), g.strideH(), g.strideW(), g.r(), g.s(),
                    g.dilationH(), g.dilationW(), LANES);
        }

        @Override
        public float[] pack(float[] oihw, float[] previous) {
            return interleaved(g, oihw, previous);
        }

        @Override
        public void forward(Tensor input, float[] weights, Tensor bias, Tensor output, Workspace workspace,
                            Parallelism par) {
            int splits = WorkSplit.channelSplits(g.n(), g.k(), par.threads());
            FourChannelBlocks.ChannelTiles[] tiles = tilesBySplits.get(splits); // splits are few: boxed from the cache
            if (tiles == null) {
                tiles = tilesBySplits.computeIfAbsent(splits, n -> FourChannelBlocks.ofSplits(g.k(), n, g.filtersPerGroup()));
            }
            try (Workspace.Lease lease = workspace.lease().workers(par.threads()); ForwardTask task = tasks.take()) {
                task.g = g;
                task.layout = layout;
                task.splits = splits;
                task.sliceTiles = tiles;
                task.input = input;
                task.weights = weights;
                task.biases = biases(bias, lease);
                task.output = output;
                task.lease = lease;
                par.forEach(g.n() * splits, task);
            }
        }
    }

    /** Forward: a task is (item, slice of filters). */
    private static final class ForwardTask extends CallTask {
        ConvProblem g;
        PackedPlanes layout;
        int splits;
        FourChannelBlocks.ChannelTiles[] sliceTiles;
        Tensor input;
        Tensor output;
        float[] weights;
        float[] biases;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            Workspace.Worker scratch = lease.worker(worker);
            int perChannel = g.channelsPerGroup() * g.r() * g.s();
            int cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
            int n = task / splits;
            int k0 = WorkSplit.start(g.k(), splits, task % splits);
            int k1 = WorkSplit.start(g.k(), splits, task % splits + 1);
            int cFirst = (k0 / kg) * cg;
            int cEnd = ((k1 - 1) / kg + 1) * cg;
            MemorySegment packed = layout.workspace(cEnd - cFirst, scratch);
            layout.pack(input.segment(), input.byteOffset() + planeBytes(g.h(), g.w()) * ((long) n * g.c() + cFirst),
                    cEnd - cFirst, g.h(), g.w(), g.padTop(), g.padLeft(), packed, scratch);
            long outPlaneBytes = planeBytes(g.outH(), g.outW());
            long rowStride = (long) g.strideH() * layout.rowLength();
            FourChannelBlocks.ChannelTiles tiles = sliceTiles[task % splits];
            // Output rows outermost: the few packed input rows one output row needs stay in L2
            // while every block of output channels uses them.
            for (int oh = 0; oh < g.outH(); oh++) {
                for (int k : tiles.blockStarts()) {
                    DirectRowKernel.rowsOfFourChannels(packed,
                            (long) ((k / kg) * cg - cFirst) * layout.channelSize() + oh * rowStride,
                            layout.channelSize(), cg, layout.tapOffsets(), weights, k * perChannel, biases, k,
                            output.segment(),
                            output.byteOffset() + outPlaneBytes * ((long) n * g.k() + k) + (long) oh * g.outW() * Float.BYTES,
                            outPlaneBytes, g.outW(), false);
                }
            }
            for (int k : tiles.singles()) {
                singleChannel(layout, packed, (long) ((k / kg) * cg - cFirst) * layout.channelSize(), rowStride, cg,
                        weights, FourChannelBlocks.weightBase(k, kg, perChannel), FourChannelBlocks.weightStride(k, kg),
                        biases == null ? 0f : biases[k], output.segment(),
                        output.byteOffset() + outPlaneBytes * ((long) n * g.k() + k), g.outH(), g.outW(), false);
            }
        }

        @Override
        protected void clear() {
            g = null;
            layout = null;
            sliceTiles = null;
            input = output = null;
            weights = biases = null;
            lease = null;
        }
    }

    private static final class BackwardData extends PlainRows implements BackwardDataPrimitive<float[]> {
        private final PackedPlanes layout;
        /** The rotated weights before their interleaving, reused by every {@link #pack}. */
        private float[] rotated;
        private final ConcurrentHashMap<Integer, FourChannelBlocks.ChannelTiles[]> tilesBySplits = new ConcurrentHashMap<>();
        private final CallTask.Pool<BackwardDataTask> tasks = new CallTask.Pool<>(BackwardDataTask::new);

        BackwardData(ConvProblem g) {
            super(g);
            this.layout = new PackedPlanes(g.h(), g.w(), 1, 1, g.r(), g.s(), g.dilationH(), g.dilationW(), LANES);
        }

        /** The rotated, transposed weights, each block of four input channels interleaved. */
        @Override
        public synchronized float[] pack(float[] oihw, float[] previous) {
            if (rotated == null) {
                rotated = new float[oihw.length];
            }
            rotatedTransposed(g, oihw, rotated);
            return FourChannelBlocks.interleave(rotated, g.c(), g.channelsPerGroup(),
                    g.filtersPerGroup() * g.r() * g.s(), previous != null ? previous : new float[oihw.length]);
        }

        @Override
        public void backwardData(Tensor gradOutput, float[] rotated, Tensor gradInput, boolean accumulate,
                                 Workspace workspace, Parallelism par) {
            int splits = WorkSplit.channelSplits(g.n(), g.c(), par.threads());
            FourChannelBlocks.ChannelTiles[] tiles = tilesBySplits.get(splits);
            if (tiles == null) {
                tiles = tilesBySplits.computeIfAbsent(splits,
                        n -> FourChannelBlocks.ofSplits(g.c(), n, g.channelsPerGroup()));
            }
            try (Workspace.Lease lease = workspace.lease().workers(par.threads()); BackwardDataTask task = tasks.take()) {
                task.g = g;
                task.layout = layout;
                task.splits = splits;
                task.sliceTiles = tiles;
                task.gradOutput = gradOutput;
                task.rotated = rotated;
                task.gradInput = gradInput;
                task.accumulate = accumulate;
                task.lease = lease;
                par.forEach(g.n() * splits, task);
            }
        }
    }

    /**
     * Backward-data, the output gradient padded and correlated with the rotated kernels: a task is
     * (item, slice of input channels).
     */
    private static final class BackwardDataTask extends CallTask {
        ConvProblem g;
        PackedPlanes layout;
        int splits;
        FourChannelBlocks.ChannelTiles[] sliceTiles;
        Tensor gradOutput;
        Tensor gradInput;
        float[] rotated;
        boolean accumulate;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            Workspace.Worker scratch = lease.worker(worker);
            int perChannel = g.filtersPerGroup() * g.r() * g.s();
            int cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
            int padTop = g.dilationH() * (g.r() - 1) - g.padTop();
            int padLeft = g.dilationW() * (g.s() - 1) - g.padLeft();
            int n = task / splits;
            int c0 = WorkSplit.start(g.c(), splits, task % splits);
            int c1 = WorkSplit.start(g.c(), splits, task % splits + 1);
            int kFirst = (c0 / cg) * kg;
            int kEnd = ((c1 - 1) / cg + 1) * kg;
            MemorySegment packed = layout.workspace(kEnd - kFirst, scratch);
            layout.pack(gradOutput.segment(),
                    gradOutput.byteOffset() + planeBytes(g.outH(), g.outW()) * ((long) n * g.k() + kFirst),
                    kEnd - kFirst, g.outH(), g.outW(), padTop, padLeft, packed, scratch);
            long inPlaneBytes = planeBytes(g.h(), g.w());
            FourChannelBlocks.ChannelTiles tiles = sliceTiles[task % splits];
            for (int y = 0; y < g.h(); y++) { // rows outermost, as in forward
                for (int c : tiles.blockStarts()) {
                    DirectRowKernel.rowsOfFourChannels(packed,
                            (long) ((c / cg) * kg - kFirst) * layout.channelSize() + (long) y * layout.rowLength(),
                            layout.channelSize(), kg, layout.tapOffsets(), rotated, c * perChannel, null, 0,
                            gradInput.segment(),
                            gradInput.byteOffset() + inPlaneBytes * ((long) n * g.c() + c) + (long) y * g.w() * Float.BYTES,
                            inPlaneBytes, g.w(), accumulate);
                }
            }
            for (int c : tiles.singles()) {
                singleChannel(layout, packed, (long) ((c / cg) * kg - kFirst) * layout.channelSize(),
                        layout.rowLength(), kg, rotated, FourChannelBlocks.weightBase(c, cg, perChannel),
                        FourChannelBlocks.weightStride(c, cg), 0f, gradInput.segment(),
                        gradInput.byteOffset() + inPlaneBytes * ((long) n * g.c() + c), g.h(), g.w(), accumulate);
            }
        }

        @Override
        protected void clear() {
            g = null;
            layout = null;
            sliceTiles = null;
            gradOutput = gradInput = null;
            rotated = null;
            lease = null;
        }
    }
}
