package org.simdconv.internal.simd.dense;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.simdconv.tensor.Tensor;

/**
 * The register tile of a dense layer's forward pass, {@code y[n][o] = sum_i x[n][i] w[o][i]}: both
 * operands are read along their rows (PyTorch keeps {@code Linear.weight} as {@code [out, in]}), so
 * the lanes run along the reduction index {@code i} and each output ends as one vector of partial
 * sums. Four rows of {@code x} by four of {@code w}: 16 FMAs for eight loads per step, 16
 * accumulators and eight operands in 24 registers. Packing {@code w} transposed instead, for the
 * broadcast tile of {@code GemmTiles}, would copy the whole matrix at every optimiser step; this
 * tile reads it where it is.
 *
 * <p>The reduction index is cut into blocks ({@code DenseProducts}) so that the four rows of
 * {@code w} a task works on stay in L1 while every group of four rows of {@code x} passes by; the
 * accumulators live in a heap array between blocks. The lanes of each accumulator are added in
 * lane order, in scalar code, never with
 * {@code reduceLanes(ADD)}: the Vector API leaves that order open, and the compiled and interpreted
 * forms of one method do differ, which would change a result between the first call and the next.
 */
final class DotTiles {

    /** Rows of {@code x}, and rows of {@code w}, per tile. */
    static final int ROWS = 4;

    private DotTiles() {
    }

    /**
     * Adds {@code x[r][k] * w[c][k]} for the {@code vectors} vectors of {@code k} from byte 0 of the
     * rows to the 16 accumulators {@code acc[at + (r*4 + c) * LANES ..]}, for {@code r, c < 4}; row
     * {@code r} of {@code x} at byte {@code xAt + r * xRow}, of {@code w} at {@code wAt + c * wRow}.
     * With fewer than four rows ({@code xRows}, {@code wRows}) the last is read again in place of
     * the missing ones, whose sums the caller ignores. The accumulators stay vectors of partial sums
     * from one block of {@code k} to the next; {@link #finish} adds up their lanes.
     */
    static void fourByFour(MemorySegment x, long xAt, long xRow, int xRows, MemorySegment w, long wAt, long wRow,
                           int wRows, int vectors, float[] acc, int at) {
        long x0 = xAt, x1 = xAt + Math.min(1, xRows - 1) * xRow, x2 = xAt + Math.min(2, xRows - 1) * xRow,
                x3 = xAt + Math.min(3, xRows - 1) * xRow;
        long w0 = wAt, w1 = wAt + Math.min(1, wRows - 1) * wRow, w2 = wAt + Math.min(2, wRows - 1) * wRow,
                w3 = wAt + Math.min(3, wRows - 1) * wRow;
        FloatVector a00 = FloatVector.fromArray(SPECIES, acc, at + 0 * LANES);
        FloatVector a01 = FloatVector.fromArray(SPECIES, acc, at + 1 * LANES);
        FloatVector a02 = FloatVector.fromArray(SPECIES, acc, at + 2 * LANES);
        FloatVector a03 = FloatVector.fromArray(SPECIES, acc, at + 3 * LANES);
        FloatVector a10 = FloatVector.fromArray(SPECIES, acc, at + 4 * LANES);
        FloatVector a11 = FloatVector.fromArray(SPECIES, acc, at + 5 * LANES);
        FloatVector a12 = FloatVector.fromArray(SPECIES, acc, at + 6 * LANES);
        FloatVector a13 = FloatVector.fromArray(SPECIES, acc, at + 7 * LANES);
        FloatVector a20 = FloatVector.fromArray(SPECIES, acc, at + 8 * LANES);
        FloatVector a21 = FloatVector.fromArray(SPECIES, acc, at + 9 * LANES);
        FloatVector a22 = FloatVector.fromArray(SPECIES, acc, at + 10 * LANES);
        FloatVector a23 = FloatVector.fromArray(SPECIES, acc, at + 11 * LANES);
        FloatVector a30 = FloatVector.fromArray(SPECIES, acc, at + 12 * LANES);
        FloatVector a31 = FloatVector.fromArray(SPECIES, acc, at + 13 * LANES);
        FloatVector a32 = FloatVector.fromArray(SPECIES, acc, at + 14 * LANES);
        FloatVector a33 = FloatVector.fromArray(SPECIES, acc, at + 15 * LANES);
        long end = (long) vectors * LANES * Float.BYTES, step = (long) LANES * Float.BYTES;
        for (long k = 0; k < end; k += step) {
            FloatVector p0 = FloatVector.fromMemorySegment(SPECIES, x, x0 + k, ORDER);
            FloatVector p1 = FloatVector.fromMemorySegment(SPECIES, x, x1 + k, ORDER);
            FloatVector p2 = FloatVector.fromMemorySegment(SPECIES, x, x2 + k, ORDER);
            FloatVector p3 = FloatVector.fromMemorySegment(SPECIES, x, x3 + k, ORDER);
            FloatVector q0 = FloatVector.fromMemorySegment(SPECIES, w, w0 + k, ORDER);
            FloatVector q1 = FloatVector.fromMemorySegment(SPECIES, w, w1 + k, ORDER);
            FloatVector q2 = FloatVector.fromMemorySegment(SPECIES, w, w2 + k, ORDER);
            FloatVector q3 = FloatVector.fromMemorySegment(SPECIES, w, w3 + k, ORDER);
            a00 = p0.fma(q0, a00);
            a01 = p0.fma(q1, a01);
            a02 = p0.fma(q2, a02);
            a03 = p0.fma(q3, a03);
            a10 = p1.fma(q0, a10);
            a11 = p1.fma(q1, a11);
            a12 = p1.fma(q2, a12);
            a13 = p1.fma(q3, a13);
            a20 = p2.fma(q0, a20);
            a21 = p2.fma(q1, a21);
            a22 = p2.fma(q2, a22);
            a23 = p2.fma(q3, a23);
            a30 = p3.fma(q0, a30);
            a31 = p3.fma(q1, a31);
            a32 = p3.fma(q2, a32);
            a33 = p3.fma(q3, a33);
        }
        a00.intoArray(acc, at + 0 * LANES);
        a01.intoArray(acc, at + 1 * LANES);
        a02.intoArray(acc, at + 2 * LANES);
        a03.intoArray(acc, at + 3 * LANES);
        a10.intoArray(acc, at + 4 * LANES);
        a11.intoArray(acc, at + 5 * LANES);
        a12.intoArray(acc, at + 6 * LANES);
        a13.intoArray(acc, at + 7 * LANES);
        a20.intoArray(acc, at + 8 * LANES);
        a21.intoArray(acc, at + 9 * LANES);
        a22.intoArray(acc, at + 10 * LANES);
        a23.intoArray(acc, at + 11 * LANES);
        a30.intoArray(acc, at + 12 * LANES);
        a31.intoArray(acc, at + 13 * LANES);
        a32.intoArray(acc, at + 14 * LANES);
        a33.intoArray(acc, at + 15 * LANES);
    }

    /**
     * {@code sums[r*4 + c]}: the lanes of accumulator {@code (r, c)} added in lane order, then the
     * {@code tail} products past the last whole vector (from byte {@code tailAt} of the rows), in
     * scalar code: a masked copy of the loop made {@link #fourByFour} too large for C1 ("out of
     * virtual registers"), so it never reached C2 while the compilers were busy, and ran boxed.
     */
    static void finish(float[] acc, int at, MemorySegment x, long xAt, long xRow, int xRows, MemorySegment w,
                       long wAt, long wRow, int wRows, long tailAt, int tail, float[] sums) {
        for (int t = 0; t < ROWS * ROWS; t++) {
            float sum = 0;
            for (int l = at + t * LANES; l < at + (t + 1) * LANES; l++) {
                sum += acc[l];
            }
            long xr = xAt + Math.min(t / ROWS, xRows - 1) * xRow, wr = wAt + Math.min(t % ROWS, wRows - 1) * wRow;
            for (long k = tailAt; k < tailAt + (long) tail * Float.BYTES; k += Float.BYTES) {
                sum += x.get(Tensor.FLOAT, xr + k) * w.get(Tensor.FLOAT, wr + k);
            }
            sums[t] = sum;
        }
    }
}
