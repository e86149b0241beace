package org.simdconv.internal.simd.pointwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;
import static org.simdconv.internal.simd.pointwise.PointwiseTiles.BLOCKS;
import static org.simdconv.internal.simd.pointwise.PointwiseTiles.PIXELS;
import static org.simdconv.internal.simd.common.GemmTiles.ROWS;
import static org.simdconv.internal.simd.common.GemmTiles.VECTORS;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import org.simdconv.internal.conv.BackwardDataPrimitive;
import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvKernel;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvPrimitive;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.GemmTiles;
import org.simdconv.internal.simd.common.SimdPrimitive;
import org.simdconv.internal.simd.common.Vectors;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * 1x1 convolutions at stride 1 without padding, in one group, whose channels fill whole blocks:
 * matrix products over the pixels of each batch item ({@link PointwiseTiles}), on the caller's
 * tensors. Nothing is padded and no plane is converted or copied whole.
 * <ul>
 *   <li>NCHW forward and backward-data: the pixels are the lanes, read and written in place (no
 *       layout conversion at all); tasks are (item, 192 pixels), and a task passes over its pixels
 *       once per eight rows of the output, so the input it reads (768 bytes of each channel) stays
 *       in L2 after the first pass: twice as fast on ResNet's 256-to-64 layer as the blocked
 *       kernel with its conversions.</li>
 *   <li>Channel-blocked forward and backward-data: the channels are the lanes; tasks are (item, 96
 *       pixels), whose input is staged in a heap array (96 pixels of each block, in L2), because
 *       broadcasts from arrays are single instructions (a scalar read of a segment in a tile made
 *       C2 box its vectors); the outputs are stored in place.</li>
 *   <li>Backward-weights on blocked tensors (the plan reorders NCHW ones into the blocked layout
 *       first, counted in the call): chunks of batch items (one per thread, and ranges of four filters
 *       when there are fewer items than threads) sum the outer products of 64 pixels at a time
 *       (the output gradient staged for its broadcasts, the input read in place) into their own
 *       partial gradient; the partials are summed in chunk order, so results depend on the thread
 *       count but never on scheduling. The bias gradient is summed from the same staged pixels.</li>
 * </ul>
 * Which tile computes an output depends only on the sizes, never on threads.
 */
public final class PointwiseKernel implements ConvKernel {

    /** Pixels of an NCHW task: four tiles of three vectors. */
    static final int NCHW_CHUNK = 4 * VECTORS * LANES;
    /** Pixels of a blocked task, staged at once: sixteen tiles of six. */
    static final int BLOCKED_CHUNK = 16 * PIXELS;
    /** Pixels of the weight gradient at a time: their staged output gradient and their input stay in L1/L2. */
    static final int GRADIENT_CHUNK = 64;

    /** Workspace slots of a call. */
    private static final int START = 0;
    private static final int STARTS_PER_TILE = 1;
    private static final int OLD = 2;
    private static final int STAGED = 3;
    private static final int PARTIAL = 4;
    private static final int BIAS_PARTIAL = 5;
    private static final int SUM = 6;

    @Override
    public String name() {
        return "pointwise-1x1";
    }

    /**
     * A 1x1 kernel, stride 1, no padding, one group, channels and filters in whole blocks, and 32
     * vector registers for the tiles ({@link Vectors#THIRTY_TWO_REGISTERS}); dilation changes
     * nothing in a 1x1 kernel. Every pass.
     */
    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return Vectors.THIRTY_TWO_REGISTERS && g.groups() == 1 && g.r() == 1 && g.s() == 1 && g.strideH() == 1
                && g.strideW() == 1 && g.padTop() == 0 && g.padBottom() == 0 && g.padLeft() == 0 && g.padRight() == 0
                && g.c() % LANES == 0 && g.k() % LANES == 0;
    }

    @Override
    public ForwardPrimitive<Packed> forward(ConvProblem g) {
        return new Forward(g);
    }

    @Override
    public BackwardDataPrimitive<Packed> backwardData(ConvProblem g) {
        return new BackwardData(g);
    }

    @Override
    public BackwardWeightsPrimitive backwardWeights(ConvProblem g) {
        return new BackwardWeights(g);
    }

    /**
     * The weights in the order of both tiles: the blocked one's and the NCHW one's (a 1x1 layer's
     * weights are a small matrix, so both are kept, and a call uses the one its layout needs).
     */
    public record Packed(float[] blocked, float[] nchw) implements ConvPrimitive.PackedForm {
        @Override
        public long bytes() {
            return (blocked.length + nchw.length) * (long) Float.BYTES;
        }
    }

    /** Forward and backward-data take both tensors plain (pixels in lanes) or both blocked (channels in lanes). */
    private abstract class Products extends SimdPrimitive {
        final CallTask.Pool<NchwProducts> nchwTasks = new CallTask.Pool<>(NchwProducts::new);
        final CallTask.Pool<BlockedProducts> blockedTasks = new CallTask.Pool<>(BlockedProducts::new);

        Products(ConvProblem g) {
            super(g);
        }

        @Override
        public boolean takes(Layout input, Layout output) {
            return bothPlainOrBothLanes(input, output);
        }
    }

    private final class Forward extends Products implements ForwardPrimitive<Packed> {
        Forward(ConvProblem g) {
            super(g);
        }

        @Override
        public Packed pack(float[] oihw, Packed previous) {
            Packed p = previous != null ? previous : new Packed(new float[oihw.length], new float[oihw.length]);
            blockedForwardWeights(oihw, g.k(), g.c(), p.blocked());
            nchwWeights(oihw, g.k(), g.c(), false, p.nchw());
            return p;
        }

        @Override
        public void forward(Tensor input, Packed weights, Tensor bias, Tensor output, Workspace workspace,
                            Parallelism par) {
            try (Workspace.Lease lease = workspace.lease().workers(par.threads())) {
                float[] b = lease.floats(START, 0, g.k());
                if (bias != null) {
                    MemorySegment.copy(bias.segment(), Tensor.FLOAT, bias.byteOffset(), b, 0, g.k());
                } else {
                    Arrays.fill(b, 0, g.k(), 0f);
                }
                if (blocked(input)) {
                    products(this, g.c(), g.k(), input, output, weights.blocked(), g.c() * LANES, LANES, b, false,
                            lease, par);
                } else {
                    products(this, g.c(), g.k(), input, output, weights.nchw(), b, false, lease, par);
                }
            }
        }
    }

    /**
     * Backward-data: the product with the transposed weights (the 180-degree rotation of a 1x1
     * kernel is the identity), packed for each layout ({@link #blockedBackwardWeights}, {@link #nchwWeights}).
     */
    private final class BackwardData extends Products implements BackwardDataPrimitive<Packed> {
        BackwardData(ConvProblem g) {
            super(g);
        }

        @Override
        public Packed pack(float[] oihw, Packed previous) {
            Packed p = previous != null ? previous : new Packed(new float[oihw.length], new float[oihw.length]);
            blockedBackwardWeights(oihw, g.k(), g.c(), p.blocked());
            nchwWeights(oihw, g.k(), g.c(), true, p.nchw());
            return p;
        }

        @Override
        public void backwardData(Tensor gradOutput, Packed weights, Tensor gradInput, boolean accumulate,
                                 Workspace workspace, Parallelism par) {
            try (Workspace.Lease lease = workspace.lease().workers(par.threads())) {
                float[] zeros = lease.floats(START, 0, g.c());
                Arrays.fill(zeros, 0, g.c(), 0f);
                if (blocked(gradOutput)) {
                    products(this, g.k(), g.c(), gradOutput, gradInput, weights.blocked(), g.k() * LANES, LANES,
                            zeros, accumulate, lease, par);
                } else {
                    products(this, g.k(), g.c(), gradOutput, gradInput, weights.nchw(), zeros, accumulate, lease, par);
                }
            }
        }
    }

    /**
     * The weights as the NCHW tile reads them, eight rows at a time: {@code a[(m/8*depth + j)*8 +
     * m%8]} is row {@code m}, column {@code j} of the {@code k x c} weight matrix, or of its
     * transpose when {@code transpose} (backward-data).
     */
    private static void nchwWeights(float[] oihw, int k, int c, boolean transpose, float[] a) {
        int rows = transpose ? c : k, depth = transpose ? k : c;
        for (int m = 0; m < rows; m++) {
            for (int j = 0; j < depth; j++) {
                a[((m / ROWS) * depth + j) * ROWS + m % ROWS] = oihw[transpose ? j * c + m : m * c + j];
            }
        }
    }

    /**
     * The forward weights as the blocked tile loads them: the {@code lanes} filters of block
     * {@code kb} for channel {@code c} at {@code (kb*C + c)*lanes}, one gather from the OIHW rows each.
     */
    private static void blockedForwardWeights(float[] oihw, int k, int c, float[] w) {
        int[] rows = Vectors.strideMap(c);
        for (int kb = 0; kb < k / LANES; kb++) {
            for (int j = 0; j < c; j++) {
                FloatVector.fromArray(SPECIES, oihw, kb * LANES * c + j, rows, 0).intoArray(w, (kb * c + j) * LANES);
            }
        }
    }

    /**
     * The transposed weights as the blocked tile loads them for backward-data: the {@code lanes}
     * input channels of block {@code cb} for filter {@code f} at {@code (cb*K + f)*lanes}, a copy of
     * the OIHW row's slice. Read in place (filter {@code f}'s slice {@code C} floats after filter
     * {@code f-1}'s), each step of the tile jumped a page, and the prefetchers, which stop at page
     * boundaries, left every load to miss.
     */
    private static void blockedBackwardWeights(float[] oihw, int k, int c, float[] w) {
        for (int cb = 0; cb < c / LANES; cb++) {
            for (int f = 0; f < k; f++) {
                System.arraycopy(oihw, f * c + cb * LANES, w, (cb * k + f) * LANES, LANES);
            }
        }
    }

    /**
     * NCHW: {@code out[m][p] = start[m] + sum_j a[m][j] x[j][p]} for every item, {@code depth}
     * input rows and {@code rows} output rows of {@code H*W} pixels; or the old output plus the sum
     * when {@code accumulate} ({@code start} unused).
     */
    private static void products(Products primitive, int depth, int rows, Tensor x, Tensor out, float[] a,
                                 float[] start, boolean accumulate, Workspace.Lease lease, Parallelism par) {
        ConvProblem g = primitive.problem();
        int pixels = g.h() * g.w();
        int chunks = Math.ceilDiv(pixels, NCHW_CHUNK);
        long plane = (long) pixels * Float.BYTES;
        int tile = VECTORS * LANES;
        // Without accumulation every tile starts from the same rows of start values.
        float[] startRows = accumulate ? null : lease.floats(STARTS_PER_TILE, 0, rows * tile);
        for (int m = 0; m < rows && !accumulate; m++) {
            Arrays.fill(startRows, m * tile, (m + 1) * tile, start[m]);
        }
        {
            try (NchwProducts task = primitive.nchwTasks.take()) {
                task.chunks = chunks;
                task.pixels = pixels;
                task.depth = depth;
                task.rows = rows;
                task.tile = tile;
                task.plane = plane;
                task.x = x;
                task.out = out;
                task.a = a;
                task.startRows = startRows;
                task.accumulate = accumulate;
                task.lease = lease;
                par.forEach(g.n() * chunks, task);
            }
        }
    }

    /** Products on NCHW tensors: a task is (item, chunk of pixels). */
    private static final class NchwProducts extends CallTask {
        int chunks;
        int pixels;
        int depth;
        int rows;
        int tile;
        long plane;
        Tensor x;
        Tensor out;
        float[] a;
        float[] startRows;
        boolean accumulate;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            int n = task / chunks;
            int p0 = (task % chunks) * NCHW_CHUNK, count = Math.min(pixels, p0 + NCHW_CHUNK) - p0;
            long xItem = x.byteOffset() + (long) n * depth * plane + (long) p0 * Float.BYTES;
            long outItem = out.byteOffset() + (long) n * rows * plane + (long) p0 * Float.BYTES;
            float[] old = accumulate ? lease.worker(worker).floats(OLD, rows * NCHW_CHUNK) : null;
            {
                for (int m = 0; m < rows && accumulate; m++) {
                    MemorySegment.copy(out.segment(), Tensor.FLOAT, outItem + m * plane, old, m * NCHW_CHUNK,
                            count);
                }
                int tiled = count / tile * tile;
                for (int m = 0; m < rows; m += ROWS) {
                    int aAt = m * depth;
                    for (int p = 0; p < count; p += p < tiled ? tile : LANES) {
                        long xp = xItem + (long) p * Float.BYTES, op = outItem + m * plane + (long) p * Float.BYTES;
                        float[] o = accumulate ? old : startRows;
                        int oAt = accumulate ? m * NCHW_CHUNK + p : m * tile, oRow = accumulate ? NCHW_CHUNK : tile;
                        if (p < tiled) {
                            GemmTiles.eightRowsThreeVectors(a, aAt, depth, x.segment(), xp, plane, o, oAt,
                                    oRow, out.segment(), op, plane);
                        } else {
                            GemmTiles.eightRowsOneVector(a, aAt, depth, x.segment(), xp, plane, o, oAt, oRow,
                                    out.segment(), op, plane, count - p);
                        }
                    }
                }
            }
        }

        @Override
        protected void clear() {
            x = null;
            out = null;
            a = null;
            startRows = null;
            lease = null;
        }
    }

    /**
     * Channel-blocked: output block {@code ob} of pixel {@code p} is {@code start + sum_j
     * in[channel j of p] * w[ob*wBlock + j*wStep ..]} over {@code depth} input channels, for every
     * item; {@code start} holds the start values (the bias, or zeros), or the sums are added to the
     * old output when {@code accumulate}.
     */
    private static void products(Products primitive, int depth, int rows, Tensor in, Tensor out, float[] w,
                                 int wBlock, int wStep, float[] start, boolean accumulate, Workspace.Lease lease,
                                 Parallelism par) {
        ConvProblem g = primitive.problem();
        int pixels = g.h() * g.w();
        int chunks = Math.ceilDiv(pixels, BLOCKED_CHUNK);
        int inBlocks = depth / LANES, outBlocks = rows / LANES;
        long blockBytes = (long) pixels * LANES * Float.BYTES;
        long pixelBytes = (long) LANES * Float.BYTES;
        int chunkBlock = BLOCKED_CHUNK * LANES, tileBlock = PIXELS * LANES;
        // Without accumulation every tile starts from the same six pixels of start values per block.
        float[] startTiles = accumulate ? null : lease.floats(STARTS_PER_TILE, 0, outBlocks * tileBlock);
        {
            // Array copies, not a vector: this loop runs once a call, and C2 boxed the vector here.
            for (int ob = 0; ob < outBlocks && !accumulate; ob++) {
                for (int q = 0; q < PIXELS; q++) {
                    System.arraycopy(start, ob * LANES, startTiles, ob * tileBlock + q * LANES, LANES);
                }
            }
            try (BlockedProducts task = primitive.blockedTasks.take()) {
                task.chunks = chunks;
                task.pixels = pixels;
                task.inBlocks = inBlocks;
                task.outBlocks = outBlocks;
                task.depth = depth;
                task.chunkBlock = chunkBlock;
                task.tileBlock = tileBlock;
                task.wBlock = wBlock;
                task.wStep = wStep;
                task.blockBytes = blockBytes;
                task.pixelBytes = pixelBytes;
                task.in = in;
                task.out = out;
                task.w = w;
                task.startTiles = startTiles;
                task.accumulate = accumulate;
                task.lease = lease;
                par.forEach(g.n() * chunks, task);
            }
        }
    }

    /** Products on channel-blocked tensors: a task is (item, chunk of pixels). */
    private static final class BlockedProducts extends CallTask {
        int chunks;
        int pixels;
        int inBlocks;
        int outBlocks;
        int depth;
        int chunkBlock;
        int tileBlock;
        int wBlock;
        int wStep;
        long blockBytes;
        long pixelBytes;
        Tensor in;
        Tensor out;
        float[] w;
        float[] startTiles;
        boolean accumulate;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            int n = task / chunks;
            int p0 = (task % chunks) * BLOCKED_CHUNK, count = Math.min(pixels, p0 + BLOCKED_CHUNK) - p0;
            long inChunk = in.byteOffset() + n * inBlocks * blockBytes + p0 * pixelBytes;
            long outChunk = out.byteOffset() + n * outBlocks * blockBytes + p0 * pixelBytes;
            float[] old = accumulate ? lease.worker(worker).floats(OLD, outBlocks * chunkBlock) : null;
            float[] staged = lease.worker(worker).floats(STAGED, inBlocks * chunkBlock);
            {
                for (int cb = 0; cb < inBlocks; cb++) {
                    MemorySegment.copy(in.segment(), Tensor.FLOAT, inChunk + cb * blockBytes, staged,
                            cb * chunkBlock, count * LANES);
                }
                for (int ob = 0; ob < outBlocks && accumulate; ob++) {
                    MemorySegment.copy(out.segment(), Tensor.FLOAT, outChunk + ob * blockBytes, old,
                            ob * chunkBlock, count * LANES);
                }
                float[] o = accumulate ? old : startTiles;
                int oBlock = accumulate ? chunkBlock : tileBlock;
                int tiled = count / PIXELS * PIXELS;
                int ob = 0;
                for (; ob + BLOCKS <= outBlocks; ob += BLOCKS) {
                    for (int q = 0; q < tiled; q += PIXELS) {
                        PointwiseTiles.fourBlocksSixPixels(staged, q * LANES, chunkBlock, depth, w, ob * wBlock,
                                wBlock, wStep, o, ob * oBlock + (accumulate ? q * LANES : 0),
                                oBlock, out.segment(), outChunk + ob * blockBytes + q * pixelBytes, blockBytes);
                    }
                }
                for (; ob < outBlocks; ob++) {
                    for (int q = 0; q < tiled; q += PIXELS) {
                        PointwiseTiles.oneBlockSixPixels(staged, q * LANES, chunkBlock, depth,
                                w, ob * wBlock, wStep, o, ob * oBlock + (accumulate ? q * LANES : 0),
                                out.segment(), outChunk + ob * blockBytes + q * pixelBytes);
                    }
                }
                for (ob = 0; ob < outBlocks; ob++) {
                    for (int q = tiled; q < count; q++) {
                        PointwiseTiles.oneBlockOnePixel(staged, q * LANES, chunkBlock, depth,
                                w, ob * wBlock, wStep, o, ob * oBlock + (accumulate ? q * LANES : 0),
                                out.segment(), outChunk + ob * blockBytes + q * pixelBytes);
                    }
                }
            }
        }

        @Override
        protected void clear() {
            in = null;
            out = null;
            w = null;
            startTiles = null;
            lease = null;
        }
    }

    /** Backward-weights and backward-bias, on channel-blocked tensors only: the plan reorders NCHW ones. */
    private static final class BackwardWeights extends SimdPrimitive implements BackwardWeightsPrimitive {
        private final CallTask.Pool<WeightGradient> tasks = new CallTask.Pool<>(WeightGradient::new);

        BackwardWeights(ConvProblem g) {
            super(g);
        }

        @Override
        public boolean takes(Layout input, Layout output) {
            return input.block() == LANES && output.block() == LANES;
        }

        @Override
        public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                    boolean accumulate, Workspace workspace, Parallelism par) {
            int c = g.c(), k = g.k(), pixels = g.h() * g.w();
            int quads = k / BLOCKS;
            int chunks = itemChunks(g, par.threads());
            try (Workspace.Lease lease = workspace.lease().workers(par.threads()); WeightGradient task = tasks.take()) {
                task.use(chunks);
                for (int i = 0; i < chunks; i++) {
                    task.partials[i] = lease.floats(PARTIAL, i, k * c + FALSE_SHARING_PAD);
                    task.biasPartials[i] = lease.floats(BIAS_PARTIAL, i, k + FALSE_SHARING_PAD);
                    if (chunks > 1) {
                        Arrays.fill(task.partials[i], 0, k * c, 0f);
                        Arrays.fill(task.biasPartials[i], 0, k, 0f);
                    }
                }
                task.g = g;
                task.chunks = chunks;
                task.splits = chunks == 1 ? Math.min(quads, par.threads())
                        : WorkSplit.channelSplits(g.n(), quads, par.threads());
                task.quads = quads;
                task.c = c;
                task.k = k;
                task.pixels = pixels;
                task.input = input.segment();
                task.inputOffset = input.byteOffset();
                task.gradOutput = gradOutput.segment();
                task.gradOutputOffset = gradOutput.byteOffset();
                task.withBias = gradBias != null;
                task.gradWeight = gradWeight;
                task.gradBias = gradBias;
                task.accumulate = accumulate;
                task.lease = lease;
                par.forEach(chunks * task.splits, task);
                if (chunks > 1) {
                    reduce(task.partials, task.biasPartials, chunks, k, c, gradWeight, gradBias, accumulate,
                            lease.floats(SUM, 0, k * c));
                }
            }
        }

        /**
         * Chunks of batch items, each summed into a partial gradient of its own: one per thread,
         * or a single one when the threads' partials ({@code K x C} floats each, zeroed, added to
         * by the tiles and reduced) would move more memory than every thread reading the whole
         * input does. With one chunk the threads split the filters instead, and each writes its
         * rows of the gradient itself: small planes with many channels (MobileNet's 1024 x 1024 at
         * 7x7 moved 12 MB of partials, single-threaded in part, for an input of 1.6 MB), and every
         * call on one thread.
         */
        private static int itemChunks(ConvProblem g, int threads) {
            long partials = 3L * threads * g.k() * g.c();
            long rereads = (long) (threads - 1) * g.n() * g.c() * g.h() * g.w();
            boolean filtersFeedThreads = g.k() / BLOCKS >= threads;
            return threads == 1 || filtersFeedThreads && partials > rereads ? 1 : Math.min(threads, g.n());
        }
    }

    /** Backward-weights: a task is (chunk of items, slice of filter quads), summing into the chunk's partial. */
    private static final class WeightGradient extends CallTask {
        ConvProblem g;
        int chunks;
        int splits;
        int quads;
        int c;
        int k;
        int pixels;
        MemorySegment input;
        long inputOffset;
        MemorySegment gradOutput;
        long gradOutputOffset;
        boolean withBias;
        Tensor gradWeight;
        Tensor gradBias;
        boolean accumulate;
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
            int n0 = WorkSplit.start(g.n(), chunks, chunk), n1 = WorkSplit.start(g.n(), chunks, chunk + 1);
            int k0 = BLOCKS * WorkSplit.start(quads, splits, task % splits);
            int k1 = BLOCKS * WorkSplit.start(quads, splits, task % splits + 1);
            float[] dz = lease.worker(worker).floats(STAGED, k * GRADIENT_CHUNK);
            if (chunks == 1) {
                startRows(k0, k1);
            }
            for (int n = n0; n < n1; n++) {
                for (int p0 = 0; p0 < pixels; p0 += GRADIENT_CHUNK) {
                    int count = Math.min(GRADIENT_CHUNK, pixels - p0);
                    stage(gradOutput, gradOutputOffset, n, k / LANES, pixels, p0, count, dz, k0 / LANES,
                            Math.ceilDiv(k1, LANES));
                    long xAt = inputOffset + ((long) n * c * pixels + (long) p0 * LANES) * Float.BYTES;
                    outerProducts(input, xAt, (long) pixels * LANES * Float.BYTES, dz, c, count, k0, k1,
                            partials[chunk]);
                    if (withBias) {
                        sumBias(dz, count, k0, k1, biasPartials[chunk]);
                    }
                }
            }
            if (chunks == 1) {
                writeRows(k0, k1);
            }
        }

        /** With one chunk: the sums of filters {@code [k0, k1)} start from zero, or from the old gradient when accumulating. */
        private void startRows(int k0, int k1) {
            float[] partial = partials[0], biasPartial = biasPartials[0];
            if (accumulate) {
                MemorySegment.copy(gradWeight.segment(), Tensor.FLOAT,
                        gradWeight.byteOffset() + (long) k0 * c * Float.BYTES, partial, k0 * c, (k1 - k0) * c);
            } else {
                Arrays.fill(partial, k0 * c, k1 * c, 0f);
            }
            if (withBias && accumulate) {
                MemorySegment.copy(gradBias.segment(), Tensor.FLOAT,
                        gradBias.byteOffset() + (long) k0 * Float.BYTES, biasPartial, k0, k1 - k0);
            } else {
                Arrays.fill(biasPartial, k0, k1, 0f);
            }
        }

        /** With one chunk: the finished rows of filters {@code [k0, k1)} go to the gradients (OIHW of a 1x1 kernel is {@code [k][c]}). */
        private void writeRows(int k0, int k1) {
            MemorySegment.copy(partials[0], k0 * c, gradWeight.segment(), Tensor.FLOAT,
                    gradWeight.byteOffset() + (long) k0 * c * Float.BYTES, (k1 - k0) * c);
            if (withBias) {
                MemorySegment.copy(biasPartials[0], k0, gradBias.segment(), Tensor.FLOAT,
                        gradBias.byteOffset() + (long) k0 * Float.BYTES, k1 - k0);
            }
        }

        @Override
        protected void clear() {
            g = null;
            input = null;
            gradOutput = null;
            gradWeight = null;
            gradBias = null;
            Arrays.fill(partials, null);
            Arrays.fill(biasPartials, null);
            lease = null;
        }
    }

    /** Pixels {@code [p0, p0 + count)} of blocks {@code [b0, b1)} of item {@code n} into {@code staged[b][p][lanes]}. */
    private static void stage(MemorySegment t, long offset, int n, int blocks, int pixels, int p0, int count,
                              float[] staged, int b0, int b1) {
        long block = (long) pixels * LANES * Float.BYTES;
        long at = offset + n * blocks * block + (long) p0 * LANES * Float.BYTES;
        for (int b = b0; b < b1; b++) {
            MemorySegment.copy(t, Tensor.FLOAT, at + b * block, staged, b * GRADIENT_CHUNK * LANES,
                    count * LANES);
        }
    }

    /**
     * Filters {@code [k0, k1)} (whole fours) by every input block, over {@code count} staged pixels
     * of the output gradient and the same pixels of the input, read in place from byte {@code xAt}
     * (blocks {@code xBlock} bytes apart).
     */
    private static void outerProducts(MemorySegment x, long xAt, long xBlock, float[] dz, int c, int count, int k0,
                                      int k1, float[] partial) {
        int inBlocks = c / LANES, stagedBlock = GRADIENT_CHUNK * LANES;
        int quadBlocks = inBlocks / BLOCKS * BLOCKS;
        for (int cb = 0; cb < quadBlocks; cb += BLOCKS) { // four input blocks stay in L1 while every filter passes
            for (int f = k0; f < k1; f += BLOCKS) {
                PointwiseTiles.fourFiltersFourBlocks(dz, (f / LANES) * stagedBlock + f % LANES, x, xAt + cb * xBlock,
                        xBlock, count, partial, f * c + cb * LANES, c);
            }
        }
        for (int cb = quadBlocks; cb < inBlocks; cb++) {
            for (int f = k0; f < k1; f += BLOCKS) {
                PointwiseTiles.fourFiltersOneBlock(dz, (f / LANES) * stagedBlock + f % LANES, x, xAt + cb * xBlock,
                        count, partial, f * c + cb * LANES, c);
            }
        }
    }

    /** Adds the staged output gradient of filters {@code [k0, k1)} over {@code count} pixels to the bias gradient. */
    private static void sumBias(float[] dz, int count, int k0, int k1, float[] biasPartial) {
        int stagedBlock = GRADIENT_CHUNK * LANES;
        for (int f = k0; f < k1; f++) {
            int at = (f / LANES) * stagedBlock + f % LANES;
            float sum = 0f;
            for (int p = 0; p < count; p++) {
                sum += dz[at + p * LANES];
            }
            biasPartial[f] += sum;
        }
    }

    /**
     * Writes (or adds, when accumulating) the partials' sum, in their order, into the OIHW
     * gradient (a 1x1 kernel's OIHW order is the partials' {@code [k][c]}) and the bias gradient.
     */
    private static void reduce(float[][] partials, float[][] biasPartials, int count, int k, int c,
                               Tensor gradWeight, Tensor gradBias, boolean accumulate, float[] sum) {
        int weights = k * c;
        {
            if (accumulate) {
                MemorySegment.copy(gradWeight.segment(), Tensor.FLOAT, gradWeight.byteOffset(), sum, 0, weights);
            } else {
                Arrays.fill(sum, 0, weights, 0f);
            }
            for (int i = 0; i < count; i++) {
                for (int j = 0; j < weights; j += LANES) {
                    FloatVector.fromArray(SPECIES, sum, j).add(FloatVector.fromArray(SPECIES, partials[i], j))
                            .intoArray(sum, j);
                }
            }
            MemorySegment.copy(sum, 0, gradWeight.segment(), Tensor.FLOAT, gradWeight.byteOffset(), weights);
        }
        if (gradBias != null) {
            for (int f = 0; f < k; f++) {
                long at = gradBias.byteOffset() + (long) f * Float.BYTES;
                float total = accumulate ? gradBias.segment().get(Tensor.FLOAT, at) : 0f;
                for (int i = 0; i < count; i++) {
                    total += biasPartials[i][f];
                }
                gradBias.segment().set(Tensor.FLOAT, at, total);
            }
        }
    }

    /** Floats after each per-thread partial: two cache lines, so that two threads' partials share none. */
    private static final int FALSE_SHARING_PAD = 32;
}
