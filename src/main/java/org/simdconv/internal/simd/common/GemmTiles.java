package org.simdconv.internal.simd.common;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * The matrix product every pass of a 1x1 convolution and of a dense layer reduces to (the
 * batch-reduce GEMM of oneDNN's and LIBXSMM's kernels, in its simplest form),
 * <pre>
 *   C[i][v] = start[i][v] + sum_j A[i][j] B[j][v]      (i &lt; 8 rows, v the columns of one tile)
 * </pre>
 * with {@code A} packed eight rows at a time ({@code a[aAt + j*8 + i]}: the eight values of step
 * {@code j} side by side, broadcast one by one), {@code B} read as rows of a {@code MemorySegment}
 * and {@code C} written to one. Three vectors of columns by eight rows: 24 FMAs per step for three
 * loads and eight broadcasts (0.46 loads per FMA); 24 accumulators, three B vectors and a broadcast
 * take 28 of the 32 registers of AVX-512 ({@link Vectors#THIRTY_TWO_REGISTERS}).
 *
 * <p>Every output adds its terms in the order of {@code j}, in both tiles, so which tile computes a
 * value changes nothing. The start values come from a heap array and loads and stores are written
 * out, no helpers: with a {@code MemorySegment} for both, C2 gave up inlining the vector operations
 * of a tile and boxed every vector, 50 times slower.
 */
public final class GemmTiles {

    /** Rows of A and C per tile. */
    public static final int ROWS = 8;
    /** Column vectors of {@link #eightRowsThreeVectors}. */
    public static final int VECTORS = 3;

    private GemmTiles() {
    }

    /**
     * Eight rows by three vectors of columns: {@code out[i][v] = o[oAt + i*oRow + v*lanes ..] +
     * sum_j a[aAt + j*8 + i] * x[j][v]} for {@code j < depth}, B row {@code j} at byte {@code xAt +
     * j * xRow}, C row {@code i} at byte {@code outAt + i * outRow}. The start values come from an
     * array (a bias, zeros, or old outputs copied there), the sums go to the output itself.
     */
    public static void eightRowsThreeVectors(float[] a, int aAt, int depth, MemorySegment x, long xAt, long xRow,
                                             float[] o, int oAt, int oRow, MemorySegment out, long outAt, long outRow) {
        int o0 = oAt + 0 * oRow;
        FloatVector r0a = FloatVector.fromArray(SPECIES, o, o0), r0b = FloatVector.fromArray(SPECIES, o, o0 + LANES),
                r0c = FloatVector.fromArray(SPECIES, o, o0 + 2 * LANES);
        int o1 = oAt + 1 * oRow;
        FloatVector r1a = FloatVector.fromArray(SPECIES, o, o1), r1b = FloatVector.fromArray(SPECIES, o, o1 + LANES),
                r1c = FloatVector.fromArray(SPECIES, o, o1 + 2 * LANES);
        int o2 = oAt + 2 * oRow;
        FloatVector r2a = FloatVector.fromArray(SPECIES, o, o2), r2b = FloatVector.fromArray(SPECIES, o, o2 + LANES),
                r2c = FloatVector.fromArray(SPECIES, o, o2 + 2 * LANES);
        int o3 = oAt + 3 * oRow;
        FloatVector r3a = FloatVector.fromArray(SPECIES, o, o3), r3b = FloatVector.fromArray(SPECIES, o, o3 + LANES),
                r3c = FloatVector.fromArray(SPECIES, o, o3 + 2 * LANES);
        int o4 = oAt + 4 * oRow;
        FloatVector r4a = FloatVector.fromArray(SPECIES, o, o4), r4b = FloatVector.fromArray(SPECIES, o, o4 + LANES),
                r4c = FloatVector.fromArray(SPECIES, o, o4 + 2 * LANES);
        int o5 = oAt + 5 * oRow;
        FloatVector r5a = FloatVector.fromArray(SPECIES, o, o5), r5b = FloatVector.fromArray(SPECIES, o, o5 + LANES),
                r5c = FloatVector.fromArray(SPECIES, o, o5 + 2 * LANES);
        int o6 = oAt + 6 * oRow;
        FloatVector r6a = FloatVector.fromArray(SPECIES, o, o6), r6b = FloatVector.fromArray(SPECIES, o, o6 + LANES),
                r6c = FloatVector.fromArray(SPECIES, o, o6 + 2 * LANES);
        int o7 = oAt + 7 * oRow;
        FloatVector r7a = FloatVector.fromArray(SPECIES, o, o7), r7b = FloatVector.fromArray(SPECIES, o, o7 + LANES),
                r7c = FloatVector.fromArray(SPECIES, o, o7 + 2 * LANES);
        final long v1 = (long) LANES * Float.BYTES, v2 = 2 * v1;
        long xj = xAt;
        for (int j = 0, u = aAt; j < depth; j++, u += ROWS, xj += xRow) {
            FloatVector xa = FloatVector.fromMemorySegment(SPECIES, x, xj, ORDER);
            FloatVector xb = FloatVector.fromMemorySegment(SPECIES, x, xj + v1, ORDER);
            FloatVector xc = FloatVector.fromMemorySegment(SPECIES, x, xj + v2, ORDER);
            FloatVector s;
            s = FloatVector.broadcast(SPECIES, a[u + 0]);
            r0a = xa.fma(s, r0a);
            r0b = xb.fma(s, r0b);
            r0c = xc.fma(s, r0c);
            s = FloatVector.broadcast(SPECIES, a[u + 1]);
            r1a = xa.fma(s, r1a);
            r1b = xb.fma(s, r1b);
            r1c = xc.fma(s, r1c);
            s = FloatVector.broadcast(SPECIES, a[u + 2]);
            r2a = xa.fma(s, r2a);
            r2b = xb.fma(s, r2b);
            r2c = xc.fma(s, r2c);
            s = FloatVector.broadcast(SPECIES, a[u + 3]);
            r3a = xa.fma(s, r3a);
            r3b = xb.fma(s, r3b);
            r3c = xc.fma(s, r3c);
            s = FloatVector.broadcast(SPECIES, a[u + 4]);
            r4a = xa.fma(s, r4a);
            r4b = xb.fma(s, r4b);
            r4c = xc.fma(s, r4c);
            s = FloatVector.broadcast(SPECIES, a[u + 5]);
            r5a = xa.fma(s, r5a);
            r5b = xb.fma(s, r5b);
            r5c = xc.fma(s, r5c);
            s = FloatVector.broadcast(SPECIES, a[u + 6]);
            r6a = xa.fma(s, r6a);
            r6b = xb.fma(s, r6b);
            r6c = xc.fma(s, r6c);
            s = FloatVector.broadcast(SPECIES, a[u + 7]);
            r7a = xa.fma(s, r7a);
            r7b = xb.fma(s, r7b);
            r7c = xc.fma(s, r7c);
        }
        r0a.intoMemorySegment(out, outAt + 0 * outRow, ORDER);
        r0b.intoMemorySegment(out, outAt + 0 * outRow + v1, ORDER);
        r0c.intoMemorySegment(out, outAt + 0 * outRow + v2, ORDER);
        r1a.intoMemorySegment(out, outAt + 1 * outRow, ORDER);
        r1b.intoMemorySegment(out, outAt + 1 * outRow + v1, ORDER);
        r1c.intoMemorySegment(out, outAt + 1 * outRow + v2, ORDER);
        r2a.intoMemorySegment(out, outAt + 2 * outRow, ORDER);
        r2b.intoMemorySegment(out, outAt + 2 * outRow + v1, ORDER);
        r2c.intoMemorySegment(out, outAt + 2 * outRow + v2, ORDER);
        r3a.intoMemorySegment(out, outAt + 3 * outRow, ORDER);
        r3b.intoMemorySegment(out, outAt + 3 * outRow + v1, ORDER);
        r3c.intoMemorySegment(out, outAt + 3 * outRow + v2, ORDER);
        r4a.intoMemorySegment(out, outAt + 4 * outRow, ORDER);
        r4b.intoMemorySegment(out, outAt + 4 * outRow + v1, ORDER);
        r4c.intoMemorySegment(out, outAt + 4 * outRow + v2, ORDER);
        r5a.intoMemorySegment(out, outAt + 5 * outRow, ORDER);
        r5b.intoMemorySegment(out, outAt + 5 * outRow + v1, ORDER);
        r5c.intoMemorySegment(out, outAt + 5 * outRow + v2, ORDER);
        r6a.intoMemorySegment(out, outAt + 6 * outRow, ORDER);
        r6b.intoMemorySegment(out, outAt + 6 * outRow + v1, ORDER);
        r6c.intoMemorySegment(out, outAt + 6 * outRow + v2, ORDER);
        r7a.intoMemorySegment(out, outAt + 7 * outRow, ORDER);
        r7b.intoMemorySegment(out, outAt + 7 * outRow + v1, ORDER);
        r7c.intoMemorySegment(out, outAt + 7 * outRow + v2, ORDER);
    }

    /**
     * {@link #eightRowsThreeVectors} for one vector of columns, of which the first {@code pixels}
     * lanes (all of them from {@code lanes} on) are read and written: the columns past the last
     * three-vector tile. The mask is made here, not by the caller: a mask handed to this
     * method, which C2 does not inline, was an object per call (3.3 KB a call on the 1x1 layer).
     */
    public static void eightRowsOneVector(float[] a, int aAt, int depth, MemorySegment x, long xAt, long xRow,
                                          float[] o, int oAt, int oRow, MemorySegment out, long outAt, long outRow,
                                          int pixels) {
        VectorMask<Float> live = SPECIES.indexInRange(0, pixels);
        FloatVector r0 = FloatVector.fromArray(SPECIES, o, oAt + 0 * oRow);
        FloatVector r1 = FloatVector.fromArray(SPECIES, o, oAt + 1 * oRow);
        FloatVector r2 = FloatVector.fromArray(SPECIES, o, oAt + 2 * oRow);
        FloatVector r3 = FloatVector.fromArray(SPECIES, o, oAt + 3 * oRow);
        FloatVector r4 = FloatVector.fromArray(SPECIES, o, oAt + 4 * oRow);
        FloatVector r5 = FloatVector.fromArray(SPECIES, o, oAt + 5 * oRow);
        FloatVector r6 = FloatVector.fromArray(SPECIES, o, oAt + 6 * oRow);
        FloatVector r7 = FloatVector.fromArray(SPECIES, o, oAt + 7 * oRow);
        long xj = xAt;
        for (int j = 0, u = aAt; j < depth; j++, u += ROWS, xj += xRow) {
            FloatVector xa = FloatVector.fromMemorySegment(SPECIES, x, xj, ORDER, live);
            r0 = xa.fma(FloatVector.broadcast(SPECIES, a[u + 0]), r0);
            r1 = xa.fma(FloatVector.broadcast(SPECIES, a[u + 1]), r1);
            r2 = xa.fma(FloatVector.broadcast(SPECIES, a[u + 2]), r2);
            r3 = xa.fma(FloatVector.broadcast(SPECIES, a[u + 3]), r3);
            r4 = xa.fma(FloatVector.broadcast(SPECIES, a[u + 4]), r4);
            r5 = xa.fma(FloatVector.broadcast(SPECIES, a[u + 5]), r5);
            r6 = xa.fma(FloatVector.broadcast(SPECIES, a[u + 6]), r6);
            r7 = xa.fma(FloatVector.broadcast(SPECIES, a[u + 7]), r7);
        }
        r0.intoMemorySegment(out, outAt + 0 * outRow, ORDER, live);
        r1.intoMemorySegment(out, outAt + 1 * outRow, ORDER, live);
        r2.intoMemorySegment(out, outAt + 2 * outRow, ORDER, live);
        r3.intoMemorySegment(out, outAt + 3 * outRow, ORDER, live);
        r4.intoMemorySegment(out, outAt + 4 * outRow, ORDER, live);
        r5.intoMemorySegment(out, outAt + 5 * outRow, ORDER, live);
        r6.intoMemorySegment(out, outAt + 6 * outRow, ORDER, live);
        r7.intoMemorySegment(out, outAt + 7 * outRow, ORDER, live);
    }
}
