package org.simdconv.internal.simd.rows;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Register tiles of {@link FlatPlaneConvolution}: vectors run along a whole padded plane read as one
 * flat row ({@code q = oh * pitch + ow}), so that a tap is a constant offset and every load is a
 * full vector, with no row tails. All operands are heap arrays.
 *
 * <p>Forward, {@link #fourChannelsFourVectors}:
 * {@code out[k][q] = b[k] + sum over c, t of w[k][c][t] * x[c][q + tap[t]]} for four output
 * channels times four vectors of {@code q}: per (channel, tap) four input loads and four weight
 * broadcasts feed sixteen FMAs. Sixteen accumulators and the operands take 21 of AVX-512's 32
 * registers.
 *
 * <p>Backward-weights, {@link #fourChannelsFourTaps}:
 * {@code dW[k][c][t] += sum over q of dy[k][q] * x[c][q + tap[t]]} for four output channels times
 * four taps, summed lane by lane into the partials. The gradient is staged with zeros in the columns
 * past each output row, so those lanes add exactly zero as long as the input is finite; an item
 * with an infinite or NaN input ({@code 0 * Inf} would be NaN) takes a tile that also ANDs the input
 * with the pattern of real columns ({@link #oneChannelOneTapMasked}).
 *
 * <p>Every output is summed in the same order (channel, tap) by every tile, so results do not depend
 * on which tile or thread computed them.
 */
final class FlatPlaneTiles {

    private static final VectorSpecies<Integer> BITS = SPECIES.withLanes(int.class);

    private FlatPlaneTiles() {
    }


    /**
     * Four output channels ({@code w} interleaved {@code [c][t][4]} from {@code w0}, biases from
     * {@code b[k0..]} or zero) times four vectors from {@code q}; outputs to {@code out[j*outStride + q ...]}.
     */
    static void fourChannelsFourVectors(float[] x, int xAt, int channelFloats, int channels, int[] taps, float[] w,
                                        int w0, float b0, float b1, float b2, float b3, float[] out, int outAt,
                                        int outStride) {
        FloatVector a00 = FloatVector.broadcast(SPECIES, b0), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = FloatVector.broadcast(SPECIES, b1), a11 = a10, a12 = a10, a13 = a10;
        FloatVector a20 = FloatVector.broadcast(SPECIES, b2), a21 = a20, a22 = a20, a23 = a20;
        FloatVector a30 = FloatVector.broadcast(SPECIES, b3), a31 = a30, a32 = a30, a33 = a30;
        int u = w0;
        for (int c = 0; c < channels; c++) {
            int channel = xAt + c * channelFloats;
            for (int tap : taps) {
                int at = channel + tap;
                FloatVector x0 = FloatVector.fromArray(SPECIES, x, at);
                FloatVector x1 = FloatVector.fromArray(SPECIES, x, at + LANES);
                FloatVector x2 = FloatVector.fromArray(SPECIES, x, at + 2 * LANES);
                FloatVector x3 = FloatVector.fromArray(SPECIES, x, at + 3 * LANES);
                FloatVector v = FloatVector.broadcast(SPECIES, w[u]);
                a00 = x0.fma(v, a00);
                a01 = x1.fma(v, a01);
                a02 = x2.fma(v, a02);
                a03 = x3.fma(v, a03);
                v = FloatVector.broadcast(SPECIES, w[u + 1]);
                a10 = x0.fma(v, a10);
                a11 = x1.fma(v, a11);
                a12 = x2.fma(v, a12);
                a13 = x3.fma(v, a13);
                v = FloatVector.broadcast(SPECIES, w[u + 2]);
                a20 = x0.fma(v, a20);
                a21 = x1.fma(v, a21);
                a22 = x2.fma(v, a22);
                a23 = x3.fma(v, a23);
                v = FloatVector.broadcast(SPECIES, w[u + 3]);
                a30 = x0.fma(v, a30);
                a31 = x1.fma(v, a31);
                a32 = x2.fma(v, a32);
                a33 = x3.fma(v, a33);
                u += 4;
            }
        }
        int o1 = outAt + outStride, o2 = outAt + 2 * outStride, o3 = outAt + 3 * outStride;
        a00.intoArray(out, outAt);
        a01.intoArray(out, outAt + LANES);
        a02.intoArray(out, outAt + 2 * LANES);
        a03.intoArray(out, outAt + 3 * LANES);
        a10.intoArray(out, o1);
        a11.intoArray(out, o1 + LANES);
        a12.intoArray(out, o1 + 2 * LANES);
        a13.intoArray(out, o1 + 3 * LANES);
        a20.intoArray(out, o2);
        a21.intoArray(out, o2 + LANES);
        a22.intoArray(out, o2 + 2 * LANES);
        a23.intoArray(out, o2 + 3 * LANES);
        a30.intoArray(out, o3);
        a31.intoArray(out, o3 + LANES);
        a32.intoArray(out, o3 + 2 * LANES);
        a33.intoArray(out, o3 + 3 * LANES);
    }

    /**
     * A block of four output channels ({@code w} interleaved from {@code w0}) and the pair of single
     * channels after it in the same group (plain rows from {@code wa} and {@code wb}, step 1): the
     * seed's second layer, six filters. Four vectors: per (channel, tap) four input loads and six
     * broadcasts feed 24 FMAs, where the four-channel tile and the two-channel tile need 12 loads
     * for the same 24 (the pair alone loaded six for eight). 24 accumulators, the four inputs and a
     * broadcast take 29 of AVX-512's 32 registers. Biases {@code b[bAt .. bAt+6)}, or zero when null.
     */
    static void sixChannelsFourVectors(float[] x, int xAt, int channelFloats, int channels, int[] taps, float[] w,
                                       int w0, int wa, int wb, float[] b, int bAt, float[] out, int outAt,
                                       int outStride) {
        FloatVector a00 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 0]), a01 = a00, a02 = a00, a03 = a00;
        FloatVector a10 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 1]), a11 = a10, a12 = a10, a13 = a10;
        FloatVector a20 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 2]), a21 = a20, a22 = a20, a23 = a20;
        FloatVector a30 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 3]), a31 = a30, a32 = a30, a33 = a30;
        FloatVector a40 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 4]), a41 = a40, a42 = a40, a43 = a40;
        FloatVector a50 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 5]), a51 = a50, a52 = a50, a53 = a50;
        int u = w0, p = wa, r = wb;
        for (int c = 0; c < channels; c++) {
            int channel = xAt + c * channelFloats;
            for (int tap : taps) {
                int at = channel + tap;
                FloatVector x0 = FloatVector.fromArray(SPECIES, x, at);
                FloatVector x1 = FloatVector.fromArray(SPECIES, x, at + LANES);
                FloatVector x2 = FloatVector.fromArray(SPECIES, x, at + 2 * LANES);
                FloatVector x3 = FloatVector.fromArray(SPECIES, x, at + 3 * LANES);
                FloatVector v = FloatVector.broadcast(SPECIES, w[u]);
                a00 = x0.fma(v, a00);
                a01 = x1.fma(v, a01);
                a02 = x2.fma(v, a02);
                a03 = x3.fma(v, a03);
                v = FloatVector.broadcast(SPECIES, w[u + 1]);
                a10 = x0.fma(v, a10);
                a11 = x1.fma(v, a11);
                a12 = x2.fma(v, a12);
                a13 = x3.fma(v, a13);
                v = FloatVector.broadcast(SPECIES, w[u + 2]);
                a20 = x0.fma(v, a20);
                a21 = x1.fma(v, a21);
                a22 = x2.fma(v, a22);
                a23 = x3.fma(v, a23);
                v = FloatVector.broadcast(SPECIES, w[u + 3]);
                a30 = x0.fma(v, a30);
                a31 = x1.fma(v, a31);
                a32 = x2.fma(v, a32);
                a33 = x3.fma(v, a33);
                v = FloatVector.broadcast(SPECIES, w[p]);
                a40 = x0.fma(v, a40);
                a41 = x1.fma(v, a41);
                a42 = x2.fma(v, a42);
                a43 = x3.fma(v, a43);
                v = FloatVector.broadcast(SPECIES, w[r]);
                a50 = x0.fma(v, a50);
                a51 = x1.fma(v, a51);
                a52 = x2.fma(v, a52);
                a53 = x3.fma(v, a53);
                u += 4;
                p++;
                r++;
            }
        }
        a00.intoArray(out, outAt);
        a01.intoArray(out, outAt + LANES);
        a02.intoArray(out, outAt + 2 * LANES);
        a03.intoArray(out, outAt + 3 * LANES);
        a10.intoArray(out, outAt + outStride);
        a11.intoArray(out, outAt + outStride + LANES);
        a12.intoArray(out, outAt + outStride + 2 * LANES);
        a13.intoArray(out, outAt + outStride + 3 * LANES);
        a20.intoArray(out, outAt + 2 * outStride);
        a21.intoArray(out, outAt + 2 * outStride + LANES);
        a22.intoArray(out, outAt + 2 * outStride + 2 * LANES);
        a23.intoArray(out, outAt + 2 * outStride + 3 * LANES);
        a30.intoArray(out, outAt + 3 * outStride);
        a31.intoArray(out, outAt + 3 * outStride + LANES);
        a32.intoArray(out, outAt + 3 * outStride + 2 * LANES);
        a33.intoArray(out, outAt + 3 * outStride + 3 * LANES);
        a40.intoArray(out, outAt + 4 * outStride);
        a41.intoArray(out, outAt + 4 * outStride + LANES);
        a42.intoArray(out, outAt + 4 * outStride + 2 * LANES);
        a43.intoArray(out, outAt + 4 * outStride + 3 * LANES);
        a50.intoArray(out, outAt + 5 * outStride);
        a51.intoArray(out, outAt + 5 * outStride + LANES);
        a52.intoArray(out, outAt + 5 * outStride + 2 * LANES);
        a53.intoArray(out, outAt + 5 * outStride + 3 * LANES);
    }

    /** The last vectors of {@link #sixChannelsFourVectors}: six channels of one vector, six FMA chains. */
    static void sixChannelsOneVector(float[] x, int xAt, int channelFloats, int channels, int[] taps, float[] w, int w0,
                                     int wa, int wb, float[] b, int bAt, float[] out, int outAt, int outStride) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 0]);
        FloatVector a1 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 1]);
        FloatVector a2 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 2]);
        FloatVector a3 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 3]);
        FloatVector a4 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 4]);
        FloatVector a5 = FloatVector.broadcast(SPECIES, b == null ? 0f : b[bAt + 5]);
        int u = w0, p = wa, r = wb;
        for (int c = 0; c < channels; c++) {
            int channel = xAt + c * channelFloats;
            for (int tap : taps) {
                FloatVector v = FloatVector.fromArray(SPECIES, x, channel + tap);
                a0 = v.fma(FloatVector.broadcast(SPECIES, w[u]), a0);
                a1 = v.fma(FloatVector.broadcast(SPECIES, w[u + 1]), a1);
                a2 = v.fma(FloatVector.broadcast(SPECIES, w[u + 2]), a2);
                a3 = v.fma(FloatVector.broadcast(SPECIES, w[u + 3]), a3);
                a4 = v.fma(FloatVector.broadcast(SPECIES, w[p]), a4);
                a5 = v.fma(FloatVector.broadcast(SPECIES, w[r]), a5);
                u += 4;
                p++;
                r++;
            }
        }
        a0.intoArray(out, outAt);
        a1.intoArray(out, outAt + outStride);
        a2.intoArray(out, outAt + 2 * outStride);
        a3.intoArray(out, outAt + 3 * outStride);
        a4.intoArray(out, outAt + 4 * outStride);
        a5.intoArray(out, outAt + 5 * outStride);
    }

    /** The last vectors of a plane: four channels of one vector. */
    static void fourChannelsOneVector(float[] x, int xAt, int channelFloats, int channels, int[] taps, float[] w,
                                      int w0, float b0, float b1, float b2, float b3, float[] out, int outAt,
                                      int outStride) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, b0), a1 = FloatVector.broadcast(SPECIES, b1);
        FloatVector a2 = FloatVector.broadcast(SPECIES, b2), a3 = FloatVector.broadcast(SPECIES, b3);
        int u = w0;
        for (int c = 0; c < channels; c++) {
            int channel = xAt + c * channelFloats;
            for (int tap : taps) {
                FloatVector v = FloatVector.fromArray(SPECIES, x, channel + tap);
                a0 = v.fma(FloatVector.broadcast(SPECIES, w[u]), a0);
                a1 = v.fma(FloatVector.broadcast(SPECIES, w[u + 1]), a1);
                a2 = v.fma(FloatVector.broadcast(SPECIES, w[u + 2]), a2);
                a3 = v.fma(FloatVector.broadcast(SPECIES, w[u + 3]), a3);
                u += 4;
            }
        }
        a0.intoArray(out, outAt);
        a1.intoArray(out, outAt + outStride);
        a2.intoArray(out, outAt + 2 * outStride);
        a3.intoArray(out, outAt + 3 * outStride);
    }

    /**
     * One output channel of four vectors; its weights are {@code w[w0 + i*step]} for
     * {@code i = c*taps + t} ({@code step} 1 when plain, 4 inside an interleaved block).
     */
    static void oneChannelFourVectors(float[] x, int xAt, int channelFloats, int channels, int[] taps, float[] w,
                                      int w0, int step, float bias, float[] out, int outAt) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, bias), a1 = a0, a2 = a0, a3 = a0;
        int u = w0;
        for (int c = 0; c < channels; c++) {
            int channel = xAt + c * channelFloats;
            for (int tap : taps) {
                int at = channel + tap;
                FloatVector v = FloatVector.broadcast(SPECIES, w[u]);
                u += step;
                a0 = FloatVector.fromArray(SPECIES, x, at).fma(v, a0);
                a1 = FloatVector.fromArray(SPECIES, x, at + LANES).fma(v, a1);
                a2 = FloatVector.fromArray(SPECIES, x, at + 2 * LANES).fma(v, a2);
                a3 = FloatVector.fromArray(SPECIES, x, at + 3 * LANES).fma(v, a3);
            }
        }
        a0.intoArray(out, outAt);
        a1.intoArray(out, outAt + LANES);
        a2.intoArray(out, outAt + 2 * LANES);
        a3.intoArray(out, outAt + 3 * LANES);
    }

    /**
     * Two output channels of one group that are not in a four-channel block (the seed's second
     * layer has six filters: a block and two left), four vectors: their weights at {@code wa + i *
     * step} and {@code wb + i * step}, outputs {@code outStride} apart. Each input vector feeds two
     * FMAs instead of one, as two {@link #oneChannelFourVectors} calls would load it twice.
     */
    static void twoChannelsFourVectors(float[] x, int xAt, int channelFloats, int channels, int[] taps, float[] w,
                                       int wa, int wb, int step, float biasA, float biasB, float[] out, int outAt,
                                       int outStride) {
        FloatVector a0 = FloatVector.broadcast(SPECIES, biasA), a1 = a0, a2 = a0, a3 = a0;
        FloatVector b0 = FloatVector.broadcast(SPECIES, biasB), b1 = b0, b2 = b0, b3 = b0;
        int u = wa, v = wb;
        for (int c = 0; c < channels; c++) {
            int channel = xAt + c * channelFloats;
            for (int tap : taps) {
                int at = channel + tap;
                FloatVector x0 = FloatVector.fromArray(SPECIES, x, at);
                FloatVector x1 = FloatVector.fromArray(SPECIES, x, at + LANES);
                FloatVector x2 = FloatVector.fromArray(SPECIES, x, at + 2 * LANES);
                FloatVector x3 = FloatVector.fromArray(SPECIES, x, at + 3 * LANES);
                FloatVector p = FloatVector.broadcast(SPECIES, w[u]), q = FloatVector.broadcast(SPECIES, w[v]);
                u += step;
                v += step;
                a0 = x0.fma(p, a0);
                a1 = x1.fma(p, a1);
                a2 = x2.fma(p, a2);
                a3 = x3.fma(p, a3);
                b0 = x0.fma(q, b0);
                b1 = x1.fma(q, b1);
                b2 = x2.fma(q, b2);
                b3 = x3.fma(q, b3);
            }
        }
        a0.intoArray(out, outAt);
        a1.intoArray(out, outAt + LANES);
        a2.intoArray(out, outAt + 2 * LANES);
        a3.intoArray(out, outAt + 3 * LANES);
        int o = outAt + outStride;
        b0.intoArray(out, o);
        b1.intoArray(out, o + LANES);
        b2.intoArray(out, o + 2 * LANES);
        b3.intoArray(out, o + 3 * LANES);
    }

    /**
     * The last vectors of a pair of {@link #twoChannelsFourVectors}: two channels of one vector, two
     * FMA chains where two single-channel tiles would each wait on the FMA latency.
     */
    static void twoChannelsOneVector(float[] x, int xAt, int channelFloats, int channels, int[] taps, float[] w,
                                     int wa, int wb, int step, float biasA, float biasB, float[] out, int outAt,
                                     int outStride) {
        FloatVector a = FloatVector.broadcast(SPECIES, biasA), b = FloatVector.broadcast(SPECIES, biasB);
        int u = wa, v = wb;
        for (int c = 0; c < channels; c++) {
            int channel = xAt + c * channelFloats;
            for (int tap : taps) {
                FloatVector in = FloatVector.fromArray(SPECIES, x, channel + tap);
                a = in.fma(FloatVector.broadcast(SPECIES, w[u]), a);
                b = in.fma(FloatVector.broadcast(SPECIES, w[v]), b);
                u += step;
                v += step;
            }
        }
        a.intoArray(out, outAt);
        b.intoArray(out, outAt + outStride);
    }

    /** One output channel of one vector, weights as in {@link #oneChannelFourVectors}. */
    static void oneChannelOneVector(float[] x, int xAt, int channelFloats, int channels, int[] taps, float[] w,
                                    int w0, int step, float bias, float[] out, int outAt) {
        FloatVector a = FloatVector.broadcast(SPECIES, bias);
        int u = w0;
        for (int c = 0; c < channels; c++) {
            int channel = xAt + c * channelFloats;
            for (int tap : taps) {
                a = FloatVector.fromArray(SPECIES, x, channel + tap).fma(FloatVector.broadcast(SPECIES, w[u]), a);
                u += step;
            }
        }
        a.intoArray(out, outAt);
    }

    /**
     * Backward-weights of four output channels (gradients {@code dy[dyAt + j*dyStride + q]}) times
     * four taps of one input channel ({@code x[xAt + q + tap]}), over {@code vectors} vectors of
     * {@code q} of each of {@code items} items ({@code xItem} and {@code dyItem} floats apart), into
     * the partial lanes {@code partial[at + j*channelStride + i*lanes ...]}: the accumulators stay in
     * registers across the items, which on the seed's small planes (nine vectors) cost as much to
     * load and store as the FMAs between. For items whose input is finite (see
     * {@link #oneChannelOneTapMasked} for the others).
     */
    static void fourChannelsFourTaps(float[] x, int xAt, int tap0, int tap1, int tap2, int tap3, float[] dy, int dyAt,
                                     int dyStride, int vectors, int items, int xItem, int dyItem, float[] partial,
                                     int at, int channelStride) {
        int p1 = at + channelStride, p2 = at + 2 * channelStride, p3 = at + 3 * channelStride;
        FloatVector a00 = FloatVector.fromArray(SPECIES, partial, at);
        FloatVector a01 = FloatVector.fromArray(SPECIES, partial, at + LANES);
        FloatVector a02 = FloatVector.fromArray(SPECIES, partial, at + 2 * LANES);
        FloatVector a03 = FloatVector.fromArray(SPECIES, partial, at + 3 * LANES);
        FloatVector a10 = FloatVector.fromArray(SPECIES, partial, p1);
        FloatVector a11 = FloatVector.fromArray(SPECIES, partial, p1 + LANES);
        FloatVector a12 = FloatVector.fromArray(SPECIES, partial, p1 + 2 * LANES);
        FloatVector a13 = FloatVector.fromArray(SPECIES, partial, p1 + 3 * LANES);
        FloatVector a20 = FloatVector.fromArray(SPECIES, partial, p2);
        FloatVector a21 = FloatVector.fromArray(SPECIES, partial, p2 + LANES);
        FloatVector a22 = FloatVector.fromArray(SPECIES, partial, p2 + 2 * LANES);
        FloatVector a23 = FloatVector.fromArray(SPECIES, partial, p2 + 3 * LANES);
        FloatVector a30 = FloatVector.fromArray(SPECIES, partial, p3);
        FloatVector a31 = FloatVector.fromArray(SPECIES, partial, p3 + LANES);
        FloatVector a32 = FloatVector.fromArray(SPECIES, partial, p3 + 2 * LANES);
        FloatVector a33 = FloatVector.fromArray(SPECIES, partial, p3 + 3 * LANES);
        for (int m = 0; m < items; m++, xAt += xItem, dyAt += dyItem) {
            for (int i = 0, q = 0; i < vectors; i++, q += LANES) {
                FloatVector x0 = FloatVector.fromArray(SPECIES, x, xAt + q + tap0);
                FloatVector x1 = FloatVector.fromArray(SPECIES, x, xAt + q + tap1);
                FloatVector x2 = FloatVector.fromArray(SPECIES, x, xAt + q + tap2);
                FloatVector x3 = FloatVector.fromArray(SPECIES, x, xAt + q + tap3);
                FloatVector d = FloatVector.fromArray(SPECIES, dy, dyAt + q);
                a00 = d.fma(x0, a00);
                a01 = d.fma(x1, a01);
                a02 = d.fma(x2, a02);
                a03 = d.fma(x3, a03);
                d = FloatVector.fromArray(SPECIES, dy, dyAt + dyStride + q);
                a10 = d.fma(x0, a10);
                a11 = d.fma(x1, a11);
                a12 = d.fma(x2, a12);
                a13 = d.fma(x3, a13);
                d = FloatVector.fromArray(SPECIES, dy, dyAt + 2 * dyStride + q);
                a20 = d.fma(x0, a20);
                a21 = d.fma(x1, a21);
                a22 = d.fma(x2, a22);
                a23 = d.fma(x3, a23);
                d = FloatVector.fromArray(SPECIES, dy, dyAt + 3 * dyStride + q);
                a30 = d.fma(x0, a30);
                a31 = d.fma(x1, a31);
                a32 = d.fma(x2, a32);
                a33 = d.fma(x3, a33);
            }
        }
        a00.intoArray(partial, at);
        a01.intoArray(partial, at + LANES);
        a02.intoArray(partial, at + 2 * LANES);
        a03.intoArray(partial, at + 3 * LANES);
        a10.intoArray(partial, p1);
        a11.intoArray(partial, p1 + LANES);
        a12.intoArray(partial, p1 + 2 * LANES);
        a13.intoArray(partial, p1 + 3 * LANES);
        a20.intoArray(partial, p2);
        a21.intoArray(partial, p2 + LANES);
        a22.intoArray(partial, p2 + 2 * LANES);
        a23.intoArray(partial, p2 + 3 * LANES);
        a30.intoArray(partial, p3);
        a31.intoArray(partial, p3 + LANES);
        a32.intoArray(partial, p3 + 2 * LANES);
        a33.intoArray(partial, p3 + 3 * LANES);
    }

    /** Four output channels, one tap: the taps the four-tap tile leaves (finite inputs). */
    static void fourChannelsOneTap(float[] x, int xAt, int tap, float[] dy, int dyAt, int dyStride, int vectors,
                                   int items, int xItem, int dyItem, float[] partial, int at, int channelStride) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, partial, at);
        FloatVector a1 = FloatVector.fromArray(SPECIES, partial, at + channelStride);
        FloatVector a2 = FloatVector.fromArray(SPECIES, partial, at + 2 * channelStride);
        FloatVector a3 = FloatVector.fromArray(SPECIES, partial, at + 3 * channelStride);
        for (int m = 0; m < items; m++, xAt += xItem, dyAt += dyItem) {
            for (int i = 0, q = 0; i < vectors; i++, q += LANES) {
                FloatVector v = FloatVector.fromArray(SPECIES, x, xAt + q + tap);
                a0 = FloatVector.fromArray(SPECIES, dy, dyAt + q).fma(v, a0);
                a1 = FloatVector.fromArray(SPECIES, dy, dyAt + dyStride + q).fma(v, a1);
                a2 = FloatVector.fromArray(SPECIES, dy, dyAt + 2 * dyStride + q).fma(v, a2);
                a3 = FloatVector.fromArray(SPECIES, dy, dyAt + 3 * dyStride + q).fma(v, a3);
            }
        }
        a0.intoArray(partial, at);
        a1.intoArray(partial, at + channelStride);
        a2.intoArray(partial, at + 2 * channelStride);
        a3.intoArray(partial, at + 3 * channelStride);
    }

    /** One output channel, four taps, partials {@code partial[at + i*lanes ...]} (finite inputs). */
    static void oneChannelFourTaps(float[] x, int xAt, int tap0, int tap1, int tap2, int tap3, float[] dy, int dyAt,
                                   int vectors, int items, int xItem, int dyItem, float[] partial, int at) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, partial, at);
        FloatVector a1 = FloatVector.fromArray(SPECIES, partial, at + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, partial, at + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, partial, at + 3 * LANES);
        for (int m = 0; m < items; m++, xAt += xItem, dyAt += dyItem) {
            for (int i = 0, q = 0; i < vectors; i++, q += LANES) {
                FloatVector d = FloatVector.fromArray(SPECIES, dy, dyAt + q);
                a0 = d.fma(FloatVector.fromArray(SPECIES, x, xAt + q + tap0), a0);
                a1 = d.fma(FloatVector.fromArray(SPECIES, x, xAt + q + tap1), a1);
                a2 = d.fma(FloatVector.fromArray(SPECIES, x, xAt + q + tap2), a2);
                a3 = d.fma(FloatVector.fromArray(SPECIES, x, xAt + q + tap3), a3);
            }
        }
        a0.intoArray(partial, at);
        a1.intoArray(partial, at + LANES);
        a2.intoArray(partial, at + 2 * LANES);
        a3.intoArray(partial, at + 3 * LANES);
    }

    /** One output channel, one tap (finite inputs). */
    static void oneChannelOneTap(float[] x, int xAt, int tap, float[] dy, int dyAt, int vectors, int items, int xItem,
                                 int dyItem, float[] partial, int at) {
        FloatVector a = FloatVector.fromArray(SPECIES, partial, at);
        for (int m = 0; m < items; m++, xAt += xItem, dyAt += dyItem) {
            for (int i = 0, q = 0; i < vectors; i++, q += LANES) {
                a = FloatVector.fromArray(SPECIES, dy, dyAt + q).fma(FloatVector.fromArray(SPECIES, x, xAt + q + tap), a);
            }
        }
        a.intoArray(partial, at);
    }

    /**
     * One output channel, one tap, the input ANDed with the pattern of real columns: for an item
     * with an infinite or NaN input, whose dropped columns would otherwise give {@code 0 * Inf = NaN}.
     * (The mask in the four-by-four tile made C2 give up inlining part of it, and box its vectors.)
     */
    static void oneChannelOneTapMasked(float[] x, int xAt, int tap, int[] real, float[] dy, int dyAt, int vectors,
                                       float[] partial, int at) {
        FloatVector a = FloatVector.fromArray(SPECIES, partial, at);
        for (int i = 0, q = 0; i < vectors; i++, q += LANES) {
            FloatVector v = FloatVector.fromArray(SPECIES, x, xAt + q + tap)
                    .reinterpretAsInts().and(IntVector.fromArray(BITS, real, q)) .reinterpretAsFloats();
            a = FloatVector.fromArray(SPECIES, dy, dyAt + q).fma(v, a);
        }
        a.intoArray(partial, at);
    }

    /** True when {@code x[from .. from + count)} holds no infinity and no NaN. */
    static boolean finite(float[] x, int from, int count) {
        FloatVector zeros = FloatVector.zero(SPECIES);
        int i = 0;
        for (int end = from + count - count % LANES; from + i < end; i += LANES) {
            zeros = FloatVector.fromArray(SPECIES, x, from + i).fma(zeros, zeros); // x * 0 + 0 is 0 for every finite x, NaN otherwise
        }
        for (int j = from + i; j < from + count; j++) {
            if (!Float.isFinite(x[j])) {
                return false;
            }
        }
        return !zeros.test(jdk.incubator.vector.VectorOperators.IS_NAN).anyTrue();
    }

    /** {@code partial[at ...] += dy[from .. from + vectors*lanes)}, lane by lane: a bias gradient's share. */
    static void sum(float[] dy, int from, int vectors, float[] partial, int at) {
        FloatVector a = FloatVector.fromArray(SPECIES, partial, at);
        for (int i = 0, q = from; i < vectors; i++, q += LANES) {
            a = a.add(FloatVector.fromArray(SPECIES, dy, q));
        }
        a.intoArray(partial, at);
    }

    /**
     * Copies {@code rows} rows of {@code width} floats, {@code pitch} apart from {@code src[from]},
     * to consecutive rows from {@code dst[to]}, a whole vector at a time (a flat output's real
     * columns into its plane). A store may run up to {@code LANES - 1} floats past its row; the next
     * row's store overwrites them, so rows go in order and {@code dst} needs that much room after
     * the last. On the seed's second layer this replaced 66 array copies of 11 floats per item,
     * a quarter of the forward call.
     */
    static void compactRows(float[] src, int from, int pitch, int rows, int width, float[] dst, int to) {
        for (int r = 0; r < rows; r++) {
            for (int i = 0; i < width; i += LANES) {
                FloatVector.fromArray(SPECIES, src, from + r * pitch + i).intoArray(dst, to + r * width + i);
            }
        }
    }

    /**
     * The inverse of {@link #compactRows}: rows of {@code width} floats, consecutive from
     * {@code src[from]}, to rows {@code pitch} apart from {@code dst[to]}, zeros in the
     * {@code pitch - width} columns after each row but the last (the caller clears after that one).
     * Whole vectors, unmasked: a load may read up to {@code LANES - 1} floats past the last row
     * ({@code src} needs that room), and a store may run past its row, over its dropped columns,
     * which are zeroed next, and into the next row, which the next row's stores overwrite.
     */
    static void spreadRows(float[] src, int from, int rows, int width, int pitch, float[] dst, int to) {
        for (int r = 0; r < rows; r++) {
            int row = to + r * pitch;
            for (int i = 0; i < width; i += LANES) {
                FloatVector.fromArray(SPECIES, src, from + r * width + i).intoArray(dst, row + i);
            }
            for (int j = row + width, end = r + 1 < rows ? row + pitch : 0; j < end; j++) {
                dst[j] = 0f;
            }
        }
    }
}
