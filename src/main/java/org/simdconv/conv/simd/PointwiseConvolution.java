package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.BlockedTiles.LANES;
import static org.simdconv.conv.simd.BlockedTiles.SPECIES;
import static org.simdconv.conv.simd.PointwiseTiles.BLOCKS;
import static org.simdconv.conv.simd.PointwiseTiles.PIXELS;
import static org.simdconv.conv.simd.PointwiseTiles.ROWS;
import static org.simdconv.conv.simd.PointwiseTiles.VECTORS;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * 1x1 convolutions at stride 1 without padding, in one group, whose channels fill whole blocks:
 * matrix products over the pixels of each batch item ({@link PointwiseTiles}), on the caller's
 * tensors. Nothing is padded and no plane is converted or copied whole.
 * <ul>
 *   <li>NCHW forward and backward-data: the pixels are the lanes, read and written in place (no
 *       layout conversion at all); tasks are (item, 192 pixels), and a task passes over its pixels
 *       once per eight rows of the output, so the input it reads (768 bytes of each channel) stays
 *       in L2 after the first pass. ResNet's 256-to-64 layer at 2 threads (interleaved A/B): 10-11.6
 *       ms through the blocked kernel and its conversions, 5.4-5.7 ms here.</li>
 *   <li>Channel-blocked forward and backward-data: the channels are the lanes; tasks are (item, 96
 *       pixels), whose input is staged in a heap array (96 pixels of each block, in L2), because
 *       broadcasts from arrays are single instructions (see {@link BlockedTiles}); the outputs are
 *       stored in place.</li>
 *   <li>Backward-weights on blocked tensors (NCHW ones are converted to the blocked layout first,
 *       counted in the call): chunks of batch items (one per thread, and ranges of four filters
 *       when there are fewer items than threads) sum the outer products of 64 pixels at a time
 *       (the output gradient staged for its broadcasts, the input read in place) into their own
 *       partial gradient; the partials are summed in chunk order, so results depend on the thread
 *       count but never on scheduling. The bias gradient is summed from the same staged pixels.</li>
 * </ul>
 * Which tile computes an output depends only on the sizes, never on threads.
 */
final class PointwiseConvolution {

    /** Pixels of an NCHW task: four tiles of three vectors. */
    static final int NCHW_CHUNK = 4 * VECTORS * LANES;
    /** Pixels of a blocked task, staged at once: sixteen tiles of six. */
    static final int BLOCKED_CHUNK = 16 * PIXELS;
    /** Pixels of the weight gradient at a time: their staged output gradient and their input stay in L1/L2. */
    static final int GRADIENT_CHUNK = 64;

    private final ScratchPool pool;
    private final PackedWeights packedWeights;

    PointwiseConvolution(ScratchPool pool, PackedWeights packedWeights) {
        this.pool = pool;
        this.packedWeights = packedWeights;
    }

    /**
     * A 1x1 kernel, stride 1, no padding, one group, channels and filters in whole blocks, and 32
     * vector registers for the tiles ({@link BlockedTiles#WIDE}); dilation changes nothing in a 1x1
     * kernel.
     */
    static boolean accepts(Conv2dGeometry g) {
        return BlockedTiles.WIDE && g.groups() == 1 && g.r() == 1 && g.s() == 1 && g.strideH() == 1
                && g.strideW() == 1 && g.padTop() == 0 && g.padBottom() == 0 && g.padLeft() == 0 && g.padRight() == 0
                && g.c() % LANES == 0 && g.k() % LANES == 0;
    }

    /**
     * Forward; {@code blocked}: the tensors are channel-blocked, else NCHW. The weights are packed
     * for the tile once and kept while unchanged ({@link PackedWeights}).
     */
    void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, boolean blocked,
                 Parallelism par) {
        float[] b = pool.array(g.k());
        try {
            if (bias != null) {
                MemorySegment.copy(bias.segment(), Tensor.FLOAT, bias.byteOffset(), b, 0, g.k());
            } else {
                Arrays.fill(b, 0, g.k(), 0f);
            }
            if (blocked) {
                float[] w = packedWeights.packed("pointwise-forward-blocked", g, weight,
                        (geometry, oihw) -> blockedForwardWeights(oihw, geometry.k(), geometry.c()));
                products(g, g.c(), g.k(), input, output, w, g.c() * LANES, LANES, b, false, par);
            } else {
                float[] a = packedWeights.packed("pointwise-forward-nchw", g, weight,
                        (geometry, oihw) -> nchwWeights(oihw, geometry.k(), geometry.c(), false));
                products(g, g.c(), g.k(), input, output, a, b, false, par);
            }
        } finally {
            pool.give(b);
        }
    }

    /**
     * Backward-data: the product with the transposed weights (the 180-degree rotation of a 1x1
     * kernel is the identity). On blocked tensors the OIHW weights are already in the order the
     * tile loads them: the weights of input block {@code cb} for filter {@code k} are the
     * {@code lanes} floats at {@code k*C + cb*lanes}.
     */
    void backwardData(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput, Accumulation mode,
                      boolean blocked, Parallelism par) {
        float[] zeros = pool.array(g.c());
        boolean accumulate = mode == Accumulation.ACCUMULATE;
        try {
            Arrays.fill(zeros, 0, g.c(), 0f);
            if (blocked) {
                float[] w = packedWeights.packed("pointwise-backward-data-blocked", g, weight,
                        (geometry, oihw) -> oihw);
                products(g, g.k(), g.c(), gradOutput, gradInput, w, LANES, g.c(), zeros, accumulate, par);
            } else {
                float[] a = packedWeights.packed("pointwise-backward-data-nchw", g, weight,
                        (geometry, oihw) -> nchwWeights(oihw, geometry.k(), geometry.c(), true));
                products(g, g.k(), g.c(), gradOutput, gradInput, a, zeros, accumulate, par);
            }
        } finally {
            pool.give(zeros);
        }
    }

    /**
     * The weights as the NCHW tile reads them, eight rows at a time: {@code a[(m/8*depth + j)*8 +
     * m%8]} is row {@code m}, column {@code j} of the {@code k x c} weight matrix, or of its
     * transpose when {@code transpose} (backward-data).
     */
    private static float[] nchwWeights(float[] oihw, int k, int c, boolean transpose) {
        int rows = transpose ? c : k, depth = transpose ? k : c;
        float[] a = new float[k * c];
        for (int m = 0; m < rows; m++) {
            for (int j = 0; j < depth; j++) {
                a[((m / ROWS) * depth + j) * ROWS + m % ROWS] = oihw[transpose ? j * c + m : m * c + j];
            }
        }
        return a;
    }

    /**
     * The forward weights as the blocked tile loads them: the {@code lanes} filters of block
     * {@code kb} for channel {@code c} at {@code (kb*C + c)*lanes}, one gather from the OIHW rows each.
     */
    private static float[] blockedForwardWeights(float[] oihw, int k, int c) {
        float[] w = new float[k * c];
        int[] rows = BlockedWeights.map(c);
        for (int kb = 0; kb < k / LANES; kb++) {
            for (int j = 0; j < c; j++) {
                FloatVector.fromArray(SPECIES, oihw, kb * LANES * c + j, rows, 0).intoArray(w, (kb * c + j) * LANES);
            }
        }
        return w;
    }

    /**
     * NCHW: {@code out[m][p] = start[m] + sum_j a[m][j] x[j][p]} for every item, {@code depth}
     * input rows and {@code rows} output rows of {@code H*W} pixels; or the old output plus the sum
     * when {@code accumulate} ({@code start} unused).
     */
    private void products(Conv2dGeometry g, int depth, int rows, Tensor x, Tensor out, float[] a, float[] start,
                          boolean accumulate, Parallelism par) {
        int pixels = g.h() * g.w();
        int chunks = Math.ceilDiv(pixels, NCHW_CHUNK);
        long plane = (long) pixels * Float.BYTES;
        int tile = VECTORS * LANES;
        // Without accumulation every tile starts from the same rows of start values.
        float[] startRows = accumulate ? null : pool.array(rows * tile);
        try {
            for (int m = 0; m < rows && !accumulate; m++) {
                Arrays.fill(startRows, m * tile, (m + 1) * tile, start[m]);
            }
            try (NchwProducts task = nchwProductsTasks.take()) {
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
                par.forEach(g.n() * chunks, task);
            }
        } finally {
            if (startRows != null) {
                pool.give(startRows);
            }
        }
    }

    private final CallTask.PerThread<NchwProducts> nchwProductsTasks = new CallTask.PerThread<>(NchwProducts::new);

    /** Products on NCHW tensors: a task is (item, chunk of pixels). */
    private final class NchwProducts extends CallTask {
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

        @Override
        public void accept(int task) {
            int n = task / chunks;
            int p0 = (task % chunks) * NCHW_CHUNK, count = Math.min(pixels, p0 + NCHW_CHUNK) - p0;
            long xItem = x.byteOffset() + (long) n * depth * plane + (long) p0 * Float.BYTES;
            long outItem = out.byteOffset() + (long) n * rows * plane + (long) p0 * Float.BYTES;
            float[] old = accumulate ? pool.array(rows * NCHW_CHUNK) : null;
            try {
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
                            PointwiseTiles.eightRowsThreeVectors(a, aAt, depth, x.segment(), xp, plane, o, oAt,
                                    oRow, out.segment(), op, plane);
                        } else {
                            PointwiseTiles.eightRowsOneVector(a, aAt, depth, x.segment(), xp, plane, o, oAt, oRow,
                                    out.segment(), op, plane, count - p);
                        }
                    }
                }
            } finally {
                if (old != null) {
                    pool.give(old);
                }
            }
        }

        @Override
        void clear() {
            x = null;
            out = null;
            a = null;
            startRows = null;
        }
    }

    /**
     * Channel-blocked: output block {@code ob} of pixel {@code p} is {@code start + sum_j
     * in[channel j of p] * w[ob*wBlock + j*wStep ..]} over {@code depth} input channels, for every
     * item; {@code start} holds the start values (the bias, or zeros), or the sums are added to the
     * old output when {@code accumulate}.
     */
    private void products(Conv2dGeometry g, int depth, int rows, Tensor in, Tensor out, float[] w, int wBlock,
                          int wStep, float[] start, boolean accumulate, Parallelism par) {
        int pixels = g.h() * g.w();
        int chunks = Math.ceilDiv(pixels, BLOCKED_CHUNK);
        int inBlocks = depth / LANES, outBlocks = rows / LANES;
        long blockBytes = (long) pixels * LANES * Float.BYTES;
        long pixelBytes = (long) LANES * Float.BYTES;
        int chunkBlock = BLOCKED_CHUNK * LANES, tileBlock = PIXELS * LANES;
        // Without accumulation every tile starts from the same six pixels of start values per block.
        float[] startTiles = accumulate ? null : pool.array(outBlocks * tileBlock);
        try {
            // Array copies, not a vector: this loop runs once a call, and C2 boxed the vector here.
            for (int ob = 0; ob < outBlocks && !accumulate; ob++) {
                for (int q = 0; q < PIXELS; q++) {
                    System.arraycopy(start, ob * LANES, startTiles, ob * tileBlock + q * LANES, LANES);
                }
            }
            try (BlockedProducts task = blockedProductsTasks.take()) {
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
                par.forEach(g.n() * chunks, task);
            }
        } finally {
            if (startTiles != null) {
                pool.give(startTiles);
            }
        }
    }

    private final CallTask.PerThread<BlockedProducts> blockedProductsTasks = new CallTask.PerThread<>(BlockedProducts::new);

    /** Products on channel-blocked tensors: a task is (item, chunk of pixels). */
    private final class BlockedProducts extends CallTask {
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

        @Override
        public void accept(int task) {
            int n = task / chunks;
            int p0 = (task % chunks) * BLOCKED_CHUNK, count = Math.min(pixels, p0 + BLOCKED_CHUNK) - p0;
            long inChunk = in.byteOffset() + n * inBlocks * blockBytes + p0 * pixelBytes;
            long outChunk = out.byteOffset() + n * outBlocks * blockBytes + p0 * pixelBytes;
            float[] old = accumulate ? pool.array(outBlocks * chunkBlock) : null;
            float[] staged = pool.array(inBlocks * chunkBlock);
            try {
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
            } finally {
                pool.give(staged);
                if (old != null) {
                    pool.give(old);
                }
            }
        }

        @Override
        void clear() {
            in = null;
            out = null;
            w = null;
            startTiles = null;
        }
    }

    /**
     * Backward-weights and backward-bias; {@code blocked}: the tensors are channel-blocked, else
     * NCHW, converted into blocked workspaces first.
     */
    void backwardWeights(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                         Accumulation mode, boolean blocked, Parallelism par) {
        if (blocked) {
            backwardWeightsBlocked(g, input.segment(), input.byteOffset(), gradOutput.segment(),
                    gradOutput.byteOffset(), gradWeight, gradBias, mode, par);
            return;
        }
        long pixelFloats = (long) g.n() * g.h() * g.w();
        MemorySegment inBlocked = pool.segment(pixelFloats * g.c() * Float.BYTES);
        MemorySegment gradBlocked = pool.segment(pixelFloats * g.k() * Float.BYTES);
        try {
            BlockedConversion.convert(input, inBlocked, 0, true, par);
            BlockedConversion.convert(gradOutput, gradBlocked, 0, true, par);
            backwardWeightsBlocked(g, inBlocked, 0, gradBlocked, 0, gradWeight, gradBias, mode, par);
        } finally {
            pool.give(inBlocked);
            pool.give(gradBlocked);
        }
    }

    private void backwardWeightsBlocked(Conv2dGeometry g, MemorySegment input, long inputOffset,
                                        MemorySegment gradOutput, long gradOutputOffset, Tensor gradWeight,
                                        Tensor gradBias, Accumulation mode, Parallelism par) {
        int c = g.c(), k = g.k(), pixels = g.h() * g.w();
        int quads = k / BLOCKS;
        int chunks = Math.min(par.threads(), g.n());
        int splits = WorkSplit.channelSplits(g.n(), quads, par.threads());
        float[][] partials = pool.table(chunks);
        float[][] biasPartials = pool.table(chunks);
        try {
            for (int i = 0; i < chunks; i++) {
                partials[i] = pool.array(k * c + FALSE_SHARING_PAD);
                Arrays.fill(partials[i], 0, k * c, 0f);
                biasPartials[i] = pool.array(k + FALSE_SHARING_PAD);
                Arrays.fill(biasPartials[i], 0, k, 0f);
            }
            try (WeightGradient task = weightGradientTasks.take()) {
                task.g = g;
                task.chunks = chunks;
                task.splits = splits;
                task.quads = quads;
                task.c = c;
                task.k = k;
                task.pixels = pixels;
                task.input = input;
                task.inputOffset = inputOffset;
                task.gradOutput = gradOutput;
                task.gradOutputOffset = gradOutputOffset;
                task.gradBias = gradBias;
                task.partials = partials;
                task.biasPartials = biasPartials;
                par.forEach(chunks * splits, task);
            }
            reduce(partials, biasPartials, chunks, k, c, gradWeight, gradBias, mode);
        } finally {
            pool.giveAll(partials);
            pool.giveAll(biasPartials);
        }
    }

    private final CallTask.PerThread<WeightGradient> weightGradientTasks = new CallTask.PerThread<>(WeightGradient::new);

    /** Backward-weights: a task is (chunk of items, slice of filter quads), summing into the chunk's partial. */
    private final class WeightGradient extends CallTask {
        Conv2dGeometry g;
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
        Tensor gradBias;
        float[][] partials;
        float[][] biasPartials;

        @Override
        public void accept(int task) {
            int chunk = task / splits;
            int n0 = WorkSplit.start(g.n(), chunks, chunk), n1 = WorkSplit.start(g.n(), chunks, chunk + 1);
            int k0 = BLOCKS * WorkSplit.start(quads, splits, task % splits);
            int k1 = BLOCKS * WorkSplit.start(quads, splits, task % splits + 1);
            float[] dz = pool.array(k * GRADIENT_CHUNK);
            try {
                for (int n = n0; n < n1; n++) {
                    for (int p0 = 0; p0 < pixels; p0 += GRADIENT_CHUNK) {
                        int count = Math.min(GRADIENT_CHUNK, pixels - p0);
                        stage(gradOutput, gradOutputOffset, n, k / LANES, pixels, p0, count, dz, k0 / LANES,
                                Math.ceilDiv(k1, LANES));
                        long xAt = inputOffset + ((long) n * c * pixels + (long) p0 * LANES) * Float.BYTES;
                        outerProducts(input, xAt, (long) pixels * LANES * Float.BYTES, dz, c, count, k0, k1,
                                partials[chunk]);
                        if (gradBias != null) {
                            sumBias(dz, count, k0, k1, biasPartials[chunk]);
                        }
                    }
                }
            } finally {
                pool.give(dz);
            }
        }

        @Override
        void clear() {
            g = null;
            input = null;
            gradOutput = null;
            gradBias = null;
            partials = null;
            biasPartials = null;
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
    private void reduce(float[][] partials, float[][] biasPartials, int count, int k, int c, Tensor gradWeight,
                        Tensor gradBias, Accumulation mode) {
        boolean accumulate = mode == Accumulation.ACCUMULATE;
        int weights = k * c;
        float[] sum = pool.array(weights);
        try {
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
        } finally {
            pool.give(sum);
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
