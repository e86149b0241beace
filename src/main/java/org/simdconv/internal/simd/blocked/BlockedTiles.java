package org.simdconv.internal.simd.blocked;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.simdconv.internal.simd.common.BlockedProblem;
import org.simdconv.internal.simd.common.Vectors;

/**
 * Register tiles of the blocked direct convolution ({@link BlockedProblem}): a few output pixels
 * times one or two blocks of output channels stay in accumulators for the whole reduction over the
 * taps (input-channel block, kernel row, kernel column) and the channels inside a block,
 * <pre>
 *   acc[kb][p] += broadcast(in[pixel p, tap, ci]) * w[kb][tap][ci][0 .. lanes)
 * </pre>
 * which is the forward formula {@code Z = W * A + b} of seed 001 (17.1.6) with one output channel
 * per lane.
 *
 * <p>Why two blocks by four pixels: per input channel the tile loads two weight vectors and
 * broadcasts four input values to feed eight FMAs, 0.75 loads per FMA, which two load ports
 * sustain next to two FMA pipes. Eight accumulators, two weights and one broadcast take 11 of the
 * 16 vector registers of AVX2. Wider tiles (2 x 6, 12 accumulators) load less per FMA on paper,
 * but C2 then spilled most accumulators to the stack inside the innermost loop, and ran at about
 * half the speed of this one. For the same reason the taps are one flat loop over precomputed offsets
 * ({@link BlockedTaps}) rather than three nested loops: fewer loop-carried values, so the
 * accumulators stay in registers. AVX-512 has 32 registers: there the main tile is two blocks by
 * eight pixels ({@link #twoBlocksEightPixelsGrouped}, 19 registers), which halves the weight loads
 * per FMA.
 *
 * <p>The input is read from a heap array: a scalar {@code MemorySegment.get} in this loop made C2
 * box every vector (gigabytes of garbage per call), while array reads compile to one
 * {@code vbroadcastss} each. The caller stages each batch item's input into the array once
 * ({@link BlockedStaging}); outputs and weights are vector loads, which stay cheap.
 *
 * <p>The accumulators start from the output (the caller writes the bias, or keeps the old values
 * when accumulating), so a reduction cut into chunks continues the same sum in the same order:
 * every output element is summed over (tap, ci) in the order of the tap list by every tile, and
 * results do not depend on how the work is split between threads.
 *
 * <p>Offsets: {@code inAt} is the array index of pixel 0 (tap offsets are added to it),
 * {@code step} the floats between consecutive pixels; weights are float indices; outputs are bytes.
 */
final class BlockedTiles {

    /** Output pixels of the wide tiles. */
    static final int PIXELS = 4;
    /** Output pixels of the widest tiles, used where there are 32 vector registers ({@link Vectors#THIRTY_TWO_REGISTERS}). */
    static final int WIDE_PIXELS = 8;

    private BlockedTiles() {
    }

    /**
     * Four consecutive pixels of a row (one vector apart in the staged input) of two blocks: the
     * main tile. The pixel step is a constant, so every broadcast is one instruction with a fixed
     * displacement; with the step as a variable it measured 30% slower.
     */
    static void twoBlocksFourPixels(float[] in, int inAt, BlockedTaps taps, float[] w, int w0, int w1,
                                    MemorySegment out, long out0, long out1, long outStep) {
        FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, out, out0, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, out, out0 + outStep, ORDER);
        FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 2 * outStep, ORDER);
        FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 3 * outStep, ORDER);
        FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, out, out1, ORDER);
        FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, out, out1 + outStep, ORDER);
        FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 2 * outStep, ORDER);
        FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 3 * outStep, ORDER);
        int[] inOffsets = taps.inOffsets(), weightOffsets = taps.weightOffsets(), channels = taps.channels();
        int count = taps.count();
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            int u = w0 + weightOffsets[t], v = w1 + weightOffsets[t];
            for (int end = x + channels[t]; x < end; x++, u += LANES, v += LANES) {
                FloatVector wu = FloatVector.fromArray(SPECIES, w, u);
                FloatVector wv = FloatVector.fromArray(SPECIES, w, v);
                FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
                a0 = wu.fma(i, a0);
                b0 = wv.fma(i, b0);
                i = FloatVector.broadcast(SPECIES, in[x + LANES]);
                a1 = wu.fma(i, a1);
                b1 = wv.fma(i, b1);
                i = FloatVector.broadcast(SPECIES, in[x + 2 * LANES]);
                a2 = wu.fma(i, a2);
                b2 = wv.fma(i, b2);
                i = FloatVector.broadcast(SPECIES, in[x + 3 * LANES]);
                a3 = wu.fma(i, a3);
                b3 = wv.fma(i, b3);
            }
        }
        a0.intoMemorySegment(out, out0, ORDER);
        a1.intoMemorySegment(out, out0 + outStep, ORDER);
        a2.intoMemorySegment(out, out0 + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, out0 + 3 * outStep, ORDER);
        b0.intoMemorySegment(out, out1, ORDER);
        b1.intoMemorySegment(out, out1 + outStep, ORDER);
        b2.intoMemorySegment(out, out1 + 2 * outStep, ORDER);
        b3.intoMemorySegment(out, out1 + 3 * outStep, ORDER);
    }

    /** Floats between two pixels of a staged input that holds four blocks per pixel. */
    private static final int GROUPED_STEP = BlockedDirectConvolution.GROUP * LANES;

    /**
     * {@link #twoBlocksFourPixels} on an input staged with {@link BlockedDirectConvolution#GROUP}
     * blocks per pixel, so that each tap's loop runs over four blocks of channels. A copy rather than
     * a parameter: the constant step is what keeps every broadcast one instruction.
     */
    static void twoBlocksFourPixelsGrouped(float[] in, int inAt, BlockedTaps taps, float[] w, int w0, int w1,
                                           MemorySegment out, long out0, long out1, long outStep) {
        FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, out, out0, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, out, out0 + outStep, ORDER);
        FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 2 * outStep, ORDER);
        FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 3 * outStep, ORDER);
        FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, out, out1, ORDER);
        FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, out, out1 + outStep, ORDER);
        FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 2 * outStep, ORDER);
        FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 3 * outStep, ORDER);
        int[] inOffsets = taps.inOffsets(), weightOffsets = taps.weightOffsets(), channels = taps.channels();
        int count = taps.count();
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            int u = w0 + weightOffsets[t], v = w1 + weightOffsets[t];
            for (int end = x + channels[t]; x < end; x++, u += LANES, v += LANES) {
                FloatVector wu = FloatVector.fromArray(SPECIES, w, u);
                FloatVector wv = FloatVector.fromArray(SPECIES, w, v);
                FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
                a0 = wu.fma(i, a0);
                b0 = wv.fma(i, b0);
                i = FloatVector.broadcast(SPECIES, in[x + GROUPED_STEP]);
                a1 = wu.fma(i, a1);
                b1 = wv.fma(i, b1);
                i = FloatVector.broadcast(SPECIES, in[x + 2 * GROUPED_STEP]);
                a2 = wu.fma(i, a2);
                b2 = wv.fma(i, b2);
                i = FloatVector.broadcast(SPECIES, in[x + 3 * GROUPED_STEP]);
                a3 = wu.fma(i, a3);
                b3 = wv.fma(i, b3);
            }
        }
        a0.intoMemorySegment(out, out0, ORDER);
        a1.intoMemorySegment(out, out0 + outStep, ORDER);
        a2.intoMemorySegment(out, out0 + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, out0 + 3 * outStep, ORDER);
        b0.intoMemorySegment(out, out1, ORDER);
        b1.intoMemorySegment(out, out1 + outStep, ORDER);
        b2.intoMemorySegment(out, out1 + 2 * outStep, ORDER);
        b3.intoMemorySegment(out, out1 + 3 * outStep, ORDER);
    }

    /**
     * Eight pixels of a row of two blocks, on an input staged four blocks per pixel (see
     * {@link #twoBlocksFourPixelsGrouped}): the main tile where there are 32 vector registers
     * ({@link Vectors#THIRTY_TWO_REGISTERS}). Sixteen accumulators, two weights and a broadcast take
     * 19 of them; per input channel two weight vectors and eight broadcasts feed sixteen FMAs, so
     * the weights, which stream from L2, are read half as often per FMA as by the four-pixel tile.
     * Loads and stores are written out, as in every tile, rather than called through helpers: C2
     * declined to inline such helpers ("callee uses too much stack", {@code NodeCountInliningCutoff}),
     * and every vector they returned or took was boxed, eight times slower.
     */
    static void twoBlocksEightPixelsGrouped(float[] in, int inAt, BlockedTaps taps, float[] w, int w0, int w1,
            MemorySegment out, long out0, long out1, long outStep) {
        FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, out, out0, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, out, out0 + outStep, ORDER);
        FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 2 * outStep, ORDER);
        FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 3 * outStep, ORDER);
        FloatVector a4 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 4 * outStep, ORDER);
        FloatVector a5 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 5 * outStep, ORDER);
        FloatVector a6 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 6 * outStep, ORDER);
        FloatVector a7 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 7 * outStep, ORDER);
        FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, out, out1, ORDER);
        FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, out, out1 + outStep, ORDER);
        FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 2 * outStep, ORDER);
        FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 3 * outStep, ORDER);
        FloatVector b4 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 4 * outStep, ORDER);
        FloatVector b5 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 5 * outStep, ORDER);
        FloatVector b6 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 6 * outStep, ORDER);
        FloatVector b7 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 7 * outStep, ORDER);
        int[] inOffsets = taps.inOffsets(), weightOffsets = taps.weightOffsets(), channels = taps.channels();
        int count = taps.count();
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            int u = w0 + weightOffsets[t], v = w1 + weightOffsets[t];
            for (int end = x + channels[t]; x < end; x++, u += LANES, v += LANES) {
                FloatVector wu = FloatVector.fromArray(SPECIES, w, u);
                FloatVector wv = FloatVector.fromArray(SPECIES, w, v);
                FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
                a0 = wu.fma(i, a0);
                b0 = wv.fma(i, b0);
                i = FloatVector.broadcast(SPECIES, in[x + GROUPED_STEP]);
                a1 = wu.fma(i, a1);
                b1 = wv.fma(i, b1);
                i = FloatVector.broadcast(SPECIES, in[x + 2 * GROUPED_STEP]);
                a2 = wu.fma(i, a2);
                b2 = wv.fma(i, b2);
                i = FloatVector.broadcast(SPECIES, in[x + 3 * GROUPED_STEP]);
                a3 = wu.fma(i, a3);
                b3 = wv.fma(i, b3);
                i = FloatVector.broadcast(SPECIES, in[x + 4 * GROUPED_STEP]);
                a4 = wu.fma(i, a4);
                b4 = wv.fma(i, b4);
                i = FloatVector.broadcast(SPECIES, in[x + 5 * GROUPED_STEP]);
                a5 = wu.fma(i, a5);
                b5 = wv.fma(i, b5);
                i = FloatVector.broadcast(SPECIES, in[x + 6 * GROUPED_STEP]);
                a6 = wu.fma(i, a6);
                b6 = wv.fma(i, b6);
                i = FloatVector.broadcast(SPECIES, in[x + 7 * GROUPED_STEP]);
                a7 = wu.fma(i, a7);
                b7 = wv.fma(i, b7);
            }
        }
        a0.intoMemorySegment(out, out0, ORDER);
        a1.intoMemorySegment(out, out0 + outStep, ORDER);
        a2.intoMemorySegment(out, out0 + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, out0 + 3 * outStep, ORDER);
        a4.intoMemorySegment(out, out0 + 4 * outStep, ORDER);
        a5.intoMemorySegment(out, out0 + 5 * outStep, ORDER);
        a6.intoMemorySegment(out, out0 + 6 * outStep, ORDER);
        a7.intoMemorySegment(out, out0 + 7 * outStep, ORDER);
        b0.intoMemorySegment(out, out1, ORDER);
        b1.intoMemorySegment(out, out1 + outStep, ORDER);
        b2.intoMemorySegment(out, out1 + 2 * outStep, ORDER);
        b3.intoMemorySegment(out, out1 + 3 * outStep, ORDER);
        b4.intoMemorySegment(out, out1 + 4 * outStep, ORDER);
        b5.intoMemorySegment(out, out1 + 5 * outStep, ORDER);
        b6.intoMemorySegment(out, out1 + 6 * outStep, ORDER);
        b7.intoMemorySegment(out, out1 + 7 * outStep, ORDER);
    }

    /**
     * {@link #twoBlocksEightPixelsGrouped} for pixels {@code step} floats apart: an input staged one
     * or two blocks per pixel. Sixteen accumulators rather than the four-pixel tile's eight, which
     * are too few to cover the FMA latency on two units.
     */
    static void twoBlocksEightPixelsStrided(float[] in, int inAt, int step, BlockedTaps taps, float[] w, int w0, int w1,
            MemorySegment out, long out0, long out1, long outStep) {
        FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, out, out0, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, out, out0 + outStep, ORDER);
        FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 2 * outStep, ORDER);
        FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 3 * outStep, ORDER);
        FloatVector a4 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 4 * outStep, ORDER);
        FloatVector a5 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 5 * outStep, ORDER);
        FloatVector a6 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 6 * outStep, ORDER);
        FloatVector a7 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 7 * outStep, ORDER);
        FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, out, out1, ORDER);
        FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, out, out1 + outStep, ORDER);
        FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 2 * outStep, ORDER);
        FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 3 * outStep, ORDER);
        FloatVector b4 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 4 * outStep, ORDER);
        FloatVector b5 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 5 * outStep, ORDER);
        FloatVector b6 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 6 * outStep, ORDER);
        FloatVector b7 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 7 * outStep, ORDER);
        int[] inOffsets = taps.inOffsets(), weightOffsets = taps.weightOffsets(), channels = taps.channels();
        int count = taps.count();
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            int u = w0 + weightOffsets[t], v = w1 + weightOffsets[t];
            for (int end = x + channels[t]; x < end; x++, u += LANES, v += LANES) {
                FloatVector wu = FloatVector.fromArray(SPECIES, w, u);
                FloatVector wv = FloatVector.fromArray(SPECIES, w, v);
                FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
                a0 = wu.fma(i, a0);
                b0 = wv.fma(i, b0);
                i = FloatVector.broadcast(SPECIES, in[x + step]);
                a1 = wu.fma(i, a1);
                b1 = wv.fma(i, b1);
                i = FloatVector.broadcast(SPECIES, in[x + 2 * step]);
                a2 = wu.fma(i, a2);
                b2 = wv.fma(i, b2);
                i = FloatVector.broadcast(SPECIES, in[x + 3 * step]);
                a3 = wu.fma(i, a3);
                b3 = wv.fma(i, b3);
                i = FloatVector.broadcast(SPECIES, in[x + 4 * step]);
                a4 = wu.fma(i, a4);
                b4 = wv.fma(i, b4);
                i = FloatVector.broadcast(SPECIES, in[x + 5 * step]);
                a5 = wu.fma(i, a5);
                b5 = wv.fma(i, b5);
                i = FloatVector.broadcast(SPECIES, in[x + 6 * step]);
                a6 = wu.fma(i, a6);
                b6 = wv.fma(i, b6);
                i = FloatVector.broadcast(SPECIES, in[x + 7 * step]);
                a7 = wu.fma(i, a7);
                b7 = wv.fma(i, b7);
            }
        }
        a0.intoMemorySegment(out, out0, ORDER);
        a1.intoMemorySegment(out, out0 + outStep, ORDER);
        a2.intoMemorySegment(out, out0 + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, out0 + 3 * outStep, ORDER);
        a4.intoMemorySegment(out, out0 + 4 * outStep, ORDER);
        a5.intoMemorySegment(out, out0 + 5 * outStep, ORDER);
        a6.intoMemorySegment(out, out0 + 6 * outStep, ORDER);
        a7.intoMemorySegment(out, out0 + 7 * outStep, ORDER);
        b0.intoMemorySegment(out, out1, ORDER);
        b1.intoMemorySegment(out, out1 + outStep, ORDER);
        b2.intoMemorySegment(out, out1 + 2 * outStep, ORDER);
        b3.intoMemorySegment(out, out1 + 3 * outStep, ORDER);
        b4.intoMemorySegment(out, out1 + 4 * outStep, ORDER);
        b5.intoMemorySegment(out, out1 + 5 * outStep, ORDER);
        b6.intoMemorySegment(out, out1 + 6 * outStep, ORDER);
        b7.intoMemorySegment(out, out1 + 7 * outStep, ORDER);
    }

    /** The same tile for pixels {@code step} floats apart: four rows of a border column. */
    static void twoBlocksFourPixelsStrided(float[] in, int inAt, int step, BlockedTaps taps, float[] w, int w0, int w1,
                                    MemorySegment out, long out0, long out1, long outStep) {
        FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, out, out0, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, out, out0 + outStep, ORDER);
        FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 2 * outStep, ORDER);
        FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 3 * outStep, ORDER);
        FloatVector b0 = FloatVector.fromMemorySegment(SPECIES, out, out1, ORDER);
        FloatVector b1 = FloatVector.fromMemorySegment(SPECIES, out, out1 + outStep, ORDER);
        FloatVector b2 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 2 * outStep, ORDER);
        FloatVector b3 = FloatVector.fromMemorySegment(SPECIES, out, out1 + 3 * outStep, ORDER);
        int[] inOffsets = taps.inOffsets(), weightOffsets = taps.weightOffsets(), channels = taps.channels();
        int count = taps.count();
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            int u = w0 + weightOffsets[t], v = w1 + weightOffsets[t];
            for (int end = x + channels[t]; x < end; x++, u += LANES, v += LANES) {
                FloatVector wu = FloatVector.fromArray(SPECIES, w, u);
                FloatVector wv = FloatVector.fromArray(SPECIES, w, v);
                FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
                a0 = wu.fma(i, a0);
                b0 = wv.fma(i, b0);
                i = FloatVector.broadcast(SPECIES, in[x + step]);
                a1 = wu.fma(i, a1);
                b1 = wv.fma(i, b1);
                i = FloatVector.broadcast(SPECIES, in[x + 2 * step]);
                a2 = wu.fma(i, a2);
                b2 = wv.fma(i, b2);
                i = FloatVector.broadcast(SPECIES, in[x + 3 * step]);
                a3 = wu.fma(i, a3);
                b3 = wv.fma(i, b3);
            }
        }
        a0.intoMemorySegment(out, out0, ORDER);
        a1.intoMemorySegment(out, out0 + outStep, ORDER);
        a2.intoMemorySegment(out, out0 + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, out0 + 3 * outStep, ORDER);
        b0.intoMemorySegment(out, out1, ORDER);
        b1.intoMemorySegment(out, out1 + outStep, ORDER);
        b2.intoMemorySegment(out, out1 + 2 * outStep, ORDER);
        b3.intoMemorySegment(out, out1 + 3 * outStep, ORDER);
    }

    /** One block of output channels, four pixels: for a block without a partner in its group. */
    static void oneBlockFourPixels(float[] in, int inAt, int step, BlockedTaps taps, float[] w, int w0,
                                   MemorySegment out, long out0, long outStep) {
        FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, out, out0, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, out, out0 + outStep, ORDER);
        FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 2 * outStep, ORDER);
        FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, out, out0 + 3 * outStep, ORDER);
        int[] inOffsets = taps.inOffsets(), weightOffsets = taps.weightOffsets(), channels = taps.channels();
        int count = taps.count();
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            int u = w0 + weightOffsets[t];
            for (int end = x + channels[t]; x < end; x++, u += LANES) {
                FloatVector wu = FloatVector.fromArray(SPECIES, w, u);
                a0 = wu.fma(FloatVector.broadcast(SPECIES, in[x]), a0);
                a1 = wu.fma(FloatVector.broadcast(SPECIES, in[x + step]), a1);
                a2 = wu.fma(FloatVector.broadcast(SPECIES, in[x + 2 * step]), a2);
                a3 = wu.fma(FloatVector.broadcast(SPECIES, in[x + 3 * step]), a3);
            }
        }
        a0.intoMemorySegment(out, out0, ORDER);
        a1.intoMemorySegment(out, out0 + outStep, ORDER);
        a2.intoMemorySegment(out, out0 + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, out0 + 3 * outStep, ORDER);
    }

    /** Two blocks, one pixel: corners and the pixels that do not fill a wide tile. */
    static void twoBlocksOnePixel(float[] in, int inAt, BlockedTaps taps, float[] w, int w0, int w1,
                                  MemorySegment out, long out0, long out1) {
        FloatVector a = FloatVector.fromMemorySegment(SPECIES, out, out0, ORDER);
        FloatVector b = FloatVector.fromMemorySegment(SPECIES, out, out1, ORDER);
        int[] inOffsets = taps.inOffsets(), weightOffsets = taps.weightOffsets(), channels = taps.channels();
        int count = taps.count();
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            int u = w0 + weightOffsets[t], v = w1 + weightOffsets[t];
            for (int end = x + channels[t]; x < end; x++, u += LANES, v += LANES) {
                FloatVector i = FloatVector.broadcast(SPECIES, in[x]);
                a = FloatVector.fromArray(SPECIES, w, u).fma(i, a);
                b = FloatVector.fromArray(SPECIES, w, v).fma(i, b);
            }
        }
        a.intoMemorySegment(out, out0, ORDER);
        b.intoMemorySegment(out, out1, ORDER);
    }

    static void oneBlockOnePixel(float[] in, int inAt, BlockedTaps taps, float[] w, int w0, MemorySegment out,
                                 long out0) {
        FloatVector a = FloatVector.fromMemorySegment(SPECIES, out, out0, ORDER);
        int[] inOffsets = taps.inOffsets(), weightOffsets = taps.weightOffsets(), channels = taps.channels();
        int count = taps.count();
        for (int t = 0; t < count; t++) {
            int x = inAt + inOffsets[t];
            int u = w0 + weightOffsets[t];
            for (int end = x + channels[t]; x < end; x++, u += LANES) {
                a = FloatVector.fromArray(SPECIES, w, u).fma(FloatVector.broadcast(SPECIES, in[x]), a);
            }
        }
        a.intoMemorySegment(out, out0, ORDER);
    }


}
