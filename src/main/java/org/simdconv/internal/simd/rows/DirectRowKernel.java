package org.simdconv.internal.simd.rows;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Output rows of a direct convolution over {@link PackedPlanes}, vectorised along the row:
 * <pre>
 *   out[k][ow] = init[k] + sum over c, t of w[k][c][t] * packed[c][rowBase + tapOffset[t] + ow]
 * </pre>
 * for every output column {@code ow}. The main tile ({@link #rowsOfFourChannels}) keeps four output
 * channels times three vectors of consecutive columns in twelve accumulators for the whole
 * reduction over channels and taps: per tap, three input loads and four weight broadcasts feed
 * twelve FMAs, and nothing is stored until the end. Twelve accumulators plus the operands fit the
 * sixteen vector registers of AVX2 (AVX-512 has 32, which a wider tile could use later). The last
 * one or two vectors of a row take a four-channel tile of that width (eight or four independent
 * FMA chains, so FMA latency stays hidden); leftover channels take single-channel tiles ({@link #row}). Every output element is summed in the
 * same order (channel, then tap) by every tile, so the results do not depend on how the channels
 * are split between threads.
 *
 * <p>Weights of a four-channel block are interleaved ({@code [c][t][4]}), so the four broadcasts of
 * a tap read one 16-byte run; a single channel reads its weights with a stride (1 when plain, 4
 * inside an interleaved block).
 */
final class DirectRowKernel {


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
     *                    with a step of {@code weightStride}
     * @param init        the value every output starts from (the bias, or 0)
     * @param out         destination segment; the row starts at byte {@code outOffset}
     * @param outW        output columns
     * @param accumulate  add the old contents of the row instead of overwriting them
     */
    static void row(MemorySegment packed, long firstChannelOffset, long channelSize, int channels, int[] taps,
                    float[] weights, int weightBase, int weightStride, float init, MemorySegment out, long outOffset,
                    int outW, boolean accumulate) {
        int ow = 0;
        for (; ow + 4 * LANES <= outW; ow += 4 * LANES) {
            fourVectors(packed, firstChannelOffset + ow, channelSize, channels, taps, weights, weightBase, weightStride,
                    init, out, outOffset + (long) ow * Float.BYTES, accumulate);
        }
        if (ow < outW && ow > 0 && !accumulate) {
            // The last columns as one more four-vector tile that ends at the row's end and overlaps
            // the tile before it: every column is summed in the same order by either tile, so the
            // overlap is written twice with the same values, and four FMA chains run instead of one
            // (a single-vector tail waits on the FMA latency: 112-column rows of the ResNet stem's
            // backward-data were four vectors at full speed and three at a quarter).
            int last = outW - 4 * LANES;
            fourVectors(packed, firstChannelOffset + last, channelSize, channels, taps, weights, weightBase,
                    weightStride, init, out, outOffset + (long) last * Float.BYTES, false);
            return;
        }
        for (; ow < outW; ow += LANES) {
            int valid = Math.min(LANES, outW - ow);
            oneVector(packed, firstChannelOffset + ow, channelSize, channels, taps, weights, weightBase, weightStride,
                    init, out, outOffset + (long) ow * Float.BYTES, valid, accumulate);
        }
    }

    /**
     * The same row of four consecutive output channels of one group, whose weights are interleaved
     * from {@code weightBase}; their output rows are {@code outChannelStride} bytes apart.
     */
    static void rowsOfFourChannels(MemorySegment packed, long firstChannelOffset, long channelSize, int channels,
                                   int[] taps, float[] weights, int weightBase, float[] init, int initBase,
                                   MemorySegment out, long outOffset, long outChannelStride, int outW,
                                   boolean accumulate) {
        int ow = 0;
        for (; ow + 3 * LANES <= outW; ow += 3 * LANES) {
            fourChannelsThreeVectors(packed, firstChannelOffset + ow, channelSize, channels, taps, weights, weightBase,
                    init, initBase, out, outOffset + (long) ow * Float.BYTES, outChannelStride, accumulate);
        }
        while (ow < outW) { // fewer than three vectors are left
            if (outW - ow > LANES) {
                fourChannelsTwoVectors(packed, firstChannelOffset + ow, channelSize, channels, taps, weights,
                        weightBase, init, initBase, out, outOffset + (long) ow * Float.BYTES, outChannelStride,
                        Math.min(LANES, outW - ow - LANES), accumulate);
                ow += 2 * LANES;
            } else {
                fourChannelsOneVector(packed, firstChannelOffset + ow, channelSize, channels, taps, weights,
                        weightBase, init, initBase, out, outOffset + (long) ow * Float.BYTES, outChannelStride,
                        Math.min(LANES, outW - ow), accumulate);
                ow += LANES;
            }
        }
    }

    /**
     * The tile for the last one to two vectors of a row (rows of 9 to 16 columns with AVX2 are
     * only this): four channels of two vectors, the second stored in its first {@code secondValid} lanes.
     */
    private static void fourChannelsTwoVectors(MemorySegment packed, long base, long channelSize, int channels,
                                               int[] taps, float[] weights, int weightBase, float[] init,
                                               int initBase, MemorySegment out, long outAt, long outChannelStride,
                                               int secondValid, boolean accumulate) {
        FloatVector a00 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase]), a01 = a00;
        FloatVector a10 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 1]), a11 = a10;
        FloatVector a20 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 2]), a21 = a20;
        FloatVector a30 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 3]), a31 = a30;
        long step = (long) LANES * Float.BYTES;
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                long at = (channelBase + tap) * Float.BYTES;
                FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, packed, at, ORDER);
                FloatVector x1 = FloatVector.fromMemorySegment(SPECIES, packed, at + step, ORDER);
                FloatVector b = FloatVector.broadcast(SPECIES, weights[w]);
                a00 = x0.fma(b, a00);
                a01 = x1.fma(b, a01);
                b = FloatVector.broadcast(SPECIES, weights[w + 1]);
                a10 = x0.fma(b, a10);
                a11 = x1.fma(b, a11);
                b = FloatVector.broadcast(SPECIES, weights[w + 2]);
                a20 = x0.fma(b, a20);
                a21 = x1.fma(b, a21);
                b = FloatVector.broadcast(SPECIES, weights[w + 3]);
                a30 = x0.fma(b, a30);
                a31 = x1.fma(b, a31);
                w += 4;
            }
        }
        float[] tile = TILE.get(); // accumulators to the heap, then bulk copies: no vector leaves this method
        a00.intoArray(tile, 0);
        a01.intoArray(tile, LANES);
        a10.intoArray(tile, 2 * LANES);
        a11.intoArray(tile, 3 * LANES);
        a20.intoArray(tile, 4 * LANES);
        a21.intoArray(tile, 5 * LANES);
        a30.intoArray(tile, 6 * LANES);
        a31.intoArray(tile, 7 * LANES);
        flushFourRows(tile, 2, out, outAt, outChannelStride, secondValid, accumulate);
    }

    /** The narrow tile: four channels of one vector, four independent FMA chains instead of one. */
    private static void fourChannelsOneVector(MemorySegment packed, long base, long channelSize, int channels,
                                              int[] taps, float[] weights, int weightBase, float[] init, int initBase,
                                              MemorySegment out, long outAt, long outChannelStride,
                                              int valid, boolean accumulate) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase]);
        FloatVector a1 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 1]);
        FloatVector a2 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 2]);
        FloatVector a3 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 3]);
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                FloatVector x = FloatVector.fromMemorySegment(SPECIES, packed, (channelBase + tap) * Float.BYTES, ORDER);
                a0 = x.fma(FloatVector.broadcast(SPECIES, weights[w]), a0);
                a1 = x.fma(FloatVector.broadcast(SPECIES, weights[w + 1]), a1);
                a2 = x.fma(FloatVector.broadcast(SPECIES, weights[w + 2]), a2);
                a3 = x.fma(FloatVector.broadcast(SPECIES, weights[w + 3]), a3);
                w += 4;
            }
        }
        float[] tile = TILE.get(); // accumulators to the heap, then bulk copies: no vector leaves this method
        a0.intoArray(tile, 0);
        a1.intoArray(tile, LANES);
        a2.intoArray(tile, 2 * LANES);
        a3.intoArray(tile, 3 * LANES);
        flushFourRows(tile, 1, out, outAt, outChannelStride, valid, accumulate);
    }

    /**
     * Writes {@code valid} floats of {@code tile} from {@code from} to {@code out} at byte {@code at}
     * (adding the old values there when accumulating). The tiles end with their accumulators in
     * {@link #TILE} and call this, with no vector argument: a tile that passed its vectors to a
     * store helper C2 did not inline had them boxed (43 KB per call of the seed's first layer).
     */
    private static void flush(float[] tile, int from, MemorySegment out, long at, int valid, boolean accumulate) {
        if (accumulate) {
            MemorySegment.copy(out, ValueLayout.JAVA_FLOAT_UNALIGNED, at, tile, OLD, valid);
            for (int i = 0; i < valid; i++) {
                tile[from + i] += tile[OLD + i];
            }
        }
        MemorySegment.copy(tile, from, out, ValueLayout.JAVA_FLOAT_UNALIGNED, at, valid);
    }

    /**
     * {@link #flush} of four rows of {@code vectors} (1 or 2) vectors each, rows {@code rowStride}
     * bytes apart in {@code out}: all lanes of each vector but the last of a row, {@code lastValid} of that.
     */
    private static void flushFourRows(float[] tile, int vectors, MemorySegment out, long outAt, long rowStride,
                                      int lastValid, boolean accumulate) {
        for (int row = 0; row < 4; row++) {
            for (int v = 0; v < vectors; v++) {
                flush(tile, (row * vectors + v) * LANES, out, outAt + row * rowStride + (long) v * LANES * Float.BYTES,
                        v == vectors - 1 ? lastValid : LANES, accumulate);
            }
        }
    }

    /** Where {@link #flush} puts the old values, after the eight accumulators a tile may hold. */
    private static final int OLD = 8 * LANES;

    /** Each thread's accumulators of one tile and the old values under one of them. */
    private static final ThreadLocal<float[]> TILE = ThreadLocal.withInitial(() -> new float[OLD + LANES]);

    private static void fourChannelsThreeVectors(MemorySegment packed, long base, long channelSize, int channels,
                                                 int[] taps, float[] weights, int weightBase, float[] init,
                                                 int initBase, MemorySegment out, long outAt, long outChannelStride,
                                                 boolean accumulate) {
        FloatVector a00 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase]), a01 = a00, a02 = a00;
        FloatVector a10 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 1]), a11 = a10, a12 = a10;
        FloatVector a20 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 2]), a21 = a20, a22 = a20;
        FloatVector a30 = FloatVector.broadcast(SPECIES, init == null ? 0f : init[initBase + 3]), a31 = a30, a32 = a30;
        long step = (long) LANES * Float.BYTES;
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                long at = (channelBase + tap) * Float.BYTES;
                FloatVector x0 = FloatVector.fromMemorySegment(SPECIES, packed, at, ORDER);
                FloatVector x1 = FloatVector.fromMemorySegment(SPECIES, packed, at + step, ORDER);
                FloatVector x2 = FloatVector.fromMemorySegment(SPECIES, packed, at + 2 * step, ORDER);
                FloatVector b = FloatVector.broadcast(SPECIES, weights[w]);
                a00 = x0.fma(b, a00);
                a01 = x1.fma(b, a01);
                a02 = x2.fma(b, a02);
                b = FloatVector.broadcast(SPECIES, weights[w + 1]);
                a10 = x0.fma(b, a10);
                a11 = x1.fma(b, a11);
                a12 = x2.fma(b, a12);
                b = FloatVector.broadcast(SPECIES, weights[w + 2]);
                a20 = x0.fma(b, a20);
                a21 = x1.fma(b, a21);
                a22 = x2.fma(b, a22);
                b = FloatVector.broadcast(SPECIES, weights[w + 3]);
                a30 = x0.fma(b, a30);
                a31 = x1.fma(b, a31);
                a32 = x2.fma(b, a32);
                w += 4;
            }
        }
        if (accumulate) {
            a00 = a00.add(FloatVector.fromMemorySegment(SPECIES, out, outAt, ORDER));
            a01 = a01.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + step, ORDER));
            a02 = a02.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 2 * step, ORDER));
        }
        a00.intoMemorySegment(out, outAt, ORDER);
        a01.intoMemorySegment(out, outAt + step, ORDER);
        a02.intoMemorySegment(out, outAt + 2 * step, ORDER);
        if (accumulate) {
            a10 = a10.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + outChannelStride, ORDER));
            a11 = a11.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + outChannelStride + step, ORDER));
            a12 = a12.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + outChannelStride + 2 * step, ORDER));
        }
        a10.intoMemorySegment(out, outAt + outChannelStride, ORDER);
        a11.intoMemorySegment(out, outAt + outChannelStride + step, ORDER);
        a12.intoMemorySegment(out, outAt + outChannelStride + 2 * step, ORDER);
        if (accumulate) {
            a20 = a20.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 2 * outChannelStride, ORDER));
            a21 = a21.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 2 * outChannelStride + step, ORDER));
            a22 = a22.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 2 * outChannelStride + 2 * step, ORDER));
        }
        a20.intoMemorySegment(out, outAt + 2 * outChannelStride, ORDER);
        a21.intoMemorySegment(out, outAt + 2 * outChannelStride + step, ORDER);
        a22.intoMemorySegment(out, outAt + 2 * outChannelStride + 2 * step, ORDER);
        if (accumulate) {
            a30 = a30.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 3 * outChannelStride, ORDER));
            a31 = a31.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 3 * outChannelStride + step, ORDER));
            a32 = a32.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 3 * outChannelStride + 2 * step, ORDER));
        }
        a30.intoMemorySegment(out, outAt + 3 * outChannelStride, ORDER);
        a31.intoMemorySegment(out, outAt + 3 * outChannelStride + step, ORDER);
        a32.intoMemorySegment(out, outAt + 3 * outChannelStride + 2 * step, ORDER);
    }



    /**
     * Four consecutive output rows of one output channel (a depthwise layer, or a channel left over
     * from the four-channel blocks): one broadcast per tap serves eight FMA chains (four rows of two
     * vectors), where one narrow row alone would have one. Input rows of consecutive output rows are
     * {@code rowStride} floats apart in the packed planes, output rows {@code outRowStride} bytes.
     */
    static void fourRows(MemorySegment packed, long firstChannelOffset, long rowStride, long channelSize,
                         int channels, int[] taps, float[] weights, int weightBase, int weightStride, float init,
                         MemorySegment out, long outOffset, long outRowStride, int outW, boolean accumulate) {
        int ow = 0;
        for (; outW - ow > LANES; ow += 2 * LANES) {
            fourRowsOfTwoVectors(packed, firstChannelOffset + ow, rowStride, channelSize, channels, taps, weights,
                    weightBase, weightStride, init, out, outOffset + (long) ow * Float.BYTES, outRowStride,
                    Math.min(LANES, outW - ow - LANES), accumulate);
        }
        if (ow < outW) { // one vector left: its neighbour's packed loads would run past the row
            fourRowsOfOneVector(packed, firstChannelOffset + ow, rowStride, channelSize, channels, taps, weights,
                    weightBase, weightStride, init, out, outOffset + (long) ow * Float.BYTES, outRowStride,
                    Math.min(LANES, outW - ow), accumulate);
        }
    }

    private static void fourRowsOfTwoVectors(MemorySegment packed, long base, long rowStride, long channelSize,
                                             int channels, int[] taps, float[] weights, int weightBase,
                                             int weightStride, float init, MemorySegment out, long outAt,
                                             long outRowStride, int second, boolean accumulate) {
        FloatVector a00 = FloatVector.broadcast(SPECIES, init), a01 = a00, a10 = a00, a11 = a00;
        FloatVector a20 = a00, a21 = a00, a30 = a00, a31 = a00;
        long step = (long) LANES * Float.BYTES, rowBytes = rowStride * Float.BYTES;
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                FloatVector b = FloatVector.broadcast(SPECIES, weights[w]);
                w += weightStride;
                long at = (channelBase + tap) * Float.BYTES;
                a00 = FloatVector.fromMemorySegment(SPECIES, packed, at, ORDER).fma(b, a00);
                a01 = FloatVector.fromMemorySegment(SPECIES, packed, at + step, ORDER).fma(b, a01);
                a10 = FloatVector.fromMemorySegment(SPECIES, packed, at + rowBytes, ORDER).fma(b, a10);
                a11 = FloatVector.fromMemorySegment(SPECIES, packed, at + rowBytes + step, ORDER).fma(b, a11);
                a20 = FloatVector.fromMemorySegment(SPECIES, packed, at + 2 * rowBytes, ORDER).fma(b, a20);
                a21 = FloatVector.fromMemorySegment(SPECIES, packed, at + 2 * rowBytes + step, ORDER).fma(b, a21);
                a30 = FloatVector.fromMemorySegment(SPECIES, packed, at + 3 * rowBytes, ORDER).fma(b, a30);
                a31 = FloatVector.fromMemorySegment(SPECIES, packed, at + 3 * rowBytes + step, ORDER).fma(b, a31);
            }
        }
        float[] tile = TILE.get(); // accumulators to the heap, then bulk copies: no vector leaves this method
        a00.intoArray(tile, 0);
        a01.intoArray(tile, LANES);
        a10.intoArray(tile, 2 * LANES);
        a11.intoArray(tile, 3 * LANES);
        a20.intoArray(tile, 4 * LANES);
        a21.intoArray(tile, 5 * LANES);
        a30.intoArray(tile, 6 * LANES);
        a31.intoArray(tile, 7 * LANES);
        flushFourRows(tile, 2, out, outAt, outRowStride, second, accumulate);
    }

    private static void fourRowsOfOneVector(MemorySegment packed, long base, long rowStride, long channelSize,
                                            int channels, int[] taps, float[] weights, int weightBase,
                                            int weightStride, float init, MemorySegment out, long outAt,
                                            long outRowStride, int valid, boolean accumulate) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, init), a1 = a0, a2 = a0, a3 = a0;
        long rowBytes = rowStride * Float.BYTES;
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                FloatVector b = FloatVector.broadcast(SPECIES, weights[w]);
                w += weightStride;
                long at = (channelBase + tap) * Float.BYTES;
                a0 = FloatVector.fromMemorySegment(SPECIES, packed, at, ORDER).fma(b, a0);
                a1 = FloatVector.fromMemorySegment(SPECIES, packed, at + rowBytes, ORDER).fma(b, a1);
                a2 = FloatVector.fromMemorySegment(SPECIES, packed, at + 2 * rowBytes, ORDER).fma(b, a2);
                a3 = FloatVector.fromMemorySegment(SPECIES, packed, at + 3 * rowBytes, ORDER).fma(b, a3);
            }
        }
        float[] tile = TILE.get(); // accumulators to the heap, then bulk copies: no vector leaves this method
        a0.intoArray(tile, 0);
        a1.intoArray(tile, LANES);
        a2.intoArray(tile, 2 * LANES);
        a3.intoArray(tile, 3 * LANES);
        flushFourRows(tile, 1, out, outAt, outRowStride, valid, accumulate);
    }

    private static void fourVectors(MemorySegment packed, long base, long channelSize, int channels, int[] taps,
                                    float[] weights, int weightBase, int weightStride, float init, MemorySegment out,
                                    long outAt, boolean accumulate) {
        FloatVector acc0 = FloatVector.broadcast(SPECIES, init);
        FloatVector acc1 = acc0, acc2 = acc0, acc3 = acc0;
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                FloatVector wv = FloatVector.broadcast(SPECIES, weights[w]);
                w += weightStride;
                long at = (channelBase + tap) * Float.BYTES;
                acc0 = FloatVector.fromMemorySegment(SPECIES, packed, at, ORDER).fma(wv, acc0);
                acc1 = FloatVector.fromMemorySegment(SPECIES, packed, at + LANES * Float.BYTES, ORDER).fma(wv, acc1);
                acc2 = FloatVector.fromMemorySegment(SPECIES, packed, at + 2L * LANES * Float.BYTES, ORDER).fma(wv, acc2);
                acc3 = FloatVector.fromMemorySegment(SPECIES, packed, at + 3L * LANES * Float.BYTES, ORDER).fma(wv, acc3);
            }
        }
        long step = (long) LANES * Float.BYTES;
        if (accumulate) {
            acc0 = acc0.add(FloatVector.fromMemorySegment(SPECIES, out, outAt, ORDER));
            acc1 = acc1.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + step, ORDER));
            acc2 = acc2.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 2 * step, ORDER));
            acc3 = acc3.add(FloatVector.fromMemorySegment(SPECIES, out, outAt + 3 * step, ORDER));
        }
        acc0.intoMemorySegment(out, outAt, ORDER);
        acc1.intoMemorySegment(out, outAt + step, ORDER);
        acc2.intoMemorySegment(out, outAt + 2 * step, ORDER);
        acc3.intoMemorySegment(out, outAt + 3 * step, ORDER);
    }

    private static void oneVector(MemorySegment packed, long base, long channelSize, int channels, int[] taps,
                                  float[] weights, int weightBase, int weightStride, float init, MemorySegment out,
                                  long outAt, int valid, boolean accumulate) {
        FloatVector acc = FloatVector.broadcast(SPECIES, init);
        int w = weightBase;
        for (int c = 0; c < channels; c++) {
            long channelBase = base + c * channelSize;
            for (int tap : taps) {
                acc = FloatVector.fromMemorySegment(SPECIES, packed, (channelBase + tap) * Float.BYTES, ORDER).fma(FloatVector.broadcast(SPECIES, weights[w]), acc);
                w += weightStride;
            }
        }
        float[] tile = TILE.get(); // accumulators to the heap, then bulk copies: no vector leaves this method
        acc.intoArray(tile, 0);
        flush(tile, 0, out, outAt, valid, accumulate);
    }

}
