package org.simdconv.internal.simd.pointwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.simdconv.internal.simd.common.Vectors;

/**
 * Register tiles of {@link PointwiseKernel} (with {@code GemmTiles}, shared with the dense layers). With a 1x1 kernel, stride 1 and no padding, the
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
 *       the shared GEMM tile ({@code GemmTiles.eightRowsThreeVectors}) broadcasts eight weights
 *       and loads three input vectors per reduction step for 24 FMAs. Eight rows rather than four
 *       by six vectors, so that the
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
 * ({@link #oneBlockSixPixels}, {@link #oneBlockOnePixel},
 * {@link #fourFiltersOneBlock}) do the same, so which tile computes a value changes nothing.
 *
 * <p>The tiles take up their sums from a heap array of outputs and store them back there (the
 * caller fills it with the start values, or the old outputs, and copies it out): with 24 loads and
 * 24 stores on a {@code MemorySegment}, whose access checks make each a large graph, C2 gave up
 * inlining the vector operations of a tile and boxed every vector, 50 times slower. Loads and
 * stores are written out (no helpers) for the same reason (see {@code BlockedTiles}).
 */
final class PointwiseTiles {

    /** Pixels of {@link #fourBlocksSixPixels}. */
    static final int PIXELS = 6;
    /** Output blocks of {@link #fourBlocksSixPixels}, filters and blocks of {@link #fourFiltersFourBlocks}. */
    static final int BLOCKS = 4;

    private PointwiseTiles() {
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
