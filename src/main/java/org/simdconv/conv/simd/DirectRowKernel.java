package org.simdconv.conv.simd;

import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorSpecies;

/**
 * One output row of a direct convolution over {@link PackedPlanes}, vectorised along the row:
 * <pre>
 *   out[ow] = init + sum over c, t of w[c][t] * packed[c][rowBase + tapOffset[t] + ow]
 * </pre>
 * for every output column {@code ow}. Each weight is broadcast once and multiplied into up to four
 * vectors of consecutive output columns, which stay in registers for the whole reduction over
 * channels and taps: one broadcast and four loads per four FMAs, and no store until the end.
 * Every output element is summed in the same order (channel, then tap) whatever the thread count,
 * so the results are reproducible.
 */
final class DirectRowKernel {

    static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    static final int LANES = SPECIES.length();
    private static final ByteOrder ORDER = ByteOrder.nativeOrder();

    private DirectRowKernel() {
    }

    /**
     * Computes one output row.
     *
     * @param packed      the packed planes of the reduction channels
     * @param firstChannelOffset float offset of the first reduction channel's row {@code oh*strideH}
     * @param channelSize floats between two packed channels
     * @param channels    how many channels the sum runs over
     * @param taps        tap offsets within a channel ({@link PackedPlanes#tapOffsets()})
     * @param weights     {@code channels x taps} weights of this output channel, from {@code weightBase}
     * @param init        the value every output starts from (the bias, or 0)
     * @param out         destination segment; the row starts at byte {@code outOffset}
     * @param outW        output columns
     * @param accumulate  add the old contents of the row instead of overwriting them
     */
    static void row(MemorySegment packed, long firstChannelOffset, long channelSize, int channels, int[] taps,
                    float[] weights, int weightBase, float init, MemorySegment out, long outOffset, int outW,
                    boolean accumulate) {
        int ow = 0;
        for (; ow + 4 * LANES <= outW; ow += 4 * LANES) {
            fourVectors(packed, firstChannelOffset + ow, channelSize, channels, taps, weights, weightBase, init,
                    out, outOffset + (long) ow * Float.BYTES, accumulate);
        }
        for (; ow < outW; ow += LANES) {
            VectorMask<Float> valid = SPECIES.indexInRange(ow, outW);
            oneVector(packed, firstChannelOffset + ow, channelSize, channels, taps, weights, weightBase, init,
                    out, outOffset + (long) ow * Float.BYTES, valid, accumulate);
        }
    }

    private static void fourVectors(MemorySegment packed, long base, long channelSize, int channels, int[] taps,
                                    float[] weights, int weightBase, float init, MemorySegment out, long outAt,
                                    boolean accumulate) {
        FloatVector acc0 = FloatVector.broadcast(SPECIES, init);
        FloatVector acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                FloatVector wv = FloatVector.broadcast(SPECIES, weights[w++]);
                long at = (channelBase + tap) * Float.BYTES;
                acc0 = load(packed, at).fma(wv, acc0);
                acc1 = load(packed, at + LANES * Float.BYTES).fma(wv, acc1);
                acc2 = load(packed, at + 2L * LANES * Float.BYTES).fma(wv, acc2);
                acc3 = load(packed, at + 3L * LANES * Float.BYTES).fma(wv, acc3);
            }
        }
        long step = (long) LANES * Float.BYTES;
        if (accumulate) {
            acc0 = acc0.add(load(out, outAt));
            acc1 = acc1.add(load(out, outAt + step));
            acc2 = acc2.add(load(out, outAt + 2 * step));
            acc3 = acc3.add(load(out, outAt + 3 * step));
        }
        acc0.intoMemorySegment(out, outAt, ORDER);
        acc1.intoMemorySegment(out, outAt + step, ORDER);
        acc2.intoMemorySegment(out, outAt + 2 * step, ORDER);
        acc3.intoMemorySegment(out, outAt + 3 * step, ORDER);
    }

    private static void oneVector(MemorySegment packed, long base, long channelSize, int channels, int[] taps,
                                  float[] weights, int weightBase, float init, MemorySegment out, long outAt,
                                  VectorMask<Float> valid, boolean accumulate) {
        FloatVector acc = FloatVector.broadcast(SPECIES, init);
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                acc = load(packed, (channelBase + tap) * Float.BYTES).fma(FloatVector.broadcast(SPECIES, weights[w++]), acc);
            }
        }
        if (accumulate) {
            acc = acc.add(FloatVector.fromMemorySegment(SPECIES, out, outAt, ORDER, valid));
        }
        acc.intoMemorySegment(out, outAt, ORDER, valid);
    }

    static FloatVector load(MemorySegment segment, long byteOffset) {
        return FloatVector.fromMemorySegment(SPECIES, segment, byteOffset, ORDER);
    }
}
