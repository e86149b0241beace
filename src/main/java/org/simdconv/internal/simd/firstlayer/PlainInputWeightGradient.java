package org.simdconv.internal.simd.firstlayer;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Parallelism;
import org.simdconv.internal.simd.common.BlockedPlanes;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Backward-weights and backward-bias of a first layer (the layers {@link PlainInputConvolution}
 * runs forward, with an even number of blocks of filters: tiles of four blocks, or of two): seed 001, 17.3.5 and 17.3.6,
 * {@code dW[k][c][r][s] = sum over items and pixels of dy[k][pixel] * x[c][pixel*stride + (r, s)
 * - pad]} and {@code db[k] = sum of dy[k]}, with the plain input staged per item
 * ({@link PlainStaging}) and the gradient channel-blocked (read where it lies; the plan reorders
 * an NCHW one).
 *
 * <p>The taps {@code (c, r, s)} are taken six at a time ({@link PlainWeightGradientTiles}): one sweep
 * of four blocks by six taps over the pixels where all six lie inside the input, then each tap
 * alone over the strips of its own pixels that the sweep left (the borders). Output rows are cut
 * into bands of {@link #BAND}, all tap groups passing over a band while its gradient rows are in
 * L2, and the bias gradient is summed from the same band. Per-task partial gradients
 * ({@code [tap][filter]}) are summed in a fixed order, so results depend on the thread count but
 * not on scheduling.
 */
final class PlainInputWeightGradient {

    /** Output rows per band: eight rows of four blocks of a ResNet stem's gradient are 229 KB. */
    static final int BAND = 8;
    /** Blocks of filters per tile: four, or two when the filters make an odd pair of blocks. */
    static final int QUAD = 4;
    static final int PAIR = 2;
    /** Floats after each task's partials, so that two threads' partials never share a cache line. */
    private static final int FALSE_SHARING_PAD = 32;

    private final ConvProblem g;
    private final PlainStaging staging;
    private final int taps;
    private final int blocks;
    /** Blocks of filters per tile: {@link #QUAD} when they divide the blocks, else {@link #PAIR}. */
    private final int tileBlocks;
    /** The output gradient's blocked layout. */
    private final BlockedPlanes gradientLayout;
    private final long planeBytes;
    /** Per tap {@code (c*R + r)*S + s}: its input offset, and the output rows and columns where it lies inside. */
    private final int[] xOffset, firstRow, endRow, firstColumn, endColumn;

    PlainInputWeightGradient(ConvProblem g) {
        this.g = g;
        this.staging = new PlainStaging(g.c(), g.h(), g.w(), g.strideW());
        this.taps = g.c() * g.r() * g.s();
        this.blocks = Math.ceilDiv(g.k(), LANES);
        this.tileBlocks = blocks % QUAD == 0 ? QUAD : PAIR;
        this.gradientLayout = new BlockedPlanes(g.k(), g.outH(), g.outW());
        this.planeBytes = (long) g.outH() * g.outW() * LANES * Float.BYTES;
        xOffset = new int[taps];
        firstRow = new int[taps];
        endRow = new int[taps];
        firstColumn = new int[taps];
        endColumn = new int[taps];
        for (int c = 0; c < g.c(); c++) {
            for (int r = 0; r < g.r(); r++) {
                for (int s = 0; s < g.s(); s++) {
                    int t = (c * g.r() + r) * g.s() + s;
                    xOffset[t] = staging.tapOffset(c, r * g.dilationH(), s * g.dilationW() - g.padLeft());
                    firstRow[t] = Math.max(0, Math.ceilDiv(g.padTop() - r * g.dilationH(), g.strideH()));
                    endRow[t] = Math.max(firstRow[t],
                            Math.min(g.outH(), Math.floorDiv(g.h() - 1 + g.padTop() - r * g.dilationH(), g.strideH()) + 1));
                    firstColumn[t] = Math.max(0, Math.ceilDiv(g.padLeft() - s * g.dilationW(), g.strideW()));
                    endColumn[t] = Math.max(firstColumn[t],
                            Math.min(g.outW(), Math.floorDiv(g.w() - 1 + g.padLeft() - s * g.dilationW(), g.strideW()) + 1));
                }
            }
        }
    }

    /** The first layers {@link PlainInputConvolution} accepts, with an even number of blocks of filters. */
    static boolean accepts(ConvProblem g) {
        return PlainInputConvolution.accepts(g) && Math.ceilDiv(g.k(), LANES) % PAIR == 0;
    }

    /** Workspace slots of a call. */
    private static final int PARTIAL = 0;
    private static final int BIAS_PARTIAL = 1;
    private static final int STAGED = 2;
    private static final int ROW = 3;
    private static final int UNPACKED = 4;

    /**
     * Writes (or adds, when accumulating) the weight gradient into the OIHW {@code gradWeight} and,
     * when not null, the bias gradient into {@code gradBias}, from the plain input and the
     * channel-blocked output gradient. Tasks are chunks of items (one per thread) and, with fewer
     * items than threads, ranges of tap groups.
     */
    void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias, boolean accumulate,
                         Workspace workspace, Parallelism par) {
        int chunks = Math.min(par.threads(), g.n());
        int groups = Math.ceilDiv(taps, PlainWeightGradientTiles.TAPS);
        try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Accumulate task = accumulateTasks.take()) {
            task.use(chunks);
            for (int i = 0; i < chunks; i++) {
                task.partials[i] = zeroed(lease.floats(PARTIAL, i, taps * blocks * LANES + FALSE_SHARING_PAD),
                        taps * blocks * LANES);
                task.biasPartials[i] = zeroed(lease.floats(BIAS_PARTIAL, i, blocks * LANES + FALSE_SHARING_PAD),
                        blocks * LANES);
            }
            task.chunks = chunks;
            task.splits = WorkSplit.channelSplits(g.n(), groups, par.threads());
            task.groups = groups;
            task.input = input;
            task.dy = gradOutput.segment();
            task.dyBase = gradOutput.byteOffset();
            task.lease = lease;
            par.forEach(chunks * task.splits, task);
            unpack(task.partials, task.biasPartials, gradWeight, gradBias, accumulate,
                    lease.floats(UNPACKED, 0, g.k() * taps));
        }
    }

    private final CallTask.Pool<Accumulate> accumulateTasks = new CallTask.Pool<>(Accumulate::new);

    /** A task is (chunk of items, range of tap groups), summing into the chunk's partial. */
    private final class Accumulate extends CallTask {
        int chunks;
        int splits;
        int groups;
        Tensor input;
        MemorySegment dy;
        long dyBase;
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
            int chunk = task / splits, split = task % splits;
            int g0 = WorkSplit.start(groups, splits, split), g1 = WorkSplit.start(groups, splits, split + 1);
            float[] staged = lease.worker(worker).floats(STAGED, staging.itemFloats());
            float[] row = lease.worker(worker).floats(ROW, staging.rowScratchFloats());
            for (int n = WorkSplit.start(g.n(), chunks, chunk); n < WorkSplit.start(g.n(), chunks, chunk + 1); n++) {
                accumulate(staging.stage(input, n, staged, row), dy, dyBase + n * gradientLayout.itemBytes(), g0, g1,
                        partials[chunk], split == 0 ? biasPartials[chunk] : null);
            }
        }

        @Override
        protected void clear() {
            input = null;
            dy = null;
            Arrays.fill(partials, null);
            Arrays.fill(biasPartials, null);
            lease = null;
        }
    }

    private static float[] zeroed(float[] a, int length) {
        Arrays.fill(a, 0, length, 0f);
        return a;
    }

    /**
     * Adds one item's gradients of tap groups {@code [g0, g1)} to {@code partial} ({@code [tap][filter]}),
     * and its bias gradient to {@code biasPartial} when not null, from the staged input {@code x}
     * and the blocked gradient item at byte {@code dyItem} of {@code dy}.
     */
    private void accumulate(float[] x, MemorySegment dy, long dyItem, int g0, int g1, float[] partial,
                            float[] biasPartial) {
        long rowBytes = (long) g.outW() * LANES * Float.BYTES;
        for (int oh0 = 0; oh0 < g.outH(); oh0 += BAND) {
            int oh1 = Math.min(g.outH(), oh0 + BAND);
            for (int kb = 0; biasPartial != null && kb < blocks; kb++) {
                PlainWeightGradientTiles.sum(dy, dyItem + kb * planeBytes + oh0 * rowBytes, (oh1 - oh0) * g.outW(),
                        biasPartial, kb * LANES);
            }
            for (int group = g0; group < g1; group++) {
                int t0 = group * PlainWeightGradientTiles.TAPS, t1 = Math.min(taps, t0 + PlainWeightGradientTiles.TAPS);
                int ra = oh0, rb = oh1, ca = 0, cb = g.outW();
                for (int t = t0; t < t1; t++) {
                    ra = Math.max(ra, firstRow[t]);
                    rb = Math.min(rb, endRow[t]);
                    ca = Math.max(ca, firstColumn[t]);
                    cb = Math.min(cb, endColumn[t]);
                }
                boolean wide = t1 - t0 == PlainWeightGradientTiles.TAPS && rb > ra && cb > ca;
                for (int q = 0; wide && q < blocks; q += tileBlocks) {
                    long dyAt = dyItem + q * planeBytes + (ra * (long) g.outW() + ca) * LANES * Float.BYTES;
                    if (tileBlocks == QUAD) {
                        PlainWeightGradientTiles.fourBlocksSixTaps(x, xPixel(ra, ca), g.strideH() * staging.rowFloats(),
                                xOffset[t0], xOffset[t0 + 1], xOffset[t0 + 2], xOffset[t0 + 3], xOffset[t0 + 4],
                                xOffset[t0 + 5], dy, dyAt, rowBytes, planeBytes, rb - ra, cb - ca, partial,
                                t0 * blocks * LANES + q * LANES, blocks * LANES);
                    } else {
                        PlainWeightGradientTiles.twoBlocksSixTaps(x, xPixel(ra, ca), g.strideH() * staging.rowFloats(),
                                xOffset[t0], xOffset[t0 + 1], xOffset[t0 + 2], xOffset[t0 + 3], xOffset[t0 + 4],
                                xOffset[t0 + 5], dy, dyAt, rowBytes, planeBytes, rb - ra, cb - ca, partial,
                                t0 * blocks * LANES + q * LANES, blocks * LANES);
                    }
                }
                for (int t = t0; t < t1; t++) {
                    int r0 = Math.max(oh0, firstRow[t]), r1 = Math.min(oh1, endRow[t]);
                    if (!wide) {
                        oneTap(x, t, r0, r1, firstColumn[t], endColumn[t], dy, dyItem, partial);
                        continue;
                    }
                    oneTap(x, t, r0, ra, firstColumn[t], endColumn[t], dy, dyItem, partial);
                    oneTap(x, t, rb, r1, firstColumn[t], endColumn[t], dy, dyItem, partial);
                    oneTap(x, t, ra, rb, firstColumn[t], ca, dy, dyItem, partial);
                    oneTap(x, t, ra, rb, cb, endColumn[t], dy, dyItem, partial);
                }
            }
        }
    }

    /** Tap {@code t} alone over output rows {@code [r0, r1)} and columns {@code [c0, c1)}, every quad of blocks. */
    private void oneTap(float[] x, int t, int r0, int r1, int c0, int c1, MemorySegment dy, long dyItem,
                        float[] partial) {
        if (r1 <= r0 || c1 <= c0) {
            return;
        }
        for (int q = 0; q < blocks; q += tileBlocks) {
            long dyAt = dyItem + q * planeBytes + (r0 * (long) g.outW() + c0) * LANES * Float.BYTES;
            long dyRow = (long) g.outW() * LANES * Float.BYTES;
            if (tileBlocks == QUAD) {
                PlainWeightGradientTiles.fourBlocksOneTap(x, xPixel(r0, c0), g.strideH() * staging.rowFloats(),
                        xOffset[t], dy, dyAt, dyRow, planeBytes, r1 - r0, c1 - c0, partial, (t * blocks + q) * LANES);
            } else {
                PlainWeightGradientTiles.twoBlocksOneTap(x, xPixel(r0, c0), g.strideH() * staging.rowFloats(),
                        xOffset[t], dy, dyAt, dyRow, planeBytes, r1 - r0, c1 - c0, partial, (t * blocks + q) * LANES);
            }
        }
    }

    /** Staged index of output pixel (oh, ow) before its taps' offsets are added. */
    private int xPixel(int oh, int ow) {
        return (oh * g.strideH() - g.padTop()) * staging.rowFloats() + ow;
    }

    /**
     * Sums the partials in their order into the OIHW gradient (onto its old values when
     * accumulating), through {@code oihw} (at least as long as the weights), and the bias.
     */
    private void unpack(float[][] partials, float[][] biasPartials, Tensor gradWeight, Tensor gradBias,
                        boolean accumulate, float[] oihw) {
        int length = g.k() * taps;
        if (accumulate) {
            MemorySegment.copy(gradWeight.segment(), Tensor.FLOAT, gradWeight.byteOffset(), oihw, 0, length);
        }
        for (int k = 0; k < g.k(); k++) {
            for (int t = 0; t < taps; t++) {
                float sum = accumulate ? oihw[k * taps + t] : 0f;
                for (float[] partial : partials) {
                    sum += partial[t * blocks * LANES + k];
                }
                oihw[k * taps + t] = sum;
            }
            if (gradBias != null) {
                float sum = accumulate ? gradBias.getFlat(k) : 0f;
                for (float[] partial : biasPartials) {
                    sum += partial[k];
                }
                gradBias.setFlat(k, sum);
            }
        }
        MemorySegment.copy(oihw, 0, gradWeight.segment(), Tensor.FLOAT, gradWeight.byteOffset(), length);
    }
}
