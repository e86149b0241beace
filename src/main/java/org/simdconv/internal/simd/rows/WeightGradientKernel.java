package org.simdconv.internal.simd.rows;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Backward-weights, vectorised along the output rows (seed 002: {@code dW = A * dilate(dZ)}, read
 * without building the dilated gradient):
 * <pre>
 *   dW[k][c][t] += sum over oh, ow of dZ[k][oh][ow] * packed[c][oh*strideH*rowLength + tapOffset[t] + ow]
 * </pre>
 * The main tile ({@link #fourChannelsTwoTaps}) keeps four output channels times two taps in eight
 * accumulators while it sweeps a plane: per vector of columns, four gradient loads and two input
 * loads feed eight FMAs, where one (channel, tap) alone needs two loads per FMA. A single output
 * channel takes four taps at a time ({@link #oneChannelFourTaps}), the last taps one at a time.
 *
 * <p>The sums are kept lane by lane ({@code partial[(k, c, t) * lanes + lane]}) across every batch
 * item of a task, and added across the lanes once, at the end ({@link #laneSum}): on small planes
 * (the seed's 11 to 26 columns, one or two vectors a row) a horizontal sum after each item's sweep
 * cost more than the sweep. Every tile adds each (channel, tap) in the same order, so the tile a
 * weight falls in never changes its value.
 *
 * <p>The gradient is read from a heap copy of the batch item's planes (one bulk copy, {@code lanes}
 * zeros after the last plane), the input from its packed planes ({@link PackedPlanes}, whose rows
 * have room for a vector past the last column). The last vector of a row therefore reads on past
 * the row, and the lanes past it are cleared in both operands with a bitwise AND, so that they add
 * exactly zero (clearing one operand only would turn an infinite input into NaN: {@code 0 * Inf}).
 * Masked loads are not used: on AVX2 they are not intrinsified and C2 boxed every one.
 */
final class WeightGradientKernel {

    private static final VectorSpecies<Integer> BITS = SPECIES.withLanes(int.class);
    /** {@code lanes} all-ones words, then {@code lanes} zero words: the AND mask of a tail of {@code rest} lanes starts at {@code lanes - rest}. */
    private static final int[] TAIL_BITS = new int[2 * LANES];

    static {
        java.util.Arrays.fill(TAIL_BITS, 0, LANES, -1);
    }

    private WeightGradientKernel() {
    }

    /** The AND mask that keeps the first {@code rest} lanes of a vector (all of them when {@code rest} is 0). */
    private static IntVector keep(int rest) {
        return IntVector.fromArray(BITS, TAIL_BITS, rest == 0 ? 0 : LANES - rest);
    }



    /**
     * Adds one batch item's sums for taps {@code tap0} and {@code tap1} of four consecutive output
     * channels (gradient planes {@code gradStride} floats apart in {@code grad}, from {@code gradAt})
     * and one input channel (packed at float {@code channelOffset}) to
     * {@code partial[at + j*channelStride + i*lanes ...]} for channel {@code j < 4} and tap {@code i < 2}.
     */
    static void fourChannelsTwoTaps(MemorySegment packed, long channelOffset, long rowStride, int tap0, int tap1,
                                    float[] grad, int gradAt, int gradStride, int outH, int outW, float[] partial,
                                    int at, int channelStride) {
        int p1 = at + channelStride, p2 = at + 2 * channelStride, p3 = at + 3 * channelStride;
        FloatVector a00 = FloatVector.fromArray(SPECIES, partial, at);
        FloatVector a01 = FloatVector.fromArray(SPECIES, partial, at + LANES);
        FloatVector a10 = FloatVector.fromArray(SPECIES, partial, p1);
        FloatVector a11 = FloatVector.fromArray(SPECIES, partial, p1 + LANES);
        FloatVector a20 = FloatVector.fromArray(SPECIES, partial, p2);
        FloatVector a21 = FloatVector.fromArray(SPECIES, partial, p2 + LANES);
        FloatVector a30 = FloatVector.fromArray(SPECIES, partial, p3);
        FloatVector a31 = FloatVector.fromArray(SPECIES, partial, p3 + LANES);
        int full = outW - outW % LANES;
        IntVector keep = keep(outW - full);
        // The tail repeats the body with the lanes past the row cleared: no vector passes through a
        // conditional expression (C2 would box it).
        for (int oh = 0; oh < outH; oh++) {
            int g = gradAt + oh * outW;
            long x = channelOffset + oh * rowStride;
            for (int ow = 0; ow < full; ow += LANES) {
                FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, packed, (x + tap0 + ow) * Float.BYTES, ORDER);
                FloatVector x1 = FloatVector.fromMemorySegment(SPECIES, packed, (x + tap1 + ow) * Float.BYTES, ORDER);
                FloatVector d0 = FloatVector.fromArray(SPECIES, grad, g + ow);
                FloatVector d1 = FloatVector.fromArray(SPECIES, grad, g + ow + gradStride);
                FloatVector d2 = FloatVector.fromArray(SPECIES, grad, g + ow + 2 * gradStride);
                FloatVector d3 = FloatVector.fromArray(SPECIES, grad, g + ow + 3 * gradStride);
                a00 = d0.fma(x0, a00);
                a01 = d0.fma(x1, a01);
                a10 = d1.fma(x0, a10);
                a11 = d1.fma(x1, a11);
                a20 = d2.fma(x0, a20);
                a21 = d2.fma(x1, a21);
                a30 = d3.fma(x0, a30);
                a31 = d3.fma(x1, a31);
            }
            if (full < outW) {
                FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, packed, (x + tap0 + full) * Float.BYTES, ORDER)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats();
                FloatVector x1 = FloatVector.fromMemorySegment(SPECIES, packed, (x + tap1 + full) * Float.BYTES, ORDER)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats();
                FloatVector d0 = FloatVector.fromArray(SPECIES, grad, g + full)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats();
                FloatVector d1 = FloatVector.fromArray(SPECIES, grad, g + full + gradStride)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats();
                FloatVector d2 = FloatVector.fromArray(SPECIES, grad, g + full + 2 * gradStride)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats();
                FloatVector d3 = FloatVector.fromArray(SPECIES, grad, g + full + 3 * gradStride)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats();
                a00 = d0.fma(x0, a00);
                a01 = d0.fma(x1, a01);
                a10 = d1.fma(x0, a10);
                a11 = d1.fma(x1, a11);
                a20 = d2.fma(x0, a20);
                a21 = d2.fma(x1, a21);
                a30 = d3.fma(x0, a30);
                a31 = d3.fma(x1, a31);
            }
        }
        a00.intoArray(partial, at);
        a01.intoArray(partial, at + LANES);
        a10.intoArray(partial, p1);
        a11.intoArray(partial, p1 + LANES);
        a20.intoArray(partial, p2);
        a21.intoArray(partial, p2 + LANES);
        a30.intoArray(partial, p3);
        a31.intoArray(partial, p3 + LANES);
    }

    /**
     * Taps {@code tap0 .. tap3} of one output channel: one gradient load feeds four FMA chains; the
     * four partials are consecutive ({@code partial[at + i*lanes ...]}).
     */
    static void oneChannelFourTaps(MemorySegment packed, long channelOffset, long rowStride, int tap0, int tap1,
                                   int tap2, int tap3, float[] grad, int gradAt, int outH, int outW, float[] partial,
                                   int at) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, partial, at);
        FloatVector a1 = FloatVector.fromArray(SPECIES, partial, at + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, partial, at + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, partial, at + 3 * LANES);
        int full = outW - outW % LANES;
        IntVector keep = keep(outW - full);
        for (int oh = 0; oh < outH; oh++) {
            int g = gradAt + oh * outW;
            long x = channelOffset + oh * rowStride;
            for (int ow = 0; ow < full; ow += LANES) {
                FloatVector d = FloatVector.fromArray(SPECIES, grad, g + ow);
                a0 = d.fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + tap0 + ow) * Float.BYTES, ORDER), a0);
                a1 = d.fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + tap1 + ow) * Float.BYTES, ORDER), a1);
                a2 = d.fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + tap2 + ow) * Float.BYTES, ORDER), a2);
                a3 = d.fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + tap3 + ow) * Float.BYTES, ORDER), a3);
            }
            if (full < outW) {
                FloatVector d = FloatVector.fromArray(SPECIES, grad, g + full)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats();
                a0 = d.fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + tap0 + full) * Float.BYTES, ORDER)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats(), a0);
                a1 = d.fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + tap1 + full) * Float.BYTES, ORDER)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats(), a1);
                a2 = d.fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + tap2 + full) * Float.BYTES, ORDER)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats(), a2);
                a3 = d.fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + tap3 + full) * Float.BYTES, ORDER)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats(), a3);
            }
        }
        a0.intoArray(partial, at);
        a1.intoArray(partial, at + LANES);
        a2.intoArray(partial, at + 2 * LANES);
        a3.intoArray(partial, at + 3 * LANES);
    }

    /** One tap of one output channel, into {@code partial[at ...]}. */
    static void oneChannelOneTap(MemorySegment packed, long channelOffset, long rowStride, int tap, float[] grad,
                                 int gradAt, int outH, int outW, float[] partial, int at) {
        FloatVector a = FloatVector.fromArray(SPECIES, partial, at);
        int full = outW - outW % LANES;
        IntVector keep = keep(outW - full);
        for (int oh = 0; oh < outH; oh++) {
            int g = gradAt + oh * outW;
            long x = channelOffset + oh * rowStride + tap;
            for (int ow = 0; ow < full; ow += LANES) {
                a = FloatVector.fromArray(SPECIES, grad, g + ow).fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + ow) * Float.BYTES, ORDER), a);
            }
            if (full < outW) {
                a = FloatVector.fromArray(SPECIES, grad, g + full)
                        .reinterpretAsInts().and(keep).reinterpretAsFloats().fma(FloatVector.fromMemorySegment(SPECIES, packed, (x + full) * Float.BYTES, ORDER).reinterpretAsInts().and(keep).reinterpretAsFloats(), a);
            }
        }
        a.intoArray(partial, at);
    }

    /**
     * Adds the {@code count} floats of {@code grad} from {@code from} (one gradient plane) to the
     * lanes {@code partial[at ...]}: one batch item's share of one bias gradient.
     */
    static void planeSum(float[] grad, int from, int count, float[] partial, int at) {
        FloatVector acc = FloatVector.fromArray(SPECIES, partial, at);
        int full = count - count % LANES;
        for (int i = 0; i < full; i += LANES) {
            acc = acc.add(FloatVector.fromArray(SPECIES, grad, from + i));
        }
        if (full < count) {
            acc = acc.add(FloatVector.fromArray(SPECIES, grad, from + full)
                    .reinterpretAsInts().and(keep(count - full)).reinterpretAsFloats());
        }
        acc.intoArray(partial, at);
    }

    /**
     * Lane 0 + lane 1 + ... of {@code partial[at .. at + lanes)}, in this order. {@code
     * reduceLanes(ADD)} leaves the order of a float sum unspecified, and it does differ between
     * interpreted and compiled code, which would make two runs of the same problem disagree in the
     * last bit.
     */
    static float laneSum(float[] partial, int at) {
        float sum = 0;
        for (int i = 0; i < LANES; i++) {
            sum += partial[at + i];
        }
        return sum;
    }
}
