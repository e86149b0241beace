package org.simdconv.internal.simd.firstlayer;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.simdconv.internal.simd.common.Vectors;

/**
 * Register tiles of {@link PlainInputConvolution}: a first layer's few input channels, read as
 * plain planes, into channel-blocked output. Every tap is one input channel at one kernel position,
 * <pre>
 *   acc[kb][p] += broadcast(in[c][pixel p + (r, s)]) * w[c][r][s][kb][0 .. lanes)
 * </pre>
 * the forward formula {@code Z = W * A + b} of seed 001 (17.1.6) with one output channel per lane.
 *
 * <p>Why four blocks by six pixels: with one channel per tap there is no channel loop to amortise
 * a tap's set-up over, so the tile must do much work per tap. Four weight vectors (all 64 filters
 * of a ResNet stem at 16 lanes) and six broadcasts feed 24 FMAs, 0.42 loads per FMA; 24
 * accumulators, four weights and a broadcast take 29 of AVX-512's 32 registers, so the kernel runs
 * only where there are 32 ({@link Vectors#THIRTY_TWO_REGISTERS}). The channel-blocked tiles on such an input
 * (two blocks by four pixels, a loop of one channel per tap) ran at about a third of the peak.
 *
 * <p>The input is a staged heap array (broadcasts from arrays compile to one instruction, see
 * {@code BlockedTiles}), split into column phases so that consecutive output pixels are
 * {@code step} floats apart at any tap. Accumulators start from the bias. Every pixel adds its
 * taps in the order of the tap list, in every tile. Weights of a tap are at {@code w0 + tap *
 * blocks * lanes}; outputs are bytes: block {@code k} of pixel {@code p} at {@code out0 + k *
 * blockBytes + p * outStep}.
 */
final class PlainInputTiles {

    /** Pixels of the tiles. */
    static final int PIXELS = 6;

    private PlainInputTiles() {
    }

    /** Four blocks of output channels by six pixels {@code step} floats apart. */
    static void fourBlocksSixPixels(float[] in, int inAt, int step, int[] inOffsets, int[] taps, int count, float[] w,
                                    int w0, float[] bias, int b0, MemorySegment out, long out0, long blockBytes,
                                    long outStep) {
        FloatVector ba = FloatVector.fromArray(SPECIES, bias, b0), bb = FloatVector.fromArray(SPECIES, bias, b0 + LANES),
                bc = FloatVector.fromArray(SPECIES, bias, b0 + 2 * LANES),
                bd = FloatVector.fromArray(SPECIES, bias, b0 + 3 * LANES);
        FloatVector a0 = ba, a1 = ba, a2 = ba, a3 = ba, a4 = ba, a5 = ba;
        FloatVector b0v = bb, b1 = bb, b2 = bb, b3 = bb, b4 = bb, b5 = bb;
        FloatVector c0 = bc, c1 = bc, c2 = bc, c3 = bc, c4 = bc, c5 = bc;
        FloatVector d0 = bd, d1 = bd, d2 = bd, d3 = bd, d4 = bd, d5 = bd;
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t], u = w0 + taps[t] * 4 * LANES;
            FloatVector wa = FloatVector.fromArray(SPECIES, w, u), wb = FloatVector.fromArray(SPECIES, w, u + LANES),
                    wc = FloatVector.fromArray(SPECIES, w, u + 2 * LANES),
                    wd = FloatVector.fromArray(SPECIES, w, u + 3 * LANES);
            FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
            a0 = wa.fma(i, a0);
            b0v = wb.fma(i, b0v);
            c0 = wc.fma(i, c0);
            d0 = wd.fma(i, d0);
            i = FloatVector.broadcast(SPECIES, in[x + step]);
            a1 = wa.fma(i, a1);
            b1 = wb.fma(i, b1);
            c1 = wc.fma(i, c1);
            d1 = wd.fma(i, d1);
            i = FloatVector.broadcast(SPECIES, in[x + 2 * step]);
            a2 = wa.fma(i, a2);
            b2 = wb.fma(i, b2);
            c2 = wc.fma(i, c2);
            d2 = wd.fma(i, d2);
            i = FloatVector.broadcast(SPECIES, in[x + 3 * step]);
            a3 = wa.fma(i, a3);
            b3 = wb.fma(i, b3);
            c3 = wc.fma(i, c3);
            d3 = wd.fma(i, d3);
            i = FloatVector.broadcast(SPECIES, in[x + 4 * step]);
            a4 = wa.fma(i, a4);
            b4 = wb.fma(i, b4);
            c4 = wc.fma(i, c4);
            d4 = wd.fma(i, d4);
            i = FloatVector.broadcast(SPECIES, in[x + 5 * step]);
            a5 = wa.fma(i, a5);
            b5 = wb.fma(i, b5);
            c5 = wc.fma(i, c5);
            d5 = wd.fma(i, d5);
        }
        long o = out0;
        a0.intoMemorySegment(out, o, ORDER);
        a1.intoMemorySegment(out, o + outStep, ORDER);
        a2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        a4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        a5.intoMemorySegment(out, o + 5 * outStep, ORDER);
        o += blockBytes;
        b0v.intoMemorySegment(out, o, ORDER);
        b1.intoMemorySegment(out, o + outStep, ORDER);
        b2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        b3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        b4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        b5.intoMemorySegment(out, o + 5 * outStep, ORDER);
        o += blockBytes;
        c0.intoMemorySegment(out, o, ORDER);
        c1.intoMemorySegment(out, o + outStep, ORDER);
        c2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        c3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        c4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        c5.intoMemorySegment(out, o + 5 * outStep, ORDER);
        o += blockBytes;
        d0.intoMemorySegment(out, o, ORDER);
        d1.intoMemorySegment(out, o + outStep, ORDER);
        d2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        d3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        d4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        d5.intoMemorySegment(out, o + 5 * outStep, ORDER);
    }

    /**
     * {@link #fourBlocksSixPixels} for neighbouring pixels (one float apart), the row tiles: a copy
     * rather than a parameter, because with the step a constant C2 checks the six broadcasts' bounds
     * once and folds their offsets into the loads (13% faster on the ResNet stem).
     */
    static void fourBlocksSixPixelsDense(float[] in, int inAt, int[] inOffsets, int[] taps, int count, float[] w,
                                    int w0, float[] bias, int b0, MemorySegment out, long out0, long blockBytes,
                                    long outStep) {
        FloatVector ba = FloatVector.fromArray(SPECIES, bias, b0), bb = FloatVector.fromArray(SPECIES, bias, b0 + LANES),
                bc = FloatVector.fromArray(SPECIES, bias, b0 + 2 * LANES),
                bd = FloatVector.fromArray(SPECIES, bias, b0 + 3 * LANES);
        FloatVector a0 = ba, a1 = ba, a2 = ba, a3 = ba, a4 = ba, a5 = ba;
        FloatVector b0v = bb, b1 = bb, b2 = bb, b3 = bb, b4 = bb, b5 = bb;
        FloatVector c0 = bc, c1 = bc, c2 = bc, c3 = bc, c4 = bc, c5 = bc;
        FloatVector d0 = bd, d1 = bd, d2 = bd, d3 = bd, d4 = bd, d5 = bd;
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t], u = w0 + taps[t] * 4 * LANES;
            FloatVector wa = FloatVector.fromArray(SPECIES, w, u), wb = FloatVector.fromArray(SPECIES, w, u + LANES),
                    wc = FloatVector.fromArray(SPECIES, w, u + 2 * LANES),
                    wd = FloatVector.fromArray(SPECIES, w, u + 3 * LANES);
            FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
            a0 = wa.fma(i, a0);
            b0v = wb.fma(i, b0v);
            c0 = wc.fma(i, c0);
            d0 = wd.fma(i, d0);
            i = FloatVector.broadcast(SPECIES, in[x + 1]);
            a1 = wa.fma(i, a1);
            b1 = wb.fma(i, b1);
            c1 = wc.fma(i, c1);
            d1 = wd.fma(i, d1);
            i = FloatVector.broadcast(SPECIES, in[x + 2]);
            a2 = wa.fma(i, a2);
            b2 = wb.fma(i, b2);
            c2 = wc.fma(i, c2);
            d2 = wd.fma(i, d2);
            i = FloatVector.broadcast(SPECIES, in[x + 3]);
            a3 = wa.fma(i, a3);
            b3 = wb.fma(i, b3);
            c3 = wc.fma(i, c3);
            d3 = wd.fma(i, d3);
            i = FloatVector.broadcast(SPECIES, in[x + 4]);
            a4 = wa.fma(i, a4);
            b4 = wb.fma(i, b4);
            c4 = wc.fma(i, c4);
            d4 = wd.fma(i, d4);
            i = FloatVector.broadcast(SPECIES, in[x + 5]);
            a5 = wa.fma(i, a5);
            b5 = wb.fma(i, b5);
            c5 = wc.fma(i, c5);
            d5 = wd.fma(i, d5);
        }
        long o = out0;
        a0.intoMemorySegment(out, o, ORDER);
        a1.intoMemorySegment(out, o + outStep, ORDER);
        a2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        a4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        a5.intoMemorySegment(out, o + 5 * outStep, ORDER);
        o += blockBytes;
        b0v.intoMemorySegment(out, o, ORDER);
        b1.intoMemorySegment(out, o + outStep, ORDER);
        b2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        b3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        b4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        b5.intoMemorySegment(out, o + 5 * outStep, ORDER);
        o += blockBytes;
        c0.intoMemorySegment(out, o, ORDER);
        c1.intoMemorySegment(out, o + outStep, ORDER);
        c2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        c3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        c4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        c5.intoMemorySegment(out, o + 5 * outStep, ORDER);
        o += blockBytes;
        d0.intoMemorySegment(out, o, ORDER);
        d1.intoMemorySegment(out, o + outStep, ORDER);
        d2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        d3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        d4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        d5.intoMemorySegment(out, o + 5 * outStep, ORDER);
    }

    /**
     * Two blocks of output channels (a group of two: 32 filters at 16 lanes) by six pixels {@code
     * step} floats apart: 12 accumulators, enough independent sums to keep both FMA units busy
     * through their latency, where one block's six were not (half the peak on a 32-filter layer).
     */
    static void twoBlocksSixPixels(float[] in, int inAt, int step, int[] inOffsets, int[] taps, int count, float[] w,
                                   int w0, float[] bias, int b0, MemorySegment out, long out0, long blockBytes,
                                   long outStep) {
        FloatVector ba = FloatVector.fromArray(SPECIES, bias, b0), bb = FloatVector.fromArray(SPECIES, bias, b0 + LANES);
        FloatVector a0 = ba, a1 = ba, a2 = ba, a3 = ba, a4 = ba, a5 = ba;
        FloatVector b0v = bb, b1 = bb, b2 = bb, b3 = bb, b4 = bb, b5 = bb;
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t], u = w0 + taps[t] * 2 * LANES;
            FloatVector wa = FloatVector.fromArray(SPECIES, w, u), wb = FloatVector.fromArray(SPECIES, w, u + LANES);
            FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
            a0 = wa.fma(i, a0);
            b0v = wb.fma(i, b0v);
            i = FloatVector.broadcast(SPECIES, in[x + step]);
            a1 = wa.fma(i, a1);
            b1 = wb.fma(i, b1);
            i = FloatVector.broadcast(SPECIES, in[x + 2 * step]);
            a2 = wa.fma(i, a2);
            b2 = wb.fma(i, b2);
            i = FloatVector.broadcast(SPECIES, in[x + 3 * step]);
            a3 = wa.fma(i, a3);
            b3 = wb.fma(i, b3);
            i = FloatVector.broadcast(SPECIES, in[x + 4 * step]);
            a4 = wa.fma(i, a4);
            b4 = wb.fma(i, b4);
            i = FloatVector.broadcast(SPECIES, in[x + 5 * step]);
            a5 = wa.fma(i, a5);
            b5 = wb.fma(i, b5);
        }
        a0.intoMemorySegment(out, out0, ORDER);
        a1.intoMemorySegment(out, out0 + outStep, ORDER);
        a2.intoMemorySegment(out, out0 + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, out0 + 3 * outStep, ORDER);
        a4.intoMemorySegment(out, out0 + 4 * outStep, ORDER);
        a5.intoMemorySegment(out, out0 + 5 * outStep, ORDER);
        long o = out0 + blockBytes;
        b0v.intoMemorySegment(out, o, ORDER);
        b1.intoMemorySegment(out, o + outStep, ORDER);
        b2.intoMemorySegment(out, o + 2 * outStep, ORDER);
        b3.intoMemorySegment(out, o + 3 * outStep, ORDER);
        b4.intoMemorySegment(out, o + 4 * outStep, ORDER);
        b5.intoMemorySegment(out, o + 5 * outStep, ORDER);
    }

    /**
     * Block {@code k} of a group of {@code blocks} (fewer than four: the filters past the last
     * group of 64 at 16 lanes), six pixels: one weight vector and six broadcasts for six FMAs.
     */
    static void blockSixPixels(int blocks, int k, float[] in, int inAt, int step, int[] inOffsets, int[] taps,
                               int count, float[] w, int w0, float[] bias, int b0, MemorySegment out, long out0,
                               long outStep) {
        FloatVector start = FloatVector.fromArray(SPECIES, bias, b0 + k * LANES);
        FloatVector a0 = start, a1 = start, a2 = start, a3 = start, a4 = start, a5 = start;
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            FloatVector wk = FloatVector.fromArray(SPECIES, w, w0 + (taps[t] * blocks + k) * LANES);
            a0 = wk.fma(FloatVector.broadcast(SPECIES, in[x]), a0);
            a1 = wk.fma(FloatVector.broadcast(SPECIES, in[x + step]), a1);
            a2 = wk.fma(FloatVector.broadcast(SPECIES, in[x + 2 * step]), a2);
            a3 = wk.fma(FloatVector.broadcast(SPECIES, in[x + 3 * step]), a3);
            a4 = wk.fma(FloatVector.broadcast(SPECIES, in[x + 4 * step]), a4);
            a5 = wk.fma(FloatVector.broadcast(SPECIES, in[x + 5 * step]), a5);
        }
        a0.intoMemorySegment(out, out0, ORDER);
        a1.intoMemorySegment(out, out0 + outStep, ORDER);
        a2.intoMemorySegment(out, out0 + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, out0 + 3 * outStep, ORDER);
        a4.intoMemorySegment(out, out0 + 4 * outStep, ORDER);
        a5.intoMemorySegment(out, out0 + 5 * outStep, ORDER);
    }

    /**
     * {@code blocks} blocks of output channels (1 to 4), one pixel: the pixels the six-pixel tiles
     * leave, and the blocks past the last group of four.
     */
    static void blocksOnePixel(int blocks, float[] in, int inAt, int[] inOffsets, int[] taps, int count, float[] w,
                               int w0, float[] bias, int b0, MemorySegment out, long out0, long blockBytes) {
        for (int k = 0; k < blocks; k++) {
            FloatVector a = FloatVector.fromArray(SPECIES, bias, b0 + k * LANES);
            for (int t = 0; t < count; t++) {
                a = FloatVector.fromArray(SPECIES, w, w0 + (taps[t] * blocks + k) * LANES)
                        .fma(FloatVector.broadcast(SPECIES, in[inAt + inOffsets[t]]), a);
            }
            a.intoMemorySegment(out, out0 + k * blockBytes, ORDER);
        }
    }
}
