package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.DirectRowKernel.LANES;
import static org.simdconv.conv.simd.DirectRowKernel.SPECIES;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Backward-weights of one (batch item, output channel, input channel) triple, vectorised along the
 * output rows (seed 002: {@code dW = A * dilate(dZ)}, read without building the dilated gradient):
 * <pre>
 *   dW[t] += sum over oh, ow of dZ[oh][ow] * packed[oh*strideH*rowLength + tapOffset[t] + ow]
 * </pre>
 * Lanes past the end of an output row are loaded as zero (both operands), so they add nothing.
 */
final class WeightGradientKernel {

    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private WeightGradientKernel() {
    }

    /**
     * Adds this triple's contribution to {@code partial[partialBase + t]} for every tap {@code t}.
     *
     * @param packed        packed planes of the batch item's input
     * @param channelOffset float offset of the input channel's packed plane
     * @param rowStride     floats between the packed rows of two consecutive output rows
     * @param gradOut       the output gradient; the channel's plane starts at byte {@code gradOffset}
     */
    static void accumulate(MemorySegment packed, long channelOffset, long rowStride, int[] taps,
                           MemorySegment gradOut, long gradOffset, int outH, int outW,
                           float[] partial, int partialBase) {
        for (int t = 0; t < taps.length; t++) {
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
                    VectorMask<Float> valid = SPECIES.indexInRange(ow, outW);
                    FloatVector dz = FloatVector.fromMemorySegment(SPECIES, gradOut, gradRow + (long) ow * Float.BYTES,
                            ORDER, valid);
                    // Mask the input too: 0 * Inf would be NaN, and columns past the row may hold anything.
                    FloatVector x = FloatVector.fromMemorySegment(SPECIES, packed, inputRow + (long) ow * Float.BYTES,
                            ORDER, valid);
                    acc = dz.fma(x, acc);
                }
            }
            partial[partialBase + t] += sumLanesInOrder(acc);
        }
    }

    /** {@code sum over the plane of dZ}: one batch item's contribution to one bias gradient. */
    static float planeSum(MemorySegment gradOut, long gradOffset, int planeSize) {
        FloatVector acc = FloatVector.zero(SPECIES);
        int i = 0;
        for (; i + LANES <= planeSize; i += LANES) {
            acc = acc.add(FloatVector.fromMemorySegment(SPECIES, gradOut, gradOffset + (long) i * Float.BYTES, ORDER));
        }
        if (i < planeSize) {
            acc = acc.add(FloatVector.fromMemorySegment(SPECIES, gradOut, gradOffset + (long) i * Float.BYTES, ORDER,
                    SPECIES.indexInRange(i, planeSize)));
        }
        return sumLanesInOrder(acc);
    }

    /**
     * Lane 0 + lane 1 + ... in this order. {@code reduceLanes(ADD)} leaves the order of a float sum
     * unspecified, and it does differ between interpreted and compiled code, which would make two
     * runs of the same problem disagree in the last bit.
     */
    static float sumLanesInOrder(FloatVector v) {
        float[] lanes = new float[LANES];
        v.intoArray(lanes, 0);
        float sum = 0;
        for (float lane : lanes) {
            sum += lane;
        }
        return sum;
    }
}
