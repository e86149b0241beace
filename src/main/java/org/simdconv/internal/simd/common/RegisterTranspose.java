package org.simdconv.internal.simd.common;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import jdk.incubator.vector.FloatVector;

/**
 * Transposes a square of {@code lanes x lanes} floats in vector registers, the core of every layout
 * conversion between NCHW and the channel-blocked layout: {@code lanes} channel rows of
 * {@code lanes} pixels become {@code lanes} pixels of {@code lanes} channels, and back.
 *
 * <p>The square is loaded as {@code lanes} vectors {@code v[i]}; each of {@code log2(lanes)} rounds
 * replaces them by {@code v'[2k] = interleaveLow(v[k], v[k + lanes/2])} and {@code v'[2k+1] =
 * interleaveHigh(...)} (a perfect shuffle: every round moves one bit of the row index into the
 * column index), and after the last round {@code v[i]} is column {@code i}. Each interleave is one
 * two-vector {@code selectFrom} ({@code vpermt2ps} on AVX-512): four times faster than one gather
 * per pixel at 16 lanes, half again at 8.
 *
 * <p>The vectors are locals, one method per lane count: an array of vectors (or a loop over the
 * rounds with vectors in an array) made C2 box them, 20 times slower.
 */
public final class RegisterTranspose {

    /** Lane indices of {@code a.interleaveLow(b)}: a0 b0 a1 b1 ... (indices of b offset by the lanes). */
    private static final FloatVector LOW = interleave(0);
    /** Lane indices of {@code a.interleaveHigh(b)}: the upper halves of a and b, interleaved. */
    private static final FloatVector HIGH = interleave(LANES / 2);

    private RegisterTranspose() {
    }

    /**
     * {@code dst[dstAt + j*dstStride + i] = src[srcAt + i*srcStride + j]} for {@code i, j < lanes}:
     * rows of {@code src} (each {@code lanes} floats, {@code srcStride} apart) become columns of
     * {@code dst}. Float species have 4, 8 or 16 lanes ({@code VectorConv2d} refuses fewer than 4).
     */
    public static void transpose(float[] src, int srcAt, int srcStride, float[] dst, int dstAt, int dstStride) {
        if (LANES == 16) {
            sixteen(src, srcAt, srcStride, dst, dstAt, dstStride);
        } else if (LANES == 8) {
            eight(src, srcAt, srcStride, dst, dstAt, dstStride);
        } else {
            four(src, srcAt, srcStride, dst, dstAt, dstStride);
        }
    }

    private static FloatVector interleave(int from) {
        float[] index = new float[LANES];
        for (int i = 0; i < LANES / 2; i++) {
            index[2 * i] = from + i;
            index[2 * i + 1] = LANES + from + i;
        }
        return FloatVector.fromArray(SPECIES, index, 0);
    }


    private static void sixteen(float[] s, int at, int st, float[] d, int dAt, int dSt) {
        FloatVector v0 = FloatVector.fromArray(SPECIES, s, at);
        FloatVector v1 = FloatVector.fromArray(SPECIES, s, at + st);
        FloatVector v2 = FloatVector.fromArray(SPECIES, s, at + 2 * st);
        FloatVector v3 = FloatVector.fromArray(SPECIES, s, at + 3 * st);
        FloatVector v4 = FloatVector.fromArray(SPECIES, s, at + 4 * st);
        FloatVector v5 = FloatVector.fromArray(SPECIES, s, at + 5 * st);
        FloatVector v6 = FloatVector.fromArray(SPECIES, s, at + 6 * st);
        FloatVector v7 = FloatVector.fromArray(SPECIES, s, at + 7 * st);
        FloatVector v8 = FloatVector.fromArray(SPECIES, s, at + 8 * st);
        FloatVector v9 = FloatVector.fromArray(SPECIES, s, at + 9 * st);
        FloatVector v10 = FloatVector.fromArray(SPECIES, s, at + 10 * st);
        FloatVector v11 = FloatVector.fromArray(SPECIES, s, at + 11 * st);
        FloatVector v12 = FloatVector.fromArray(SPECIES, s, at + 12 * st);
        FloatVector v13 = FloatVector.fromArray(SPECIES, s, at + 13 * st);
        FloatVector v14 = FloatVector.fromArray(SPECIES, s, at + 14 * st);
        FloatVector v15 = FloatVector.fromArray(SPECIES, s, at + 15 * st);
        for (int round = 0; round < 4; round++) {
            FloatVector t0 = LOW.selectFrom(v0, v8), t1 = HIGH.selectFrom(v0, v8);
            FloatVector t2 = LOW.selectFrom(v1, v9), t3 = HIGH.selectFrom(v1, v9);
            FloatVector t4 = LOW.selectFrom(v2, v10), t5 = HIGH.selectFrom(v2, v10);
            FloatVector t6 = LOW.selectFrom(v3, v11), t7 = HIGH.selectFrom(v3, v11);
            FloatVector t8 = LOW.selectFrom(v4, v12), t9 = HIGH.selectFrom(v4, v12);
            FloatVector t10 = LOW.selectFrom(v5, v13), t11 = HIGH.selectFrom(v5, v13);
            FloatVector t12 = LOW.selectFrom(v6, v14), t13 = HIGH.selectFrom(v6, v14);
            FloatVector t14 = LOW.selectFrom(v7, v15), t15 = HIGH.selectFrom(v7, v15);
            v0 = t0; v1 = t1; v2 = t2; v3 = t3; v4 = t4; v5 = t5; v6 = t6; v7 = t7;
            v8 = t8; v9 = t9; v10 = t10; v11 = t11; v12 = t12; v13 = t13; v14 = t14; v15 = t15;
        }
        v0.intoArray(d, dAt); v1.intoArray(d, dAt + dSt); v2.intoArray(d, dAt + 2 * dSt);
        v3.intoArray(d, dAt + 3 * dSt); v4.intoArray(d, dAt + 4 * dSt); v5.intoArray(d, dAt + 5 * dSt);
        v6.intoArray(d, dAt + 6 * dSt); v7.intoArray(d, dAt + 7 * dSt); v8.intoArray(d, dAt + 8 * dSt);
        v9.intoArray(d, dAt + 9 * dSt); v10.intoArray(d, dAt + 10 * dSt); v11.intoArray(d, dAt + 11 * dSt);
        v12.intoArray(d, dAt + 12 * dSt); v13.intoArray(d, dAt + 13 * dSt); v14.intoArray(d, dAt + 14 * dSt);
        v15.intoArray(d, dAt + 15 * dSt);
    }

    private static void eight(float[] s, int at, int st, float[] d, int dAt, int dSt) {
        FloatVector v0 = FloatVector.fromArray(SPECIES, s, at);
        FloatVector v1 = FloatVector.fromArray(SPECIES, s, at + st);
        FloatVector v2 = FloatVector.fromArray(SPECIES, s, at + 2 * st);
        FloatVector v3 = FloatVector.fromArray(SPECIES, s, at + 3 * st);
        FloatVector v4 = FloatVector.fromArray(SPECIES, s, at + 4 * st);
        FloatVector v5 = FloatVector.fromArray(SPECIES, s, at + 5 * st);
        FloatVector v6 = FloatVector.fromArray(SPECIES, s, at + 6 * st);
        FloatVector v7 = FloatVector.fromArray(SPECIES, s, at + 7 * st);
        for (int round = 0; round < 3; round++) {
            FloatVector t0 = LOW.selectFrom(v0, v4), t1 = HIGH.selectFrom(v0, v4);
            FloatVector t2 = LOW.selectFrom(v1, v5), t3 = HIGH.selectFrom(v1, v5);
            FloatVector t4 = LOW.selectFrom(v2, v6), t5 = HIGH.selectFrom(v2, v6);
            FloatVector t6 = LOW.selectFrom(v3, v7), t7 = HIGH.selectFrom(v3, v7);
            v0 = t0; v1 = t1; v2 = t2; v3 = t3; v4 = t4; v5 = t5; v6 = t6; v7 = t7;
        }
        v0.intoArray(d, dAt); v1.intoArray(d, dAt + dSt); v2.intoArray(d, dAt + 2 * dSt);
        v3.intoArray(d, dAt + 3 * dSt); v4.intoArray(d, dAt + 4 * dSt); v5.intoArray(d, dAt + 5 * dSt);
        v6.intoArray(d, dAt + 6 * dSt); v7.intoArray(d, dAt + 7 * dSt);
    }

    private static void four(float[] s, int at, int st, float[] d, int dAt, int dSt) {
        FloatVector v0 = FloatVector.fromArray(SPECIES, s, at);
        FloatVector v1 = FloatVector.fromArray(SPECIES, s, at + st);
        FloatVector v2 = FloatVector.fromArray(SPECIES, s, at + 2 * st);
        FloatVector v3 = FloatVector.fromArray(SPECIES, s, at + 3 * st);
        for (int round = 0; round < 2; round++) {
            FloatVector t0 = LOW.selectFrom(v0, v2), t1 = HIGH.selectFrom(v0, v2);
            FloatVector t2 = LOW.selectFrom(v1, v3), t3 = HIGH.selectFrom(v1, v3);
            v0 = t0; v1 = t1; v2 = t2; v3 = t3;
        }
        v0.intoArray(d, dAt); v1.intoArray(d, dAt + dSt); v2.intoArray(d, dAt + 2 * dSt);
        v3.intoArray(d, dAt + 3 * dSt);
    }
}
