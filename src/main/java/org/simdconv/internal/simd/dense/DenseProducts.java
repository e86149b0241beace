package org.simdconv.internal.simd.dense;

import static org.simdconv.internal.simd.common.GemmTiles.ROWS;
import static org.simdconv.internal.simd.common.GemmTiles.VECTORS;
import static org.simdconv.internal.simd.common.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.GemmTiles;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * The three matrix products of a fully connected layer (seed 003: the delta rule over a
 * mini-batch), for {@code x} of shape N x I, {@code w} O x I (PyTorch's {@code Linear.weight}) and
 * {@code y}, {@code dy} N x O, all plain and dense:
 * <pre>
 *   forward          y[n][o]  = b[o] + sum_i x[n][i] w[o][i]      dot products along rows ({@link DotTiles})
 *   backward-data    dx[n][i] = sum_o dy[n][o] w[o][i]            broadcast GEMM, A = dy, B = w
 *   backward-weights dw[o][i] = sum_n dy[n][o] x[n][i]            broadcast GEMM, A = dy transposed, B = x
 *                    db[o]    = sum_n dy[n][o]
 * </pre>
 * The backward products run on the GEMM tile the 1x1 convolution uses ({@link GemmTiles}): the
 * small operand, {@code dy}, is packed into panels of eight rows, and the large one, {@code w} or
 * {@code x}, is read in place, a row per reduction step. Tasks split the columns of the result (or
 * groups of four outputs, forward), so no two tasks write the same element and each element's sum
 * has one order whatever the threads.
 */
public final class DenseProducts {

    /** Columns of the result per backward task: one three-vector tile. */
    private static final int TASK_COLUMNS = VECTORS * LANES;
    /** Start values of the backward products: the sums start from zero. */
    private static final float[] ZEROS = new float[VECTORS * LANES];

    /** Outputs of a forward task: four groups of four rows of {@code w}. */
    private static final int TASK_OUTPUTS = 4 * DotTiles.ROWS;
    /** Floats of the reduction per block of the forward pass: 2 KB of each row (fastest of 256 to 2048). */
    private static final int DEPTH_BLOCK = 512;

    // Workspace slots.
    private static final int PANELS = 0;
    private static final int ACCUMULATORS = 0;
    private static final int TILE_SUMS = 1;
    private static final int LAST_ROWS = 0;

    private static final CallTask.Pool<Forward> FORWARD = new CallTask.Pool<>(Forward::new);
    private static final CallTask.Pool<Broadcast> BROADCAST = new CallTask.Pool<>(Broadcast::new);

    private DenseProducts() {
    }

    /** {@code y = x w^T + b}; {@code b} may be null. */
    public static void forward(Tensor x, Tensor w, Tensor b, Tensor y, Workspace workspace, Parallelism par) {
        forward(x.segment(), x.byteOffset(), w.segment(), w.byteOffset(), b == null ? null : b.segment(),
                b == null ? 0 : b.byteOffset(), y.segment(), y.byteOffset(), x.dim(0), x.dim(1), w.dim(0), workspace,
                par);
    }

    /**
     * {@link #forward(Tensor, Tensor, Tensor, Tensor, Workspace, Parallelism)} on dense row-major
     * matrices given by their memory: {@code x} items x inputs at byte {@code xAt}, {@code w}
     * outputs x inputs, {@code y} items x outputs, {@code b} (may be null) outputs.
     */
    public static void forward(MemorySegment x, long xAt, MemorySegment w, long wAt, MemorySegment b, long bAt,
                               MemorySegment y, long yAt, int items, int inputs, int outputs, Workspace workspace,
                               Parallelism par) {
        try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Forward task = FORWARD.take()) {
            task.x = x;
            task.xAt = xAt;
            task.w = w;
            task.wAt = wAt;
            task.b = b;
            task.bAt = bAt;
            task.y = y;
            task.yAt = yAt;
            task.items = items;
            task.inputs = inputs;
            task.outputs = outputs;
            task.lease = lease;
            par.forEach(Math.ceilDiv(outputs, TASK_OUTPUTS), task);
        }
    }

    /** {@code dx = dy w}. */
    public static void backwardData(Tensor dy, Tensor w, Tensor dx, Workspace workspace, Parallelism par) {
        backwardData(dy.segment(), dy.byteOffset(), w.segment(), w.byteOffset(), dx.segment(), dx.byteOffset(),
                dy.dim(0), w.dim(1), dy.dim(1), workspace, par);
    }

    /** {@link #backwardData(Tensor, Tensor, Tensor, Workspace, Parallelism)} on matrices given by their memory. */
    public static void backwardData(MemorySegment dy, long dyAt, MemorySegment w, long wAt, MemorySegment dx,
                                    long dxAt, int items, int inputs, int outputs, Workspace workspace,
                                    Parallelism par) {
        try (Workspace.Lease lease = workspace.lease().workers(par.threads())) {
            float[] panels = lease.floats(PANELS, 0, Math.ceilDiv(items, ROWS) * ROWS * outputs);
            pack(dy, dyAt, items, outputs, false, panels);
            long row = (long) inputs * Float.BYTES;
            product(panels, items, outputs, w, wAt, row, inputs, dx, dxAt, row, lease, par);
        }
    }

    /** {@code dw = dy^T x} and {@code db[o] = sum_n dy[n][o]} (when {@code db} is not null). */
    public static void backwardWeights(Tensor x, Tensor dy, Tensor dw, Tensor db, Workspace workspace,
                                       Parallelism par) {
        backwardWeights(x.segment(), x.byteOffset(), dy.segment(), dy.byteOffset(), dw.segment(), dw.byteOffset(),
                db == null ? null : db.segment(), db == null ? 0 : db.byteOffset(), x.dim(0), x.dim(1), dy.dim(1),
                workspace, par);
    }

    /** {@link #backwardWeights(Tensor, Tensor, Tensor, Tensor, Workspace, Parallelism)} on matrices given by their memory. */
    public static void backwardWeights(MemorySegment x, long xAt, MemorySegment dy, long dyAt, MemorySegment dw,
                                       long dwAt, MemorySegment db, long dbAt, int items, int inputs, int outputs,
                                       Workspace workspace, Parallelism par) {
        try (Workspace.Lease lease = workspace.lease().workers(par.threads())) {
            float[] panels = lease.floats(PANELS, 0, Math.ceilDiv(outputs, ROWS) * ROWS * items);
            pack(dy, dyAt, items, outputs, true, panels);
            long row = (long) inputs * Float.BYTES;
            product(panels, outputs, items, x, xAt, row, inputs, dw, dwAt, row, lease, par);
        }
        if (db != null) {
            for (int o = 0; o < outputs; o++) {
                double sum = 0;
                for (int n = 0; n < items; n++) {
                    sum += dy.get(Tensor.FLOAT, dyAt + ((long) n * outputs + o) * Float.BYTES);
                }
                db.set(Tensor.FLOAT, dbAt + (long) o * Float.BYTES, (float) sum);
            }
        }
    }

    /**
     * Packs the {@code rows x cols} row-major matrix at byte {@code at} of {@code m} (or its
     * transpose) as the A operand of {@link GemmTiles}: row {@code r} of panel {@code p}, step
     * {@code j}, at {@code panels[(p * depth + j) * 8 + r]}; rows past the matrix are zeros.
     */
    private static void pack(MemorySegment m, long at, int rows, int cols, boolean transposed, float[] panels) {
        int packedRows = transposed ? cols : rows, depth = transposed ? rows : cols;
        int padded = Math.ceilDiv(packedRows, ROWS) * ROWS;
        Arrays.fill(panels, 0, padded * depth, 0f);
        for (int r = 0; r < packedRows; r++) {
            int first = r / ROWS * ROWS * depth + r % ROWS;
            for (int j = 0; j < depth; j++) {
                long element = transposed ? (long) j * packedRows + r : (long) r * depth + j;
                panels[first + j * ROWS] = m.get(Tensor.FLOAT, at + element * Float.BYTES);
            }
        }
    }

    /**
     * {@code C[m][col] = sum_j A[m][j] B[j][col]} for {@code m < rows}, {@code col < cols}, with
     * {@code A} packed by {@link #pack}, row {@code j} of {@code B} at byte {@code bAt + j * bRow}
     * and row {@code m} of {@code C} at {@code cAt + m * cRow}. A task computes the columns of one
     * tile for every row.
     */
    private static void product(float[] panels, int rows, int depth, MemorySegment b, long bAt, long bRow, int cols,
                                MemorySegment c, long cAt, long cRow, Workspace.Lease lease, Parallelism par) {
        try (Broadcast task = BROADCAST.take()) {
            task.panels = panels;
            task.rows = rows;
            task.depth = depth;
            task.b = b;
            task.bAt = bAt;
            task.bRow = bRow;
            task.cols = cols;
            task.c = c;
            task.cAt = cAt;
            task.cRow = cRow;
            task.lease = lease;
            par.forEach(Math.ceilDiv(cols, TASK_COLUMNS), task);
        }
    }

    /**
     * Forward: a task is {@value #TASK_OUTPUTS} outputs (rows of {@code w}) for every item. The
     * reduction runs in blocks of {@value #DEPTH_BLOCK} floats: within a block, the task's rows of
     * {@code w} (32 KB) stay in L1 while each group of four items passes by, and the four items'
     * rows are read once for the four groups of outputs. The partial sums wait in the worker's
     * accumulators between blocks.
     */
    private static final class Forward extends CallTask {
        MemorySegment x;
        long xAt;
        MemorySegment w;
        long wAt;
        MemorySegment b;
        long bAt;
        MemorySegment y;
        long yAt;
        int items;
        int inputs;
        int outputs;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            int o0 = task * TASK_OUTPUTS, oCount = Math.min(TASK_OUTPUTS, outputs - o0);
            int oGroups = Math.ceilDiv(oCount, DotTiles.ROWS), nGroups = Math.ceilDiv(items, DotTiles.ROWS);
            int tile = DotTiles.ROWS * DotTiles.ROWS * LANES;
            Workspace.Worker memory = lease.worker(worker);
            float[] acc = memory.floats(ACCUMULATORS, nGroups * oGroups * tile);
            Arrays.fill(acc, 0, nGroups * oGroups * tile, 0f);
            float[] sums = memory.floats(TILE_SUMS, DotTiles.ROWS * DotTiles.ROWS);
            long row = (long) inputs * Float.BYTES;
            int vectors = inputs / LANES;
            for (int v0 = 0; v0 < vectors; v0 += DEPTH_BLOCK / LANES) {
                int count = Math.min(DEPTH_BLOCK / LANES, vectors - v0);
                long k = (long) v0 * LANES * Float.BYTES;
                for (int g = 0; g < nGroups; g++) {
                    int n0 = g * DotTiles.ROWS, nRows = Math.min(DotTiles.ROWS, items - n0);
                    for (int og = 0; og < oGroups; og++) {
                        int first = o0 + og * DotTiles.ROWS, oRows = Math.min(DotTiles.ROWS, outputs - first);
                        DotTiles.fourByFour(x, xAt + n0 * row + k, row, nRows, w, wAt + first * row + k, row, oRows,
                                count, acc, (g * oGroups + og) * tile);
                    }
                }
            }
            long tailAt = (long) vectors * LANES * Float.BYTES;
            for (int g = 0; g < nGroups; g++) {
                int n0 = g * DotTiles.ROWS, nRows = Math.min(DotTiles.ROWS, items - n0);
                for (int og = 0; og < oGroups; og++) {
                    int first = o0 + og * DotTiles.ROWS, oRows = Math.min(DotTiles.ROWS, outputs - first);
                    DotTiles.finish(acc, (g * oGroups + og) * tile, x, xAt + n0 * row, row, nRows, w,
                            wAt + first * row, row, oRows, tailAt, inputs % LANES, sums);
                    for (int r = 0; r < nRows; r++) {
                        for (int c = 0; c < oRows; c++) {
                            float bias = b == null ? 0f : b.get(Tensor.FLOAT, bAt + (long) (first + c) * Float.BYTES);
                            y.set(Tensor.FLOAT, yAt + ((long) (n0 + r) * outputs + first + c) * Float.BYTES,
                                    bias + sums[r * DotTiles.ROWS + c]);
                        }
                    }
                }
            }
        }

        @Override
        protected void clear() {
            x = null;
            w = null;
            b = null;
            y = null;
            lease = null;
        }
    }

    /**
     * Backward: a task is one tile's columns (the last task fewer) for every panel of eight rows.
     * Full panels write to {@code C}; a last panel of fewer rows writes to the worker's scratch,
     * whose valid rows are then copied, so no row past {@code C} is ever written.
     */
    private static final class Broadcast extends CallTask {
        float[] panels;
        int rows;
        int depth;
        MemorySegment b;
        long bAt;
        long bRow;
        int cols;
        MemorySegment c;
        long cAt;
        long cRow;
        Workspace.Lease lease;

        @Override
        public void run(int task, int worker) {
            int col0 = task * TASK_COLUMNS, width = Math.min(TASK_COLUMNS, cols - col0);
            long colBytes = (long) col0 * Float.BYTES;
            for (int m0 = 0; m0 < rows; m0 += ROWS) {
                boolean whole = m0 + ROWS <= rows;
                MemorySegment target = c;
                long at = cAt + m0 * cRow + colBytes, stride = cRow;
                if (!whole) {
                    stride = (long) TASK_COLUMNS * Float.BYTES;
                    target = lease.worker(worker).segment(LAST_ROWS, ROWS * stride);
                    at = 0;
                }
                tile(m0 * depth, bAt + colBytes, width, target, at, stride);
                for (int m = m0; !whole && m < rows; m++) {
                    MemorySegment.copy(target, (m - m0) * stride, c, cAt + m * cRow + colBytes,
                            (long) width * Float.BYTES);
                }
            }
        }

        /** One panel's rows by {@code width} columns, from B's column at byte {@code bCol}. */
        private void tile(int aAt, long bCol, int width, MemorySegment target, long at, long stride) {
            if (width == TASK_COLUMNS) {
                GemmTiles.eightRowsThreeVectors(panels, aAt, depth, b, bCol, bRow, ZEROS, 0, 0, target, at, stride);
                return;
            }
            for (int v = 0; v < width; v += LANES) {
                long offset = (long) v * Float.BYTES;
                GemmTiles.eightRowsOneVector(panels, aAt, depth, b, bCol + offset, bRow, ZEROS, 0, 0, target,
                        at + offset, stride, width - v);
            }
        }

        @Override
        protected void clear() {
            panels = null;
            b = null;
            c = null;
            lease = null;
        }
    }
}
