package org.simdconv.internal.simd.pointwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import org.simdconv.internal.simd.common.Vectors;

/**
 * Register tiles of {@link PointwiseKernel}. With a 1x1 kernel, stride 1 and no padding, the
 * forward formula {@code Z = W * A + b} of seed 001 (17.1.6) is a matrix product over pixels,
 * <pre>
 *   Z[k][p] = b[k] + sum_c W[k][c] A[c][p]
 * </pre>
 * backward-data (17.3.1 with a 1x1 kernel: the rotation is the identity, no padding) the product with
 * the transposed weights, {@code dA[c][p] = sum_k W[k][c] dZ[k][p]}, and backward-weights (17.3.5)
 * the product {@code dW[k][c] = sum_p dZ[k][p] A[c][p]} summed over the batch.
 *
 * <p>Why these tiles (32 vector registers, {@link Vectors#THIRTY_TWO_REGISTERS}):
 * <ul>
 *   <li>NCHW planes hold the pixels of a channel side by side, so the lanes are pixels:
 *       {@link #eightRowsThreeVectors} broadcasts eight weights and loads three input vectors per
 *       reduction step for 24 FMAs (0.46 loads per FMA; 24 accumulators, three inputs and a
 *       broadcast take 28 registers). Eight rows rather than four by six vectors, so that the
 *       input a tile streams (48 pixels of every channel, 48 KB for 256 channels) is half as much
 *       and is read from L2 eight times rather than sixteen.</li>
 *   <li>Channel-blocked tensors hold a block's channels side by side, so the lanes are channels:
 *       {@link #fourBlocksSixPixels} loads four weight vectors and broadcasts six staged input
 *       values per step, as the first-layer tile ({@code PlainInputTiles}).</li>
 *   <li>The weight gradient of blocked tensors is a sum of outer products, one per pixel:
 *       {@link #fourFiltersFourBlocks} broadcasts the gradient of four filters and loads the
 *       input of four blocks (64 channels) for 16 FMAs, and its accumulators are rows of the
 *       OIHW gradient itself, so nothing is summed across lanes or unpacked.</li>
 * </ul>
 * Every output adds its terms in the order of the reduction index, in every tile; the tails
 * ({@link #eightRowsOneVector}, {@link #oneBlockSixPixels}, {@link #oneBlockOnePixel},
 * {@link #fourFiltersOneBlock}) do the same, so which tile computes a value changes nothing.
 *
 * <p>The tiles take up their sums from a heap array of outputs and store them back there (the
 * caller fills it with the start values, or the old outputs, and copies it out): with 24 loads and
 * 24 stores on a {@code MemorySegment}, whose access checks make each a large graph, C2 gave up
 * inlining the vector operations of a tile and boxed every vector, 50 times slower. Loads and
 * stores are written out (no helpers) for the same reason (see {@code BlockedTiles}).
 */
final class PointwiseTiles {

    /** Rows (output channels of NCHW) of {@link #eightRowsThreeVectors}. */
    static final int ROWS = 8;
    /** Pixel vectors of {@link #eightRowsThreeVectors}. */
    static final int VECTORS = 3;
    /** Pixels of {@link #fourBlocksSixPixels}. */
    static final int PIXELS = 6;
    /** Output blocks of {@link #fourBlocksSixPixels}, filters and blocks of {@link #fourFiltersFourBlocks}. */
    static final int BLOCKS = 4;

    private PointwiseTiles() {
    }

    /**
     * Rows {@code i < 8} of an NCHW output, three vectors of pixels: {@code out[i][v] = o[oAt +
     * i*oRow + v*lanes ..] + sum_j a[aAt + j*8 + i] * x[j][v]}, input row {@code j} at byte
     * {@code xAt + j * xRow}, output row {@code i} at byte {@code outAt + i * outRow}. The start
     * values come from an array (the bias, or the old outputs copied there), the sums go to the
     * output itself.
     */
    static void eightRowsThreeVectors(float[] a, int aAt, int depth, MemorySegment x, long xAt, long xRow,
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
     * {@link #eightRowsThreeVectors} for one vector of pixels, of which the first {@code pixels}
     * lanes (all of them from {@code lanes} on) are read and written: the pixels a plane has past
     * its last three-vector tile. The mask is made here, not by the caller: a mask handed to this
     * method, which C2 does not inline, was an object per call (3.3 KB a call on the 1x1 layer).
     */
    static void eightRowsOneVector(float[] a, int aAt, int depth, MemorySegment x, long xAt, long xRow, float[] o,
                                   int oAt, int oRow, MemorySegment out, long outAt, long outRow, int pixels) {
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

    /**
     * Four output blocks by six pixels of a channel-blocked output: block {@code b} of pixel
     * {@code q}, at byte {@code outAt + b*outBlock + q*lanes*4}, is {@code o[oAt + b*oBlock +
     * q*lanes ..] + sum_j in[pixel q, channel j] * w[wAt + b*wBlock + j*wStep .. + lanes)}.
     * The staged input holds block {@code cb} of pixel {@code q} at {@code inAt + cb*inBlock +
     * q*lanes}. {@code depth} is a multiple of the lanes.
     */
    static void fourBlocksSixPixels(float[] in, int inAt, int inBlock, int depth, float[] w, int wAt, int wBlock,
                                    int wStep, float[] o, int oAt, int oBlock, MemorySegment out, long outAt,
                                    long outBlock) {
        int oa = oAt + 0 * oBlock;
        FloatVector a0 = FloatVector.fromArray(SPECIES, o, oa);
        FloatVector a1 = FloatVector.fromArray(SPECIES, o, oa + 1 * LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, o, oa + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, o, oa + 3 * LANES);
        FloatVector a4 = FloatVector.fromArray(SPECIES, o, oa + 4 * LANES);
        FloatVector a5 = FloatVector.fromArray(SPECIES, o, oa + 5 * LANES);
        int ob = oAt + 1 * oBlock;
        FloatVector b0 = FloatVector.fromArray(SPECIES, o, ob);
        FloatVector b1 = FloatVector.fromArray(SPECIES, o, ob + 1 * LANES);
        FloatVector b2 = FloatVector.fromArray(SPECIES, o, ob + 2 * LANES);
        FloatVector b3 = FloatVector.fromArray(SPECIES, o, ob + 3 * LANES);
        FloatVector b4 = FloatVector.fromArray(SPECIES, o, ob + 4 * LANES);
        FloatVector b5 = FloatVector.fromArray(SPECIES, o, ob + 5 * LANES);
        int oc = oAt + 2 * oBlock;
        FloatVector c0 = FloatVector.fromArray(SPECIES, o, oc);
        FloatVector c1 = FloatVector.fromArray(SPECIES, o, oc + 1 * LANES);
        FloatVector c2 = FloatVector.fromArray(SPECIES, o, oc + 2 * LANES);
        FloatVector c3 = FloatVector.fromArray(SPECIES, o, oc + 3 * LANES);
        FloatVector c4 = FloatVector.fromArray(SPECIES, o, oc + 4 * LANES);
        FloatVector c5 = FloatVector.fromArray(SPECIES, o, oc + 5 * LANES);
        int od = oAt + 3 * oBlock;
        FloatVector d0 = FloatVector.fromArray(SPECIES, o, od);
        FloatVector d1 = FloatVector.fromArray(SPECIES, o, od + 1 * LANES);
        FloatVector d2 = FloatVector.fromArray(SPECIES, o, od + 2 * LANES);
        FloatVector d3 = FloatVector.fromArray(SPECIES, o, od + 3 * LANES);
        FloatVector d4 = FloatVector.fromArray(SPECIES, o, od + 4 * LANES);
        FloatVector d5 = FloatVector.fromArray(SPECIES, o, od + 5 * LANES);
        for (int cb = 0, u = wAt; cb < depth / LANES; cb++) {
            int base = inAt + cb * inBlock;
            for (int l = 0; l < LANES; l++, u += wStep) {
                int i = base + l;
                FloatVector wa = FloatVector.fromArray(SPECIES, w, u);
                FloatVector wb = FloatVector.fromArray(SPECIES, w, u + wBlock);
                FloatVector wc = FloatVector.fromArray(SPECIES, w, u + 2 * wBlock);
                FloatVector wd = FloatVector.fromArray(SPECIES, w, u + 3 * wBlock);
                FloatVector s;
                s = FloatVector.broadcast(SPECIES, in[i]);
                a0 = wa.fma(s, a0);
                b0 = wb.fma(s, b0);
                c0 = wc.fma(s, c0);
                d0 = wd.fma(s, d0);
                s = FloatVector.broadcast(SPECIES, in[i + 1 * LANES]);
                a1 = wa.fma(s, a1);
                b1 = wb.fma(s, b1);
                c1 = wc.fma(s, c1);
                d1 = wd.fma(s, d1);
                s = FloatVector.broadcast(SPECIES, in[i + 2 * LANES]);
                a2 = wa.fma(s, a2);
                b2 = wb.fma(s, b2);
                c2 = wc.fma(s, c2);
                d2 = wd.fma(s, d2);
                s = FloatVector.broadcast(SPECIES, in[i + 3 * LANES]);
                a3 = wa.fma(s, a3);
                b3 = wb.fma(s, b3);
                c3 = wc.fma(s, c3);
                d3 = wd.fma(s, d3);
                s = FloatVector.broadcast(SPECIES, in[i + 4 * LANES]);
                a4 = wa.fma(s, a4);
                b4 = wb.fma(s, b4);
                c4 = wc.fma(s, c4);
                d4 = wd.fma(s, d4);
                s = FloatVector.broadcast(SPECIES, in[i + 5 * LANES]);
                a5 = wa.fma(s, a5);
                b5 = wb.fma(s, b5);
                c5 = wc.fma(s, c5);
                d5 = wd.fma(s, d5);
            }
        }
        a0.intoMemorySegment(out, outAt + 0 * outBlock, ORDER);
        a1.intoMemorySegment(out, outAt + 0 * outBlock + 1L * LANES * Float.BYTES, ORDER);
        a2.intoMemorySegment(out, outAt + 0 * outBlock + 2L * LANES * Float.BYTES, ORDER);
        a3.intoMemorySegment(out, outAt + 0 * outBlock + 3L * LANES * Float.BYTES, ORDER);
        a4.intoMemorySegment(out, outAt + 0 * outBlock + 4L * LANES * Float.BYTES, ORDER);
        a5.intoMemorySegment(out, outAt + 0 * outBlock + 5L * LANES * Float.BYTES, ORDER);
        b0.intoMemorySegment(out, outAt + 1 * outBlock, ORDER);
        b1.intoMemorySegment(out, outAt + 1 * outBlock + 1L * LANES * Float.BYTES, ORDER);
        b2.intoMemorySegment(out, outAt + 1 * outBlock + 2L * LANES * Float.BYTES, ORDER);
        b3.intoMemorySegment(out, outAt + 1 * outBlock + 3L * LANES * Float.BYTES, ORDER);
        b4.intoMemorySegment(out, outAt + 1 * outBlock + 4L * LANES * Float.BYTES, ORDER);
        b5.intoMemorySegment(out, outAt + 1 * outBlock + 5L * LANES * Float.BYTES, ORDER);
        c0.intoMemorySegment(out, outAt + 2 * outBlock, ORDER);
        c1.intoMemorySegment(out, outAt + 2 * outBlock + 1L * LANES * Float.BYTES, ORDER);
        c2.intoMemorySegment(out, outAt + 2 * outBlock + 2L * LANES * Float.BYTES, ORDER);
        c3.intoMemorySegment(out, outAt + 2 * outBlock + 3L * LANES * Float.BYTES, ORDER);
        c4.intoMemorySegment(out, outAt + 2 * outBlock + 4L * LANES * Float.BYTES, ORDER);
        c5.intoMemorySegment(out, outAt + 2 * outBlock + 5L * LANES * Float.BYTES, ORDER);
        d0.intoMemorySegment(out, outAt + 3 * outBlock, ORDER);
        d1.intoMemorySegment(out, outAt + 3 * outBlock + 1L * LANES * Float.BYTES, ORDER);
        d2.intoMemorySegment(out, outAt + 3 * outBlock + 2L * LANES * Float.BYTES, ORDER);
        d3.intoMemorySegment(out, outAt + 3 * outBlock + 3L * LANES * Float.BYTES, ORDER);
        d4.intoMemorySegment(out, outAt + 3 * outBlock + 4L * LANES * Float.BYTES, ORDER);
        d5.intoMemorySegment(out, outAt + 3 * outBlock + 5L * LANES * Float.BYTES, ORDER);
    }

    /** {@link #fourBlocksSixPixels} for one output block: the blocks left past the last four. */
    static void oneBlockSixPixels(float[] in, int inAt, int inBlock, int depth, float[] w, int wAt, int wStep,
                                  float[] o, int oAt, MemorySegment out, long outAt) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, o, oAt);
        FloatVector a1 = FloatVector.fromArray(SPECIES, o, oAt + 1 * LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, o, oAt + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, o, oAt + 3 * LANES);
        FloatVector a4 = FloatVector.fromArray(SPECIES, o, oAt + 4 * LANES);
        FloatVector a5 = FloatVector.fromArray(SPECIES, o, oAt + 5 * LANES);
        for (int cb = 0, u = wAt; cb < depth / LANES; cb++) {
            int base = inAt + cb * inBlock;
            for (int l = 0; l < LANES; l++, u += wStep) {
                int i = base + l;
                FloatVector wa = FloatVector.fromArray(SPECIES, w, u);
                a0 = wa.fma(FloatVector.broadcast(SPECIES, in[i]), a0);
                a1 = wa.fma(FloatVector.broadcast(SPECIES, in[i + 1 * LANES]), a1);
                a2 = wa.fma(FloatVector.broadcast(SPECIES, in[i + 2 * LANES]), a2);
                a3 = wa.fma(FloatVector.broadcast(SPECIES, in[i + 3 * LANES]), a3);
                a4 = wa.fma(FloatVector.broadcast(SPECIES, in[i + 4 * LANES]), a4);
                a5 = wa.fma(FloatVector.broadcast(SPECIES, in[i + 5 * LANES]), a5);
            }
        }
        a0.intoMemorySegment(out, outAt, ORDER);
        a1.intoMemorySegment(out, outAt + 1L * LANES * Float.BYTES, ORDER);
        a2.intoMemorySegment(out, outAt + 2L * LANES * Float.BYTES, ORDER);
        a3.intoMemorySegment(out, outAt + 3L * LANES * Float.BYTES, ORDER);
        a4.intoMemorySegment(out, outAt + 4L * LANES * Float.BYTES, ORDER);
        a5.intoMemorySegment(out, outAt + 5L * LANES * Float.BYTES, ORDER);
    }

    /** {@link #fourBlocksSixPixels} for one output block and one pixel: the pixels left past the last six. */
    static void oneBlockOnePixel(float[] in, int inAt, int inBlock, int depth, float[] w, int wAt, int wStep,
                                 float[] o, int oAt, MemorySegment out, long outAt) {
        FloatVector a = FloatVector.fromArray(SPECIES, o, oAt);
        for (int cb = 0, u = wAt; cb < depth / LANES; cb++) {
            int base = inAt + cb * inBlock;
            for (int l = 0; l < LANES; l++, u += wStep) {
                a = FloatVector.fromArray(SPECIES, w, u).fma(FloatVector.broadcast(SPECIES, in[base + l]), a);
            }
        }
        a.intoMemorySegment(out, outAt, ORDER);
    }

    /**
     * The weight gradient of four filters by four input blocks over {@code pixels} pixels, added
     * to rows of an OIHW gradient of a 1x1 kernel: {@code grad[gAt + i*row + b*lanes ..] += sum_p
     * g[gp + i] * x[xp + b*xBlock ..]}, {@code gp = gIn + p*lanes} in the staged output gradient
     * (the four filters' gradients of a pixel side by side in their block), {@code xp = xAt +
     * p*lanes*4} bytes into the blocked input, read in place (each block's lanes are its channels).
     */
    static void fourFiltersFourBlocks(float[] g, int gIn, MemorySegment x, long xAt, long xBlock, int pixels,
                                      float[] grad, int gAt, int row) {
        FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = FloatVector.zero(SPECIES), a11 = a10, a12 = a10, a13 = a10;
        FloatVector a20 = FloatVector.zero(SPECIES), a21 = a20, a22 = a20, a23 = a20;
        FloatVector a30 = FloatVector.zero(SPECIES), a31 = a30, a32 = a30, a33 = a30;
        final long step = (long) LANES * Float.BYTES;
        long xp = xAt;
        for (int p = 0, gp = gIn; p < pixels; p++, gp += LANES, xp += step) {
            FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, x, xp, ORDER);
            FloatVector x1 = FloatVector.fromMemorySegment(SPECIES, x, xp + xBlock, ORDER);
            FloatVector x2 = FloatVector.fromMemorySegment(SPECIES, x, xp + 2 * xBlock, ORDER);
            FloatVector x3 = FloatVector.fromMemorySegment(SPECIES, x, xp + 3 * xBlock, ORDER);
            FloatVector s;
            s = FloatVector.broadcast(SPECIES, g[gp]);
            a00 = x0.fma(s, a00);
            a01 = x1.fma(s, a01);
            a02 = x2.fma(s, a02);
            a03 = x3.fma(s, a03);
            s = FloatVector.broadcast(SPECIES, g[gp + 1]);
            a10 = x0.fma(s, a10);
            a11 = x1.fma(s, a11);
            a12 = x2.fma(s, a12);
            a13 = x3.fma(s, a13);
            s = FloatVector.broadcast(SPECIES, g[gp + 2]);
            a20 = x0.fma(s, a20);
            a21 = x1.fma(s, a21);
            a22 = x2.fma(s, a22);
            a23 = x3.fma(s, a23);
            s = FloatVector.broadcast(SPECIES, g[gp + 3]);
            a30 = x0.fma(s, a30);
            a31 = x1.fma(s, a31);
            a32 = x2.fma(s, a32);
            a33 = x3.fma(s, a33);
        }
        int r0 = gAt + 0 * row;
        a00.add(FloatVector.fromArray(SPECIES, grad, r0)).intoArray(grad, r0);
        a01.add(FloatVector.fromArray(SPECIES, grad, r0 + 1 * LANES)).intoArray(grad, r0 + 1 * LANES);
        a02.add(FloatVector.fromArray(SPECIES, grad, r0 + 2 * LANES)).intoArray(grad, r0 + 2 * LANES);
        a03.add(FloatVector.fromArray(SPECIES, grad, r0 + 3 * LANES)).intoArray(grad, r0 + 3 * LANES);
        int r1 = gAt + 1 * row;
        a10.add(FloatVector.fromArray(SPECIES, grad, r1)).intoArray(grad, r1);
        a11.add(FloatVector.fromArray(SPECIES, grad, r1 + 1 * LANES)).intoArray(grad, r1 + 1 * LANES);
        a12.add(FloatVector.fromArray(SPECIES, grad, r1 + 2 * LANES)).intoArray(grad, r1 + 2 * LANES);
        a13.add(FloatVector.fromArray(SPECIES, grad, r1 + 3 * LANES)).intoArray(grad, r1 + 3 * LANES);
        int r2 = gAt + 2 * row;
        a20.add(FloatVector.fromArray(SPECIES, grad, r2)).intoArray(grad, r2);
        a21.add(FloatVector.fromArray(SPECIES, grad, r2 + 1 * LANES)).intoArray(grad, r2 + 1 * LANES);
        a22.add(FloatVector.fromArray(SPECIES, grad, r2 + 2 * LANES)).intoArray(grad, r2 + 2 * LANES);
        a23.add(FloatVector.fromArray(SPECIES, grad, r2 + 3 * LANES)).intoArray(grad, r2 + 3 * LANES);
        int r3 = gAt + 3 * row;
        a30.add(FloatVector.fromArray(SPECIES, grad, r3)).intoArray(grad, r3);
        a31.add(FloatVector.fromArray(SPECIES, grad, r3 + 1 * LANES)).intoArray(grad, r3 + 1 * LANES);
        a32.add(FloatVector.fromArray(SPECIES, grad, r3 + 2 * LANES)).intoArray(grad, r3 + 2 * LANES);
        a33.add(FloatVector.fromArray(SPECIES, grad, r3 + 3 * LANES)).intoArray(grad, r3 + 3 * LANES);
    }

    /** {@link #fourFiltersFourBlocks} for one input block: the blocks left past the last four. */
    static void fourFiltersOneBlock(float[] g, int gIn, MemorySegment x, long xAt, int pixels, float[] grad, int gAt,
                                    int row) {
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        final long step = (long) LANES * Float.BYTES;
        long xp = xAt;
        for (int p = 0, gp = gIn; p < pixels; p++, gp += LANES, xp += step) {
            FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, x, xp, ORDER);
            a0 = x0.fma(FloatVector.broadcast(SPECIES, g[gp]), a0);
            a1 = x0.fma(FloatVector.broadcast(SPECIES, g[gp + 1]), a1);
            a2 = x0.fma(FloatVector.broadcast(SPECIES, g[gp + 2]), a2);
            a3 = x0.fma(FloatVector.broadcast(SPECIES, g[gp + 3]), a3);
        }
        a0.add(FloatVector.fromArray(SPECIES, grad, gAt)).intoArray(grad, gAt);
        a1.add(FloatVector.fromArray(SPECIES, grad, gAt + row)).intoArray(grad, gAt + row);
        a2.add(FloatVector.fromArray(SPECIES, grad, gAt + 2 * row)).intoArray(grad, gAt + 2 * row);
        a3.add(FloatVector.fromArray(SPECIES, grad, gAt + 3 * row)).intoArray(grad, gAt + 3 * row);
    }
}
