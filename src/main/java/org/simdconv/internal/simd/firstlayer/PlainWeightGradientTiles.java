package org.simdconv.internal.simd.firstlayer;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Register tiles of {@link PlainInputWeightGradient}: the weight gradient of a first layer (seed
 * 001, 17.3.5: the input cross-correlated with the output gradient), a few taps at a time, each
 * tap one input channel at one kernel position,
 * <pre>
 *   dW[tap][kb][0 .. lanes) += sum over pixels p of broadcast(x[c][p + (r, s)]) * dy[kb][p][0 .. lanes)
 * </pre>
 * over a rectangle of output pixels where every tap of the tile lies inside the input.
 *
 * <p>Why four blocks by six taps: per pixel four gradient vectors (64 filters at 16 lanes) and six
 * broadcasts feed 24 FMAs, 0.42 loads per FMA; 24 accumulators, four gradients and a broadcast
 * take 29 of AVX-512's 32 registers. The channel-blocked weight-gradient tile ran such a layer with
 * its three channels padded to a block, a quarter of its lanes idle and its staged input 16 times
 * the plain one, at 40% of the peak.
 *
 * <p>The input is the staged plain item ({@link PlainStaging}): consecutive output columns are one
 * float apart; {@code xRow} floats between output rows; tap {@code i} at offset {@code o_i} from a
 * pixel's index. The gradient is channel-blocked, read where it lies: pixel (row, column) of block
 * {@code b} at byte {@code dyAt + row*dyRow + column*lanes*4 + b*blockBytes}. Accumulators start
 * from and end in the partial gradient, tap {@code i} block {@code b} at {@code p0 + i*tapFloats +
 * b*lanes}; each sums its pixels row by row, in the same order in every tile.
 */
final class PlainWeightGradientTiles {

    /** Taps of the wide tile. */
    static final int TAPS = 6;
    private static final long PIXEL_BYTES = (long) LANES * Float.BYTES;

    private PlainWeightGradientTiles() {
    }

    static void fourBlocksSixTaps(float[] x, int xAt, int xRow, int o0, int o1, int o2, int o3, int o4, int o5,
                                  MemorySegment dy, long dyAt, long dyRow, long blockBytes, int rows, int columns,
                                  float[] partial, int p0, int tapFloats) {
        int p1 = p0 + tapFloats, p2 = p1 + tapFloats, p3 = p2 + tapFloats, p4 = p3 + tapFloats, p5 = p4 + tapFloats;
        FloatVector a0 = FloatVector.fromArray(SPECIES, partial, p0), b0 = FloatVector.fromArray(SPECIES, partial, p0 + LANES),
                c0 = FloatVector.fromArray(SPECIES, partial, p0 + 2 * LANES), d0 = FloatVector.fromArray(SPECIES, partial, p0 + 3 * LANES);
        FloatVector a1 = FloatVector.fromArray(SPECIES, partial, p1), b1 = FloatVector.fromArray(SPECIES, partial, p1 + LANES),
                c1 = FloatVector.fromArray(SPECIES, partial, p1 + 2 * LANES), d1 = FloatVector.fromArray(SPECIES, partial, p1 + 3 * LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, partial, p2), b2 = FloatVector.fromArray(SPECIES, partial, p2 + LANES),
                c2 = FloatVector.fromArray(SPECIES, partial, p2 + 2 * LANES), d2 = FloatVector.fromArray(SPECIES, partial, p2 + 3 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, partial, p3), b3 = FloatVector.fromArray(SPECIES, partial, p3 + LANES),
                c3 = FloatVector.fromArray(SPECIES, partial, p3 + 2 * LANES), d3 = FloatVector.fromArray(SPECIES, partial, p3 + 3 * LANES);
        FloatVector a4 = FloatVector.fromArray(SPECIES, partial, p4), b4 = FloatVector.fromArray(SPECIES, partial, p4 + LANES),
                c4 = FloatVector.fromArray(SPECIES, partial, p4 + 2 * LANES), d4 = FloatVector.fromArray(SPECIES, partial, p4 + 3 * LANES);
        FloatVector a5 = FloatVector.fromArray(SPECIES, partial, p5), b5 = FloatVector.fromArray(SPECIES, partial, p5 + LANES),
                c5 = FloatVector.fromArray(SPECIES, partial, p5 + 2 * LANES), d5 = FloatVector.fromArray(SPECIES, partial, p5 + 3 * LANES);
        for (int row = 0; row < rows; row++) {
            int xi = xAt + row * xRow;
            long d = dyAt + row * dyRow;
            for (int c = 0; c < columns; c++, xi++, d += PIXEL_BYTES) {
                FloatVector ga = FloatVector.fromMemorySegment(SPECIES, dy, d, ORDER);
                FloatVector gb = FloatVector.fromMemorySegment(SPECIES, dy, d + blockBytes, ORDER);
                FloatVector gc = FloatVector.fromMemorySegment(SPECIES, dy, d + 2 * blockBytes, ORDER);
                FloatVector gd = FloatVector.fromMemorySegment(SPECIES, dy, d + 3 * blockBytes, ORDER);
                FloatVector i = FloatVector.broadcast(SPECIES, x[xi + o0]);
                a0 = ga.fma(i, a0);
                b0 = gb.fma(i, b0);
                c0 = gc.fma(i, c0);
                d0 = gd.fma(i, d0);
                i = FloatVector.broadcast(SPECIES, x[xi + o1]);
                a1 = ga.fma(i, a1);
                b1 = gb.fma(i, b1);
                c1 = gc.fma(i, c1);
                d1 = gd.fma(i, d1);
                i = FloatVector.broadcast(SPECIES, x[xi + o2]);
                a2 = ga.fma(i, a2);
                b2 = gb.fma(i, b2);
                c2 = gc.fma(i, c2);
                d2 = gd.fma(i, d2);
                i = FloatVector.broadcast(SPECIES, x[xi + o3]);
                a3 = ga.fma(i, a3);
                b3 = gb.fma(i, b3);
                c3 = gc.fma(i, c3);
                d3 = gd.fma(i, d3);
                i = FloatVector.broadcast(SPECIES, x[xi + o4]);
                a4 = ga.fma(i, a4);
                b4 = gb.fma(i, b4);
                c4 = gc.fma(i, c4);
                d4 = gd.fma(i, d4);
                i = FloatVector.broadcast(SPECIES, x[xi + o5]);
                a5 = ga.fma(i, a5);
                b5 = gb.fma(i, b5);
                c5 = gc.fma(i, c5);
                d5 = gd.fma(i, d5);
            }
        }
        a0.intoArray(partial, p0);
        b0.intoArray(partial, p0 + LANES);
        c0.intoArray(partial, p0 + 2 * LANES);
        d0.intoArray(partial, p0 + 3 * LANES);
        a1.intoArray(partial, p1);
        b1.intoArray(partial, p1 + LANES);
        c1.intoArray(partial, p1 + 2 * LANES);
        d1.intoArray(partial, p1 + 3 * LANES);
        a2.intoArray(partial, p2);
        b2.intoArray(partial, p2 + LANES);
        c2.intoArray(partial, p2 + 2 * LANES);
        d2.intoArray(partial, p2 + 3 * LANES);
        a3.intoArray(partial, p3);
        b3.intoArray(partial, p3 + LANES);
        c3.intoArray(partial, p3 + 2 * LANES);
        d3.intoArray(partial, p3 + 3 * LANES);
        a4.intoArray(partial, p4);
        b4.intoArray(partial, p4 + LANES);
        c4.intoArray(partial, p4 + 2 * LANES);
        d4.intoArray(partial, p4 + 3 * LANES);
        a5.intoArray(partial, p5);
        b5.intoArray(partial, p5 + LANES);
        c5.intoArray(partial, p5 + 2 * LANES);
        d5.intoArray(partial, p5 + 3 * LANES);
    }

    /** Four blocks, one tap at offset {@code o}: the strips at the borders that the wide tiles leave, and leftover taps. */
    static void fourBlocksOneTap(float[] x, int xAt, int xRow, int o, MemorySegment dy, long dyAt, long dyRow,
                                 long blockBytes, int rows, int columns, float[] partial, int p0) {
        FloatVector a = FloatVector.fromArray(SPECIES, partial, p0), b = FloatVector.fromArray(SPECIES, partial, p0 + LANES),
                c = FloatVector.fromArray(SPECIES, partial, p0 + 2 * LANES),
                e = FloatVector.fromArray(SPECIES, partial, p0 + 3 * LANES);
        for (int row = 0; row < rows; row++) {
            int xi = xAt + row * xRow + o;
            long d = dyAt + row * dyRow;
            for (int col = 0; col < columns; col++, xi++, d += PIXEL_BYTES) {
                FloatVector i = FloatVector.broadcast(SPECIES, x[xi]);
                a = FloatVector.fromMemorySegment(SPECIES, dy, d, ORDER).fma(i, a);
                b = FloatVector.fromMemorySegment(SPECIES, dy, d + blockBytes, ORDER).fma(i, b);
                c = FloatVector.fromMemorySegment(SPECIES, dy, d + 2 * blockBytes, ORDER).fma(i, c);
                e = FloatVector.fromMemorySegment(SPECIES, dy, d + 3 * blockBytes, ORDER).fma(i, e);
            }
        }
        a.intoArray(partial, p0);
        b.intoArray(partial, p0 + LANES);
        c.intoArray(partial, p0 + 2 * LANES);
        e.intoArray(partial, p0 + 3 * LANES);
    }

    /**
     * {@link #fourBlocksSixTaps} for two blocks (32 filters at 16 lanes): 12 accumulators, still
     * enough independent sums to keep both FMA units busy through their latency.
     */
    static void twoBlocksSixTaps(float[] x, int xAt, int xRow, int o0, int o1, int o2, int o3, int o4, int o5,
                                 MemorySegment dy, long dyAt, long dyRow, long blockBytes, int rows, int columns,
                                 float[] partial, int p0, int tapFloats) {
        int p1 = p0 + tapFloats, p2 = p1 + tapFloats, p3 = p2 + tapFloats, p4 = p3 + tapFloats, p5 = p4 + tapFloats;
        FloatVector a0 = FloatVector.fromArray(SPECIES, partial, p0), b0 = FloatVector.fromArray(SPECIES, partial, p0 + LANES);
        FloatVector a1 = FloatVector.fromArray(SPECIES, partial, p1), b1 = FloatVector.fromArray(SPECIES, partial, p1 + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, partial, p2), b2 = FloatVector.fromArray(SPECIES, partial, p2 + LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, partial, p3), b3 = FloatVector.fromArray(SPECIES, partial, p3 + LANES);
        FloatVector a4 = FloatVector.fromArray(SPECIES, partial, p4), b4 = FloatVector.fromArray(SPECIES, partial, p4 + LANES);
        FloatVector a5 = FloatVector.fromArray(SPECIES, partial, p5), b5 = FloatVector.fromArray(SPECIES, partial, p5 + LANES);
        for (int row = 0; row < rows; row++) {
            int xi = xAt + row * xRow;
            long d = dyAt + row * dyRow;
            for (int c = 0; c < columns; c++, xi++, d += PIXEL_BYTES) {
                FloatVector ga = FloatVector.fromMemorySegment(SPECIES, dy, d, ORDER);
                FloatVector gb = FloatVector.fromMemorySegment(SPECIES, dy, d + blockBytes, ORDER);
                FloatVector i = FloatVector.broadcast(SPECIES, x[xi + o0]);
                a0 = ga.fma(i, a0);
                b0 = gb.fma(i, b0);
                i = FloatVector.broadcast(SPECIES, x[xi + o1]);
                a1 = ga.fma(i, a1);
                b1 = gb.fma(i, b1);
                i = FloatVector.broadcast(SPECIES, x[xi + o2]);
                a2 = ga.fma(i, a2);
                b2 = gb.fma(i, b2);
                i = FloatVector.broadcast(SPECIES, x[xi + o3]);
                a3 = ga.fma(i, a3);
                b3 = gb.fma(i, b3);
                i = FloatVector.broadcast(SPECIES, x[xi + o4]);
                a4 = ga.fma(i, a4);
                b4 = gb.fma(i, b4);
                i = FloatVector.broadcast(SPECIES, x[xi + o5]);
                a5 = ga.fma(i, a5);
                b5 = gb.fma(i, b5);
            }
        }
        a0.intoArray(partial, p0);
        b0.intoArray(partial, p0 + LANES);
        a1.intoArray(partial, p1);
        b1.intoArray(partial, p1 + LANES);
        a2.intoArray(partial, p2);
        b2.intoArray(partial, p2 + LANES);
        a3.intoArray(partial, p3);
        b3.intoArray(partial, p3 + LANES);
        a4.intoArray(partial, p4);
        b4.intoArray(partial, p4 + LANES);
        a5.intoArray(partial, p5);
        b5.intoArray(partial, p5 + LANES);
    }

    /** Two blocks, one tap at offset {@code o}: {@link #fourBlocksOneTap} for {@link #twoBlocksSixTaps}. */
    static void twoBlocksOneTap(float[] x, int xAt, int xRow, int o, MemorySegment dy, long dyAt, long dyRow,
                                long blockBytes, int rows, int columns, float[] partial, int p0) {
        FloatVector a = FloatVector.fromArray(SPECIES, partial, p0), b = FloatVector.fromArray(SPECIES, partial, p0 + LANES);
        for (int row = 0; row < rows; row++) {
            int xi = xAt + row * xRow + o;
            long d = dyAt + row * dyRow;
            for (int col = 0; col < columns; col++, xi++, d += PIXEL_BYTES) {
                FloatVector i = FloatVector.broadcast(SPECIES, x[xi]);
                a = FloatVector.fromMemorySegment(SPECIES, dy, d, ORDER).fma(i, a);
                b = FloatVector.fromMemorySegment(SPECIES, dy, d + blockBytes, ORDER).fma(i, b);
            }
        }
        a.intoArray(partial, p0);
        b.intoArray(partial, p0 + LANES);
    }

    /** Adds the sum of {@code pixels} consecutive pixels of the gradient plane at {@code at} to {@code sum[to .. to + lanes)}. */
    static void sum(MemorySegment dy, long at, int pixels, float[] sum, int to) {
        FloatVector s0 = FloatVector.zero(SPECIES), s1 = s0, s2 = s0, s3 = s0;
        int p = 0;
        for (; p + 4 <= pixels; p += 4, at += 4 * PIXEL_BYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(SPECIES, dy, at, ORDER));
            s1 = s1.add(FloatVector.fromMemorySegment(SPECIES, dy, at + PIXEL_BYTES, ORDER));
            s2 = s2.add(FloatVector.fromMemorySegment(SPECIES, dy, at + 2 * PIXEL_BYTES, ORDER));
            s3 = s3.add(FloatVector.fromMemorySegment(SPECIES, dy, at + 3 * PIXEL_BYTES, ORDER));
        }
        for (; p < pixels; p++, at += PIXEL_BYTES) {
            s0 = s0.add(FloatVector.fromMemorySegment(SPECIES, dy, at, ORDER));
        }
        s0.add(s1).add(s2.add(s3)).add(FloatVector.fromArray(SPECIES, sum, to)).intoArray(sum, to);
    }
}
