package org.simdconv.internal.simd.depthwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import org.simdconv.internal.simd.common.BlockedProblem;
import org.simdconv.tensor.Tensor;

/**
 * A depthwise 3x3 kernel at stride 1 (the problems {@link DepthwisePlane#sweepsInPlace} accepts)
 * on NCHW planes, vectorised along each output row: the same sums as the channel-blocked tiles, in
 * the same order (kernel-row-major, from the start value), so both entry points give the same
 * bits. On NCHW tensors the blocked kernel needed every plane converted to the blocked layout and
 * back, where this one reads each input plane once and writes each output plane once.
 *
 * <pre>
 *   out[oh][ow .. ow+lanes) = start + sum over r, s of in[oh + r - pt][ow + s - pl .. + lanes) * w[r][s]
 * </pre>
 * (seed 001, 17.1.6, for one channel). A row is covered by vectors of {@code lanes} output
 * columns. A tap whose input columns fall partly outside the row (the first vector's left tap, the
 * last vector's right tap) is loaded whole and its product blended into only the lanes whose
 * input lies inside, so nothing outside the row is ever added (an infinity there would otherwise
 * make a NaN). To load whole vectors across a row's ends without a masked load (which measured six
 * cycles each here, against one), each plane is copied into an array with room on either side, and
 * each output plane is computed in an array and copied out in bulk: the last vector of a row is
 * stored whole, its lanes past the row landing on the next row's first columns before those are
 * computed (rows in order; within a pair of rows, the last vector first). On MobileNet's layer
 * this is 1.6 times as fast as the blocked kernel with its conversions.
 */
final class DepthwiseRows {

    private final BlockedProblem p;
    private final int vectors;
    /** Per vector and kernel column {@code [v*3 + s]}: the lanes whose input column lies inside the row. */
    private final long[] inside;
    /** Per vector: true when all three kernel columns lie inside for every lane. */
    private final boolean[] whole;
    private final int[] firstRows, endRows;
    /** Floats of room before and after a staged input plane, for loads that start left of a row or end right of it. */
    private final int before, after;

    DepthwiseRows(BlockedProblem p) {
        this.p = p;
        this.vectors = Math.ceilDiv(p.outW(), LANES);
        this.inside = new long[vectors * 3];
        this.whole = new boolean[vectors];
        for (int v = 0; v < vectors; v++) {
            for (int lane = 0; lane < LANES; lane++) {
                int ow = v * LANES + lane;
                for (int s = 0; s < 3; s++) {
                    int iw = ow + s - p.padLeft();
                    if (ow < p.outW() && iw >= 0 && iw < p.inW()) {
                        inside[v * 3 + s] |= 1L << lane;
                    }
                }
            }
            long all = (1L << LANES) - 1;
            whole[v] = inside[v * 3] == all && inside[v * 3 + 1] == all && inside[v * 3 + 2] == all;
        }
        before = Math.max(0, p.padLeft());
        after = Math.max(0, (vectors - 1) * LANES - p.padLeft() + 2 + LANES - p.inW());
        firstRows = new int[p.outH()];
        endRows = new int[p.outH()];
        for (int oh = 0; oh < p.outH(); oh++) {
            firstRows[oh] = p.firstRow(oh);
            endRows[oh] = p.endRow(oh);
        }
    }

    /** Floats of the array an input plane is copied into, with room on either side. */
    int inputArrayFloats() {
        return before + p.inH() * p.inW() + after;
    }

    /** Floats of the array an output plane is computed in. */
    int outputArrayFloats() {
        return p.outH() * p.outW() + LANES;
    }

    /**
     * Writes the output plane at byte {@code outPlane} of {@code out} (NCHW, {@code outH x outW}) from
     * the input plane at byte {@code inPlane} of {@code in}, with the weights
     * {@code w[w0 + tap*wStride]} (taps row-major), each output starting from {@code bias}, or
     * from its own value when {@code accumulate}; through the arrays {@code x}
     * ({@link #inputArrayFloats}) and {@code y} ({@link #outputArrayFloats}).
     */
    void run(MemorySegment in, long inPlane, float[] w, int w0, int wStride, MemorySegment out, long outPlane,
             float bias, boolean accumulate, float[] x, float[] y) {
        int inFloats = p.inH() * p.inW(), outFloats = p.outH() * p.outW();
        MemorySegment.copy(in, Tensor.FLOAT, inPlane, x, before, inFloats);
        if (accumulate) {
            MemorySegment.copy(out, Tensor.FLOAT, outPlane, y, 0, outFloats);
        }
        FloatVector start = FloatVector.broadcast(SPECIES, bias);
        for (int oh = 0; oh < p.outH(); oh++) {
            int r0 = firstRows[oh], r1 = endRows[oh];
            if (r1 - r0 == 3 && oh + 1 < p.outH() && endRows[oh + 1] - firstRows[oh + 1] == 3) {
                twoRows(x, y, oh, w, w0, wStride, bias, accumulate);
                oh++;
                continue;
            }
            for (int v = 0; v < vectors; v++) {
                int o = oh * p.outW() + v * LANES;
                FloatVector a = accumulate ? FloatVector.fromArray(SPECIES, y, o) : start;
                boolean full = whole[v];
                for (int r = r0; r < r1; r++) {
                    int at = before + (oh + r - p.padTop()) * p.inW() + v * LANES - p.padLeft();
                    int t = w0 + 3 * r * wStride;
                    FloatVector wa = FloatVector.broadcast(SPECIES, w[t]);
                    FloatVector wb = FloatVector.broadcast(SPECIES, w[t + wStride]);
                    FloatVector wc = FloatVector.broadcast(SPECIES, w[t + 2 * wStride]);
                    FloatVector xa = FloatVector.fromArray(SPECIES, x, at);
                    FloatVector xb = FloatVector.fromArray(SPECIES, x, at + 1);
                    FloatVector xc = FloatVector.fromArray(SPECIES, x, at + 2);
                    if (full) {
                        a = xc.fma(wc, xb.fma(wb, xa.fma(wa, a)));
                    } else { // masks made here, not through a condition: C2 would box them
                        VectorMask<Float> left = VectorMask.fromLong(SPECIES, inside[v * 3]);
                        VectorMask<Float> middle = VectorMask.fromLong(SPECIES, inside[v * 3 + 1]);
                        VectorMask<Float> right = VectorMask.fromLong(SPECIES, inside[v * 3 + 2]);
                        a = a.blend(xa.fma(wa, a), left);
                        a = a.blend(xb.fma(wb, a), middle);
                        a = a.blend(xc.fma(wc, a), right);
                    }
                }
                a.intoArray(y, o);
            }
        }
        MemorySegment.copy(y, 0, out, Tensor.FLOAT, outPlane, outFloats);
    }

    /**
     * Output rows {@code oh} and {@code oh + 1}, both with all three kernel rows inside: their
     * vectors computed side by side (two independent chains of FMAs, the four input rows they span
     * loaded once), each pixel's taps still in kernel-row-major order.
     */
    private void twoRows(float[] x, float[] y, int oh, float[] w, int w0, int wStride, float bias,
                         boolean accumulate) {
        FloatVector start = FloatVector.broadcast(SPECIES, bias);
        FloatVector w00 = FloatVector.broadcast(SPECIES, w[w0]), w01 = FloatVector.broadcast(SPECIES, w[w0 + wStride]),
                w02 = FloatVector.broadcast(SPECIES, w[w0 + 2 * wStride]),
                w10 = FloatVector.broadcast(SPECIES, w[w0 + 3 * wStride]),
                w11 = FloatVector.broadcast(SPECIES, w[w0 + 4 * wStride]),
                w12 = FloatVector.broadcast(SPECIES, w[w0 + 5 * wStride]),
                w20 = FloatVector.broadcast(SPECIES, w[w0 + 6 * wStride]),
                w21 = FloatVector.broadcast(SPECIES, w[w0 + 7 * wStride]),
                w22 = FloatVector.broadcast(SPECIES, w[w0 + 8 * wStride]);
        int inW = p.inW();
        // Last vector first: its lanes past the row spill into the next row, which the first vector then overwrites.
        for (int v = vectors - 1; v >= 0; v--) {
            int o = oh * p.outW() + v * LANES;
            FloatVector a = accumulate ? FloatVector.fromArray(SPECIES, y, o) : start;
            FloatVector b = accumulate ? FloatVector.fromArray(SPECIES, y, o + p.outW()) : start;
            int at = before + (oh - p.padTop()) * inW + v * LANES - p.padLeft();
            if (whole[v]) {
                FloatVector x0 = FloatVector.fromArray(SPECIES, x, at), x1 = FloatVector.fromArray(SPECIES, x, at + 1),
                        x2 = FloatVector.fromArray(SPECIES, x, at + 2);
                a = x2.fma(w02, x1.fma(w01, x0.fma(w00, a)));
                x0 = FloatVector.fromArray(SPECIES, x, at + inW);
                x1 = FloatVector.fromArray(SPECIES, x, at + inW + 1);
                x2 = FloatVector.fromArray(SPECIES, x, at + inW + 2);
                a = x2.fma(w12, x1.fma(w11, x0.fma(w10, a)));
                b = x2.fma(w02, x1.fma(w01, x0.fma(w00, b)));
                x0 = FloatVector.fromArray(SPECIES, x, at + 2 * inW);
                x1 = FloatVector.fromArray(SPECIES, x, at + 2 * inW + 1);
                x2 = FloatVector.fromArray(SPECIES, x, at + 2 * inW + 2);
                a = x2.fma(w22, x1.fma(w21, x0.fma(w20, a)));
                b = x2.fma(w12, x1.fma(w11, x0.fma(w10, b)));
                x0 = FloatVector.fromArray(SPECIES, x, at + 3 * inW);
                x1 = FloatVector.fromArray(SPECIES, x, at + 3 * inW + 1);
                x2 = FloatVector.fromArray(SPECIES, x, at + 3 * inW + 2);
                b = x2.fma(w22, x1.fma(w21, x0.fma(w20, b)));
            } else {
                VectorMask<Float> l = VectorMask.fromLong(SPECIES, inside[v * 3]);
                VectorMask<Float> m = VectorMask.fromLong(SPECIES, inside[v * 3 + 1]);
                VectorMask<Float> r = VectorMask.fromLong(SPECIES, inside[v * 3 + 2]);
                FloatVector x0 = FloatVector.fromArray(SPECIES, x, at), x1 = FloatVector.fromArray(SPECIES, x, at + 1),
                        x2 = FloatVector.fromArray(SPECIES, x, at + 2);
                a = a.blend(x0.fma(w00, a), l);
                a = a.blend(x1.fma(w01, a), m);
                a = a.blend(x2.fma(w02, a), r);
                x0 = FloatVector.fromArray(SPECIES, x, at + inW);
                x1 = FloatVector.fromArray(SPECIES, x, at + inW + 1);
                x2 = FloatVector.fromArray(SPECIES, x, at + inW + 2);
                a = a.blend(x0.fma(w10, a), l);
                b = b.blend(x0.fma(w00, b), l);
                a = a.blend(x1.fma(w11, a), m);
                b = b.blend(x1.fma(w01, b), m);
                a = a.blend(x2.fma(w12, a), r);
                b = b.blend(x2.fma(w02, b), r);
                x0 = FloatVector.fromArray(SPECIES, x, at + 2 * inW);
                x1 = FloatVector.fromArray(SPECIES, x, at + 2 * inW + 1);
                x2 = FloatVector.fromArray(SPECIES, x, at + 2 * inW + 2);
                a = a.blend(x0.fma(w20, a), l);
                b = b.blend(x0.fma(w10, b), l);
                a = a.blend(x1.fma(w21, a), m);
                b = b.blend(x1.fma(w11, b), m);
                a = a.blend(x2.fma(w22, a), r);
                b = b.blend(x2.fma(w12, b), r);
                x0 = FloatVector.fromArray(SPECIES, x, at + 3 * inW);
                x1 = FloatVector.fromArray(SPECIES, x, at + 3 * inW + 1);
                x2 = FloatVector.fromArray(SPECIES, x, at + 3 * inW + 2);
                b = b.blend(x0.fma(w20, b), l);
                b = b.blend(x1.fma(w21, b), m);
                b = b.blend(x2.fma(w22, b), r);
            }
            a.intoArray(y, o);
            b.intoArray(y, o + p.outW());
        }
    }
}
