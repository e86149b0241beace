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
 * <p>The lanes of each accumulator are added in lane order, in scalar code, never with
 * {@code reduceLanes(ADD)}: the Vector API leaves that order open, and the compiled and interpreted
 * forms of one method do differ, which would change a result between the first call and the next.
 */
final class DotTiles {

    /** Rows of {@code x}, and rows of {@code w}, per tile. */
    static final int ROWS = 4;

    private DotTiles() {
    }

    /**
     * {@code sums[at + r*4 + c] = sum_{i < depth} x[r][i] * w[c][i]} for {@code r, c < 4}; row
     * {@code r} of {@code x} at byte {@code xAt + r * xRow}, of {@code w} at {@code wAt + c * wRow}.
     * With fewer than four rows ({@code xRows}, {@code wRows}) the last is read again in place of
     * the missing ones, whose sums the caller ignores. {@code lanes} is scratch of {@code 16 * LANES}.
     */
    static void fourByFour(MemorySegment x, long xAt, long xRow, int xRows, MemorySegment w, long wAt, long wRow,
                           int wRows, int depth, float[] lanes, float[] sums, int at) {
        long x0 = xAt, x1 = xAt + Math.min(1, xRows - 1) * xRow, x2 = xAt + Math.min(2, xRows - 1) * xRow,
                x3 = xAt + Math.min(3, xRows - 1) * xRow;
        long w0 = wAt, w1 = wAt + Math.min(1, wRows - 1) * wRow, w2 = wAt + Math.min(2, wRows - 1) * wRow,
                w3 = wAt + Math.min(3, wRows - 1) * wRow;
        FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        FloatVector a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        FloatVector a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        long full = (long) (depth / LANES) * LANES * Float.BYTES, step = (long) LANES * Float.BYTES;
        for (long k = 0; k < full; k += step) {
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
        a00.intoArray(lanes, 0 * LANES);
        a01.intoArray(lanes, 1 * LANES);
        a02.intoArray(lanes, 2 * LANES);
        a03.intoArray(lanes, 3 * LANES);
        a10.intoArray(lanes, 4 * LANES);
        a11.intoArray(lanes, 5 * LANES);
        a12.intoArray(lanes, 6 * LANES);
        a13.intoArray(lanes, 7 * LANES);
        a20.intoArray(lanes, 8 * LANES);
        a21.intoArray(lanes, 9 * LANES);
        a22.intoArray(lanes, 10 * LANES);
        a23.intoArray(lanes, 11 * LANES);
        a30.intoArray(lanes, 12 * LANES);
        a31.intoArray(lanes, 13 * LANES);
        a32.intoArray(lanes, 14 * LANES);
        a33.intoArray(lanes, 15 * LANES);
        int tail = depth % LANES;
        for (int t = 0; t < ROWS * ROWS; t++) {
            float sum = 0;
            for (int l = t * LANES; l < (t + 1) * LANES; l++) {
                sum += lanes[l];
            }
            // The last, partial vector's few products, in scalar code: a masked copy of the loop
            // made this method too large for C1 ("out of virtual registers"), so it never reached C2
            // while the compilers were busy, and ran with every vector boxed.
            long xr = xAt + Math.min(t / ROWS, xRows - 1) * xRow, wr = wAt + Math.min(t % ROWS, wRows - 1) * wRow;
            for (long k = full; k < full + (long) tail * Float.BYTES; k += Float.BYTES) {
                sum += x.get(Tensor.FLOAT, xr + k) * w.get(Tensor.FLOAT, wr + k);
            }
            sums[at + t] = sum;
        }
    }
}
