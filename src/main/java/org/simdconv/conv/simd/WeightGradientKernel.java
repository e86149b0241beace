package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.DirectRowKernel.LANES;
import static org.simdconv.conv.simd.DirectRowKernel.SPECIES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;

/**
 * Backward-weights, vectorised along the output rows (seed 002: {@code dW = A * dilate(dZ)}, read
 * without building the dilated gradient):
 * <pre>
 *   dW[k][c][t] += sum over oh, ow of dZ[k][oh][ow] * packed[c][oh*strideH*rowLength + tapOffset[t] + ow]
 * </pre>
 * The main tile ({@link #accumulateFourChannelsTwoTaps}) keeps four output channels times two taps
 * in eight accumulators while it sweeps a whole plane: per vector of columns, four gradient loads
 * and two input loads feed eight FMAs, where one (channel, tap) alone needs two loads per FMA.
 * Eight accumulators and six operands fit AVX2's sixteen registers. A single output channel takes
 * four taps at a time instead ({@link #accumulateOneChannelFourTaps}). Every tile sums each
 * (channel, tap) in the same order and adds its lanes in order, so the tile a weight falls in
 * never changes its value. Lanes past the end of an output row are loaded as zero (both operands),
 * so they add nothing.
 */
final class WeightGradientKernel {

    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private WeightGradientKernel() {
    }

    /**
     * Adds one (batch item, output channel, input channel) triple's contribution to
     * {@code partial[partialBase + t]} for every tap {@code t >= firstTap}.
     *
     * @param packed        packed planes of the batch item's input
     * @param channelOffset float offset of the input channel's packed plane
     * @param rowStride     floats between the packed rows of two consecutive output rows
     * @param gradOut       the output gradient; the channel's plane starts at byte {@code gradOffset}
     */
    static void accumulate(MemorySegment packed, long channelOffset, long rowStride, int[] taps, int firstTap,
                           MemorySegment gradOut, long gradOffset, int outH, int outW,
                           float[] partial, int partialBase) {
        for (int t = firstTap; t < taps.length; t++) {
            FloatVector acc = FloatVector.zero(SPECIES);
            for (int oh = 0; oh < outH; oh++) {
                long gradRow = gradOffset + (long) oh * outW * Float.BYTES;
                long inputRow = (channelOffset + oh * rowStride + taps[t]) * Float.BYTES;
                int ow = 0;
                for (; ow + LANES <= outW; ow += LANES) {
                    FloatVector dz = FloatVector.fromMemorySegment(SPECIES, gradOut, gradRow + (long) ow * Float.BYTES, ORDER);
                    acc = dz.fma(DirectRowKernel.load(packed, inputRow + (long) ow * Float.BYTES), acc);
                }
                if (ow < outW) {
                    float[] tails = tails();
                    FloatVector dz = tail(gradOut, gradRow + (long) ow * Float.BYTES, outW - ow, tails);
                    // The input's tail too: 0 * Inf would be NaN, and columns past the row may hold anything.
                    FloatVector x = tail(packed, inputRow + (long) ow * Float.BYTES, outW - ow, tails);
                    acc = dz.fma(x, acc);
                }
            }
            float[] lanes = LANE_SCRATCH.get();
            acc.intoArray(lanes, 0);
            partial[partialBase + t] += sumInOrder(lanes);
        }
    }

    /**
     * Adds the contribution of one batch item to taps {@code tap0} and {@code tap1} of four consecutive
     * output channels (gradient planes {@code gradChannelStride} bytes apart) and one input channel:
     * {@code partial[partialBase + j*channelStride + i]} for channel {@code j < 4} and tap {@code i < 2}.
     */
    static void accumulateFourChannelsTwoTaps(MemorySegment packed, long channelOffset, long rowStride, int tap0,
                                              int tap1, MemorySegment gradOut, long gradOffset, long gradChannelStride,
                                              int outH, int outW, float[] partial, int partialBase, int channelStride) {
        FloatVector a00 = FloatVector.zero(SPECIES), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        int full = outW - outW % LANES;
        int rest = outW - full;
        float[] tails = tails();
        long s1 = gradChannelStride, s2 = 2 * gradChannelStride, s3 = 3 * gradChannelStride;
        // Full vectors, then the tail through a zero-padded copy: the same lanes in the same order
        // as accumulate().
        // No vector passes through a conditional expression: C2 would have to box it.
        for (int oh = 0; oh < outH; oh++) {
            long gradRow = gradOffset + (long) oh * outW * Float.BYTES;
            long inputRow = channelOffset + oh * rowStride;
            for (int ow = 0; ow < full; ow += LANES) {
                long g = gradRow + (long) ow * Float.BYTES;
                FloatVector x0 = DirectRowKernel.load(packed, (inputRow + tap0 + ow) * Float.BYTES);
                FloatVector x1 = DirectRowKernel.load(packed, (inputRow + tap1 + ow) * Float.BYTES);
                FloatVector d0 = DirectRowKernel.load(gradOut, g), d1 = DirectRowKernel.load(gradOut, g + s1);
                FloatVector d2 = DirectRowKernel.load(gradOut, g + s2), d3 = DirectRowKernel.load(gradOut, g + s3);
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
                long g = gradRow + (long) full * Float.BYTES;
                FloatVector x0 = tail(packed, (inputRow + tap0 + full) * Float.BYTES, rest, tails);
                FloatVector x1 = tail(packed, (inputRow + tap1 + full) * Float.BYTES, rest, tails);
                FloatVector d0 = tail(gradOut, g, rest, tails), d1 = tail(gradOut, g + s1, rest, tails);
                FloatVector d2 = tail(gradOut, g + s2, rest, tails), d3 = tail(gradOut, g + s3, rest, tails);
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
        float[] lanes = LANE_SCRATCH.get();
        a00.intoArray(lanes, 0);
        partial[partialBase] += sumInOrder(lanes);
        a01.intoArray(lanes, 0);
        partial[partialBase + 1] += sumInOrder(lanes);
        a10.intoArray(lanes, 0);
        partial[partialBase + channelStride] += sumInOrder(lanes);
        a11.intoArray(lanes, 0);
        partial[partialBase + channelStride + 1] += sumInOrder(lanes);
        a20.intoArray(lanes, 0);
        partial[partialBase + 2 * channelStride] += sumInOrder(lanes);
        a21.intoArray(lanes, 0);
        partial[partialBase + 2 * channelStride + 1] += sumInOrder(lanes);
        a30.intoArray(lanes, 0);
        partial[partialBase + 3 * channelStride] += sumInOrder(lanes);
        a31.intoArray(lanes, 0);
        partial[partialBase + 3 * channelStride + 1] += sumInOrder(lanes);
    }

    /**
     * Taps {@code tap0..tap3} of one output channel (a depthwise layer, or a channel outside the
     * four-channel blocks): one gradient load feeds four FMA chains.
     */
    static void accumulateOneChannelFourTaps(MemorySegment packed, long channelOffset, long rowStride, int[] taps,
                                             int firstTap, MemorySegment gradOut, long gradOffset, int outH, int outW,
                                             float[] partial, int partialBase) {
        int tap0 = taps[firstTap], tap1 = taps[firstTap + 1], tap2 = taps[firstTap + 2], tap3 = taps[firstTap + 3];
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        int full = outW - outW % LANES;
        int rest = outW - full;
        float[] tails = tails();
        for (int oh = 0; oh < outH; oh++) {
            long gradRow = gradOffset + (long) oh * outW * Float.BYTES;
            long inputRow = channelOffset + oh * rowStride;
            for (int ow = 0; ow < full; ow += LANES) {
                FloatVector d = DirectRowKernel.load(gradOut, gradRow + (long) ow * Float.BYTES);
                a0 = d.fma(DirectRowKernel.load(packed, (inputRow + tap0 + ow) * Float.BYTES), a0);
                a1 = d.fma(DirectRowKernel.load(packed, (inputRow + tap1 + ow) * Float.BYTES), a1);
                a2 = d.fma(DirectRowKernel.load(packed, (inputRow + tap2 + ow) * Float.BYTES), a2);
                a3 = d.fma(DirectRowKernel.load(packed, (inputRow + tap3 + ow) * Float.BYTES), a3);
            }
            if (full < outW) {
                FloatVector d = tail(gradOut, gradRow + (long) full * Float.BYTES, rest, tails);
                a0 = d.fma(tail(packed, (inputRow + tap0 + full) * Float.BYTES, rest, tails), a0);
                a1 = d.fma(tail(packed, (inputRow + tap1 + full) * Float.BYTES, rest, tails), a1);
                a2 = d.fma(tail(packed, (inputRow + tap2 + full) * Float.BYTES, rest, tails), a2);
                a3 = d.fma(tail(packed, (inputRow + tap3 + full) * Float.BYTES, rest, tails), a3);
            }
        }
        int at = partialBase + firstTap;
        float[] lanes = LANE_SCRATCH.get();
        a0.intoArray(lanes, 0);
        partial[at] += sumInOrder(lanes);
        a1.intoArray(lanes, 0);
        partial[at + 1] += sumInOrder(lanes);
        a2.intoArray(lanes, 0);
        partial[at + 2] += sumInOrder(lanes);
        a3.intoArray(lanes, 0);
        partial[at + 3] += sumInOrder(lanes);
    }

    /**
     * Each thread's zero-padded copy of a row's tail. A masked load from a segment is not
     * intrinsified here (AVX2): C2 boxed every one, about 0.9 MB per backward-weights call of the
     * seed's first layer. Copying the {@code count < lanes} floats into an array whose other lanes
     * are zero and loading it whole gives the same vector.
     */
    private static final ThreadLocal<float[]> TAILS = ThreadLocal.withInitial(() -> new float[LANES]);

    /** This thread's tail array, zeroed: {@link #tail} writes only the first lanes of it. */
    private static float[] tails() {
        float[] tails = TAILS.get();
        Arrays.fill(tails, 0f);
        return tails;
    }

    /**
     * The {@code count} floats at {@code byteOffset} followed by zeros; every call of one kernel call
     * passes the same {@code count}, so the lanes past it stay zero.
     */
    private static FloatVector tail(MemorySegment segment, long byteOffset, int count, float[] tails) {
        MemorySegment.copy(segment, ValueLayout.JAVA_FLOAT_UNALIGNED, byteOffset, tails, 0, count);
        return FloatVector.fromArray(SPECIES, tails, 0);
    }

    /** {@code sum over the plane of dZ}: one batch item's contribution to one bias gradient. */
    static float planeSum(MemorySegment gradOut, long gradOffset, int planeSize) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (; i + LANES <= planeSize; i += LANES) {
            acc = acc.add(FloatVector.fromMemorySegment(SPECIES, gradOut, gradOffset + (long) i * Float.BYTES, ORDER));
        }
        if (i < planeSize) {
            acc = acc.add(tail(gradOut, gradOffset + (long) i * Float.BYTES, planeSize - i, tails()));
        }
        float[] lanes = LANE_SCRATCH.get();
        acc.intoArray(lanes, 0);
        return sumInOrder(lanes);
    }

    /**
     * Each thread's array for the lanes of an accumulator. The tiles store their accumulators into it
     * and sum it with {@link #sumInOrder}: handing a vector to a method that C2 does not inline
     * boxes it, which allocated about 1 MB per backward-weights call of the seed's first layer.
     */
    private static final ThreadLocal<float[]> LANE_SCRATCH = ThreadLocal.withInitial(() -> new float[LANES]);

    /**
     * Lane 0 + lane 1 + ... of {@code lanes}, in this order. {@code reduceLanes(ADD)} leaves the
     * order of a float sum unspecified, and it does differ between interpreted and compiled code,
     * which would make two runs of the same problem disagree in the last bit.
     */
    static float sumInOrder(float[] lanes) {
        float sum = 0;
        for (int i = 0; i < LANES; i++) {
            sum += lanes[i];
        }
        return sum;
    }
}
