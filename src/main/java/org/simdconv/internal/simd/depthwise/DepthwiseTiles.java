package org.simdconv.internal.simd.depthwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;

/**
 * Register tiles of the depthwise convolution ({@link DepthwiseKernel}) on one block of
 * channels of a channel-blocked tensor, where every lane is its own channel with its own filter:
 * <pre>
 *   acc[p] += in[pixel p + tap][0 .. lanes) * w[tap][0 .. lanes)
 * </pre>
 * the forward formula of seed 001 (17.1.6) with one input channel per filter, so there is nothing
 * to broadcast: every operand is a vector load. Four pixels of a row share each weight vector: five loads feed four FMAs, which two load
 * ports sustain next to two FMA pipes at about 80% of the FMA peak; there is no reduction over
 * channels, so the pass is bound by loads and memory rather than by FMAs.
 *
 * <p>Accumulators start from {@code start}: a vector read at {@code startAt + p*startStep} for
 * pixel {@code p}, which is the bias (step 0) in the forward pass, zeros in backward-data, or the
 * output itself when accumulating, so the output is written once and never filled first. They
 * add the taps in the order of the tap list, kernel-row-major for every tile, so results do not
 * depend on how pixels are cut into tiles or tasks.
 *
 * <p>The forward and backward-data tiles read their input from heap arrays, one staged plane each
 * (reading the planes from segments measured 1.6 to 1.8 times slower in these tiles); outputs,
 * loaded and stored once per tile, stay on segments. The weight-gradient tiles read both planes
 * where they lie, from a byte {@code base} of a segment (the caller's blocked tensor, or a staged
 * copy of an NCHW one): MobileNet's layer reads 12.8 MB, more than this machine's share of L3, and
 * copying every plane into an array first took longer than the FMAs, which direct loads overlap
 * with the reads (almost twice as fast). Input offsets are float
 * indices, output offsets bytes. Entry {@code t}
 * of a {@link TapList} reads the input at {@code offsets[t]} from a pixel's tap (0, 0) and the
 * weights at {@code w[w0 + weights[t]]}.
 */
final class DepthwiseTiles {

    /** Output pixels of the tile for strided rows. */
    static final int PIXELS = 4;
    /** Output pixels of the tile for dense rows (stride 1). */
    static final int DENSE_PIXELS = 8;
    /** Bytes of one pixel of a block: one vector. */
    static final long PIXEL_BYTES = (long) LANES * Float.BYTES;

    private DepthwiseTiles() {
    }

    /** Taps as a flat list (one loop, no nested kernel loops): input offsets and weight indices. */
    record TapList(int[] offsets, int[] weights) {
    }

    /**
     * Eight consecutive pixels of a row (one vector apart in the input: stride 1, as in every phase
     * of backward-data) over the taps {@code [from, to)} of the list: the main tile. With the pixel step a constant
     * C2 folds it into the loads' displacements and merges their bounds checks; with four pixels
     * at a variable step the loop measured ten instructions per FMA.
     */
    static void eightPixels(float[] in, int at, TapList taps, int from, int to, float[] w, int w0,
                            MemorySegment start, long startAt, long startStep, MemorySegment out, long outAt,
                            long outStep) {
        int[] offsets = taps.offsets(), weights = taps.weights();
        FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, start, startAt, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, start, startAt + startStep, ORDER);
        FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, start, startAt + 2 * startStep, ORDER);
        FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, start, startAt + 3 * startStep, ORDER);
        FloatVector a4 = FloatVector.fromMemorySegment(SPECIES, start, startAt + 4 * startStep, ORDER);
        FloatVector a5 = FloatVector.fromMemorySegment(SPECIES, start, startAt + 5 * startStep, ORDER);
        FloatVector a6 = FloatVector.fromMemorySegment(SPECIES, start, startAt + 6 * startStep, ORDER);
        FloatVector a7 = FloatVector.fromMemorySegment(SPECIES, start, startAt + 7 * startStep, ORDER);
        for (int t = from; t < to; t++) {
            FloatVector wt = FloatVector.fromArray(SPECIES, w, w0 + weights[t]);
            int x = at + offsets[t];
            a0 = FloatVector.fromArray(SPECIES, in, x).fma(wt, a0);
            a1 = FloatVector.fromArray(SPECIES, in, x + LANES).fma(wt, a1);
            a2 = FloatVector.fromArray(SPECIES, in, x + 2 * LANES).fma(wt, a2);
            a3 = FloatVector.fromArray(SPECIES, in, x + 3 * LANES).fma(wt, a3);
            a4 = FloatVector.fromArray(SPECIES, in, x + 4 * LANES).fma(wt, a4);
            a5 = FloatVector.fromArray(SPECIES, in, x + 5 * LANES).fma(wt, a5);
            a6 = FloatVector.fromArray(SPECIES, in, x + 6 * LANES).fma(wt, a6);
            a7 = FloatVector.fromArray(SPECIES, in, x + 7 * LANES).fma(wt, a7);
        }
        a0.intoMemorySegment(out, outAt, ORDER);
        a1.intoMemorySegment(out, outAt + outStep, ORDER);
        a2.intoMemorySegment(out, outAt + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, outAt + 3 * outStep, ORDER);
        a4.intoMemorySegment(out, outAt + 4 * outStep, ORDER);
        a5.intoMemorySegment(out, outAt + 5 * outStep, ORDER);
        a6.intoMemorySegment(out, outAt + 6 * outStep, ORDER);
        a7.intoMemorySegment(out, outAt + 7 * outStep, ORDER);
    }


    /**
     * {@code tiles} tiles of eight consecutive pixels of a row, for a kernel three columns wide at
     * stride 1 and dilation 1 (MobileNet's 3x3), over kernel rows {@code [r0, r1)}: per kernel row
     * the tile loads the ten input vectors its eight pixels share and the row's three weights, and
     * does 24 FMAs, 0.54 loads per FMA where {@link #eightPixels} loads one input per FMA. Each
     * pixel still adds its taps in kernel-row-major order. {@code rowFloats} is the floats between
     * the input rows of two kernel rows (dilation included); the tiles are eight pixels apart in input, start and output.
     */
    static void eightPixelsThreeColumns(float[] in, int at, int rowFloats, int r0, int r1, float[] w, int w0,
                                        int tiles, MemorySegment start, long startAt, long startStep,
                                        MemorySegment out, long outAt, long outStep) {
        for (int tile = 0; tile < tiles; tile++) {
            long s = startAt + tile * DENSE_PIXELS * startStep, o = outAt + tile * DENSE_PIXELS * outStep;
            FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, start, s, ORDER);
            FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, start, s + startStep, ORDER);
            FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, start, s + 2 * startStep, ORDER);
            FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, start, s + 3 * startStep, ORDER);
            FloatVector a4 = FloatVector.fromMemorySegment(SPECIES, start, s + 4 * startStep, ORDER);
            FloatVector a5 = FloatVector.fromMemorySegment(SPECIES, start, s + 5 * startStep, ORDER);
            FloatVector a6 = FloatVector.fromMemorySegment(SPECIES, start, s + 6 * startStep, ORDER);
            FloatVector a7 = FloatVector.fromMemorySegment(SPECIES, start, s + 7 * startStep, ORDER);
            for (int r = r0; r < r1; r++) {
                int x = at + tile * DENSE_PIXELS * LANES + r * rowFloats, u = w0 + 3 * r * LANES;
                FloatVector wa = FloatVector.fromArray(SPECIES, w, u);
                FloatVector wb = FloatVector.fromArray(SPECIES, w, u + LANES);
                FloatVector wc = FloatVector.fromArray(SPECIES, w, u + 2 * LANES);
                FloatVector x0 = FloatVector.fromArray(SPECIES, in, x);
                FloatVector x1 = FloatVector.fromArray(SPECIES, in, x + LANES);
                FloatVector x2 = FloatVector.fromArray(SPECIES, in, x + 2 * LANES);
                a0 = x2.fma(wc, x1.fma(wb, x0.fma(wa, a0)));
                FloatVector x3 = FloatVector.fromArray(SPECIES, in, x + 3 * LANES);
                a1 = x3.fma(wc, x2.fma(wb, x1.fma(wa, a1)));
                FloatVector x4 = FloatVector.fromArray(SPECIES, in, x + 4 * LANES);
                a2 = x4.fma(wc, x3.fma(wb, x2.fma(wa, a2)));
                FloatVector x5 = FloatVector.fromArray(SPECIES, in, x + 5 * LANES);
                a3 = x5.fma(wc, x4.fma(wb, x3.fma(wa, a3)));
                FloatVector x6 = FloatVector.fromArray(SPECIES, in, x + 6 * LANES);
                a4 = x6.fma(wc, x5.fma(wb, x4.fma(wa, a4)));
                FloatVector x7 = FloatVector.fromArray(SPECIES, in, x + 7 * LANES);
                a5 = x7.fma(wc, x6.fma(wb, x5.fma(wa, a5)));
                FloatVector x8 = FloatVector.fromArray(SPECIES, in, x + 8 * LANES);
                a6 = x8.fma(wc, x7.fma(wb, x6.fma(wa, a6)));
                FloatVector x9 = FloatVector.fromArray(SPECIES, in, x + 9 * LANES);
                a7 = x9.fma(wc, x8.fma(wb, x7.fma(wa, a7)));
            }
            a0.intoMemorySegment(out, o, ORDER);
            a1.intoMemorySegment(out, o + outStep, ORDER);
            a2.intoMemorySegment(out, o + 2 * outStep, ORDER);
            a3.intoMemorySegment(out, o + 3 * outStep, ORDER);
            a4.intoMemorySegment(out, o + 4 * outStep, ORDER);
            a5.intoMemorySegment(out, o + 5 * outStep, ORDER);
            a6.intoMemorySegment(out, o + 6 * outStep, ORDER);
            a7.intoMemorySegment(out, o + 7 * outStep, ORDER);
        }
    }

    /**
     * A sweep along one output row of a 3x3 kernel at stride 1 (MobileNet's layer), over the three
     * kernel rows whose input rows start at bytes {@code row0}, {@code row1}, {@code row2} of
     * {@code in} (at the input column of tap (r, 0) of the first pixel): the nine weights stay in
     * registers, and along the row the three input vectors of each kernel row slide one pixel, so
     * a pixel loads three input vectors for nine FMAs and is stored once. The input is read where
     * it lies, in the caller's blocked tensor: within one long loop C2 hoists the segment's bounds
     * checks, and staging the plane into an array first, as the other tiles do, cost more than it
     * saved (the layer is bound by memory). A pixel's nine FMAs form one chain; the next pixels'
     * chains overlap it. Taps are added in kernel-row-major order. Weights at
     * {@code w[w0 + tap*lanes]}, taps row-major; starts at {@code startAt + p*startStep}, outputs at
     * {@code outAt + p*PIXEL_BYTES}.
     */
    static void sweepThreeRows(MemorySegment in, long row0, long row1, long row2, float[] w, int w0, int columns,
                               MemorySegment start, long startAt, long startStep, MemorySegment out, long outAt) {
        FloatVector w00 = FloatVector.fromArray(SPECIES, w, w0);
        FloatVector w01 = FloatVector.fromArray(SPECIES, w, w0 + LANES);
        FloatVector w02 = FloatVector.fromArray(SPECIES, w, w0 + 2 * LANES);
        FloatVector w10 = FloatVector.fromArray(SPECIES, w, w0 + 3 * LANES);
        FloatVector w11 = FloatVector.fromArray(SPECIES, w, w0 + 4 * LANES);
        FloatVector w12 = FloatVector.fromArray(SPECIES, w, w0 + 5 * LANES);
        FloatVector w20 = FloatVector.fromArray(SPECIES, w, w0 + 6 * LANES);
        FloatVector w21 = FloatVector.fromArray(SPECIES, w, w0 + 7 * LANES);
        FloatVector w22 = FloatVector.fromArray(SPECIES, w, w0 + 8 * LANES);
        FloatVector u0 = FloatVector.fromMemorySegment(SPECIES, in, row0, ORDER);
        FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, in, row0 + PIXEL_BYTES, ORDER);
        FloatVector u1 = FloatVector.fromMemorySegment(SPECIES, in, row1, ORDER);
        FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, in, row1 + PIXEL_BYTES, ORDER);
        FloatVector u2 = FloatVector.fromMemorySegment(SPECIES, in, row2, ORDER);
        FloatVector v2 = FloatVector.fromMemorySegment(SPECIES, in, row2 + PIXEL_BYTES, ORDER);
        for (int c = 0; c < columns; c++) {
            long next = (c + 2) * PIXEL_BYTES;
            FloatVector n0 = FloatVector.fromMemorySegment(SPECIES, in, row0 + next, ORDER);
            FloatVector n1 = FloatVector.fromMemorySegment(SPECIES, in, row1 + next, ORDER);
            FloatVector n2 = FloatVector.fromMemorySegment(SPECIES, in, row2 + next, ORDER);
            FloatVector a = FloatVector.fromMemorySegment(SPECIES, start, startAt + c * startStep, ORDER);
            a = n0.fma(w02, v0.fma(w01, u0.fma(w00, a)));
            a = n1.fma(w12, v1.fma(w11, u1.fma(w10, a)));
            a = n2.fma(w22, v2.fma(w21, u2.fma(w20, a)));
            a.intoMemorySegment(out, outAt + c * PIXEL_BYTES, ORDER);
            u0 = v0;
            v0 = n0;
            u1 = v1;
            v1 = n1;
            u2 = v2;
            v2 = n2;
        }
    }

    /**
     * {@link #sweepThreeRows} for two consecutive output rows at once, from the four input rows
     * they span (starting at bytes {@code row0} and {@code row0 + k*rowBytes}, k = 1, 2, 3): the
     * middle two input rows serve both, so a pixel pair loads four input vectors for eighteen FMAs
     * (three for nine alone), and the two rows' FMA chains are independent. 21 vector registers
     * (nine weights, twelve sliding inputs) and the two sums. Each output row is summed in the same
     * order as by {@link #sweepThreeRows}. The second row's starts are at {@code startAt1 + p*startStep},
     * its outputs at {@code outAt1 + p*PIXEL_BYTES}.
     */
    static void sweepTwoRows(MemorySegment in, long row0, long rowBytes, float[] w, int w0, int columns,
                             MemorySegment start, long startAt0, long startAt1, long startStep, MemorySegment out,
                             long outAt0, long outAt1) {
        FloatVector w00 = FloatVector.fromArray(SPECIES, w, w0);
        FloatVector w01 = FloatVector.fromArray(SPECIES, w, w0 + LANES);
        FloatVector w02 = FloatVector.fromArray(SPECIES, w, w0 + 2 * LANES);
        FloatVector w10 = FloatVector.fromArray(SPECIES, w, w0 + 3 * LANES);
        FloatVector w11 = FloatVector.fromArray(SPECIES, w, w0 + 4 * LANES);
        FloatVector w12 = FloatVector.fromArray(SPECIES, w, w0 + 5 * LANES);
        FloatVector w20 = FloatVector.fromArray(SPECIES, w, w0 + 6 * LANES);
        FloatVector w21 = FloatVector.fromArray(SPECIES, w, w0 + 7 * LANES);
        FloatVector w22 = FloatVector.fromArray(SPECIES, w, w0 + 8 * LANES);
        long row1 = row0 + rowBytes, row2 = row1 + rowBytes, row3 = row2 + rowBytes;
        FloatVector u0 = FloatVector.fromMemorySegment(SPECIES, in, row0, ORDER);
        FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, in, row0 + PIXEL_BYTES, ORDER);
        FloatVector u1 = FloatVector.fromMemorySegment(SPECIES, in, row1, ORDER);
        FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, in, row1 + PIXEL_BYTES, ORDER);
        FloatVector u2 = FloatVector.fromMemorySegment(SPECIES, in, row2, ORDER);
        FloatVector v2 = FloatVector.fromMemorySegment(SPECIES, in, row2 + PIXEL_BYTES, ORDER);
        FloatVector u3 = FloatVector.fromMemorySegment(SPECIES, in, row3, ORDER);
        FloatVector v3 = FloatVector.fromMemorySegment(SPECIES, in, row3 + PIXEL_BYTES, ORDER);
        for (int c = 0; c < columns; c++) {
            long next = (c + 2) * PIXEL_BYTES;
            FloatVector n0 = FloatVector.fromMemorySegment(SPECIES, in, row0 + next, ORDER);
            FloatVector n1 = FloatVector.fromMemorySegment(SPECIES, in, row1 + next, ORDER);
            FloatVector n2 = FloatVector.fromMemorySegment(SPECIES, in, row2 + next, ORDER);
            FloatVector n3 = FloatVector.fromMemorySegment(SPECIES, in, row3 + next, ORDER);
            FloatVector a = FloatVector.fromMemorySegment(SPECIES, start, startAt0 + c * startStep, ORDER);
            FloatVector b = FloatVector.fromMemorySegment(SPECIES, start, startAt1 + c * startStep, ORDER);
            a = n0.fma(w02, v0.fma(w01, u0.fma(w00, a)));
            b = n1.fma(w02, v1.fma(w01, u1.fma(w00, b)));
            a = n1.fma(w12, v1.fma(w11, u1.fma(w10, a)));
            b = n2.fma(w12, v2.fma(w11, u2.fma(w10, b)));
            a = n2.fma(w22, v2.fma(w21, u2.fma(w20, a)));
            b = n3.fma(w22, v3.fma(w21, u3.fma(w20, b)));
            a.intoMemorySegment(out, outAt0 + c * PIXEL_BYTES, ORDER);
            b.intoMemorySegment(out, outAt1 + c * PIXEL_BYTES, ORDER);
            u0 = v0;
            v0 = n0;
            u1 = v1;
            v1 = n1;
            u2 = v2;
            v2 = n2;
            u3 = v3;
            v3 = n3;
        }
    }

    /**
     * {@link #sweepThreeRows} over two kernel rows, for the output rows at a plane's top and bottom
     * that a padding of one leaves with two of the three inside: the six taps whose weights start
     * at {@code w[w0]} (kernel row r0, then r0 + 1), input rows at {@code row0} and
     * {@code row0 + rowBytes}, in one pass over the row instead of one pass per kernel row.
     */
    static void sweepTwoKernelRows(MemorySegment in, long row0, long rowBytes, float[] w, int w0, int columns,
                                   MemorySegment start, long startAt, long startStep, MemorySegment out, long outAt) {
        FloatVector w00 = FloatVector.fromArray(SPECIES, w, w0);
        FloatVector w01 = FloatVector.fromArray(SPECIES, w, w0 + LANES);
        FloatVector w02 = FloatVector.fromArray(SPECIES, w, w0 + 2 * LANES);
        FloatVector w10 = FloatVector.fromArray(SPECIES, w, w0 + 3 * LANES);
        FloatVector w11 = FloatVector.fromArray(SPECIES, w, w0 + 4 * LANES);
        FloatVector w12 = FloatVector.fromArray(SPECIES, w, w0 + 5 * LANES);
        long row1 = row0 + rowBytes;
        FloatVector u0 = FloatVector.fromMemorySegment(SPECIES, in, row0, ORDER);
        FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, in, row0 + PIXEL_BYTES, ORDER);
        FloatVector u1 = FloatVector.fromMemorySegment(SPECIES, in, row1, ORDER);
        FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, in, row1 + PIXEL_BYTES, ORDER);
        for (int c = 0; c < columns; c++) {
            long next = (c + 2) * PIXEL_BYTES;
            FloatVector n0 = FloatVector.fromMemorySegment(SPECIES, in, row0 + next, ORDER);
            FloatVector n1 = FloatVector.fromMemorySegment(SPECIES, in, row1 + next, ORDER);
            FloatVector a = FloatVector.fromMemorySegment(SPECIES, start, startAt + c * startStep, ORDER);
            a = n0.fma(w02, v0.fma(w01, u0.fma(w00, a)));
            a = n1.fma(w12, v1.fma(w11, u1.fma(w10, a)));
            a.intoMemorySegment(out, outAt + c * PIXEL_BYTES, ORDER);
            u0 = v0;
            v0 = n0;
            u1 = v1;
            v1 = n1;
        }
    }

    /**
     * {@link #sweepThreeRows} over one kernel row, for the output rows at a plane's top and bottom
     * where the others fall outside the input: the three taps of the kernel row whose weights start
     * at {@code w[w0]}, added to the starts.
     */
    static void sweepOneRow(MemorySegment in, long row, float[] w, int w0, int columns, MemorySegment start,
                            long startAt, long startStep, MemorySegment out, long outAt) {
        FloatVector wa = FloatVector.fromArray(SPECIES, w, w0);
        FloatVector wb = FloatVector.fromArray(SPECIES, w, w0 + LANES);
        FloatVector wc = FloatVector.fromArray(SPECIES, w, w0 + 2 * LANES);
        FloatVector u = FloatVector.fromMemorySegment(SPECIES, in, row, ORDER);
        FloatVector v = FloatVector.fromMemorySegment(SPECIES, in, row + PIXEL_BYTES, ORDER);
        for (int c = 0; c < columns; c++) {
            FloatVector n = FloatVector.fromMemorySegment(SPECIES, in, row + (c + 2) * PIXEL_BYTES, ORDER);
            FloatVector a = FloatVector.fromMemorySegment(SPECIES, start, startAt + c * startStep, ORDER);
            a = n.fma(wc, v.fma(wb, u.fma(wa, a)));
            a.intoMemorySegment(out, outAt + c * PIXEL_BYTES, ORDER);
            u = v;
            v = n;
        }
    }

    /**
     * A sweep down one output column of a 3x3 kernel at stride 1 whose taps lie in two kernel
     * columns only (a border column of a plane padded by one), over {@code rows} rows where all
     * three kernel rows lie inside: tap (r, j) of the first pixel, for the two kernel columns
     * {@code j} that lie inside, is at byte {@code at + r*rowBytes + (j - s0)*PIXEL_BYTES}. Along
     * the column the two input vectors of each kernel row slide one row, so a pixel loads two for six
     * FMAs; without these sweeps the border pixels, one call each, took as long as the interior.
     * Taps are added in kernel-row-major order; weights of column {@code s0} of row r at
     * {@code w[w0 + (3r + s0)*lanes]}; starts {@code startStep}, outputs {@code outStep} bytes apart.
     */
    static void sweepTwoColumnsDown(MemorySegment in, long at, long rowBytes, int s0, float[] w, int w0, int rows,
                                    MemorySegment start, long startAt, long startStep, MemorySegment out, long outAt,
                                    long outStep) {
        int u = w0 + s0 * LANES;
        FloatVector w00 = FloatVector.fromArray(SPECIES, w, u);
        FloatVector w01 = FloatVector.fromArray(SPECIES, w, u + LANES);
        FloatVector w10 = FloatVector.fromArray(SPECIES, w, u + 3 * LANES);
        FloatVector w11 = FloatVector.fromArray(SPECIES, w, u + 4 * LANES);
        FloatVector w20 = FloatVector.fromArray(SPECIES, w, u + 6 * LANES);
        FloatVector w21 = FloatVector.fromArray(SPECIES, w, u + 7 * LANES);
        FloatVector p0 = FloatVector.fromMemorySegment(SPECIES, in, at, ORDER);
        FloatVector q0 = FloatVector.fromMemorySegment(SPECIES, in, at + PIXEL_BYTES, ORDER);
        FloatVector p1 = FloatVector.fromMemorySegment(SPECIES, in, at + rowBytes, ORDER);
        FloatVector q1 = FloatVector.fromMemorySegment(SPECIES, in, at + rowBytes + PIXEL_BYTES, ORDER);
        for (int r = 0; r < rows; r++) {
            long next = at + (r + 2) * rowBytes;
            FloatVector p2 = FloatVector.fromMemorySegment(SPECIES, in, next, ORDER);
            FloatVector q2 = FloatVector.fromMemorySegment(SPECIES, in, next + PIXEL_BYTES, ORDER);
            FloatVector a = FloatVector.fromMemorySegment(SPECIES, start, startAt + r * startStep, ORDER);
            a = q0.fma(w01, p0.fma(w00, a));
            a = q1.fma(w11, p1.fma(w10, a));
            a = q2.fma(w21, p2.fma(w20, a));
            a.intoMemorySegment(out, outAt + r * outStep, ORDER);
            p0 = p1;
            q0 = q1;
            p1 = p2;
            q1 = q2;
        }
    }

    /**
     * One pixel over kernel rows {@code [r0, r1)} and columns {@code [s0, s1)} of a kernel
     * {@code s} columns wide, read in place: the pixels the sweeps leave (a plane's corners). Tap
     * (r, c) of the pixel is at byte {@code at + r*rowBytes + c*PIXEL_BYTES} of {@code in}.
     */
    static void onePixelInPlace(MemorySegment in, long at, long rowBytes, int r0, int r1, int s0, int s1, int s,
                                float[] w, int w0, MemorySegment start, long startAt, MemorySegment out, long outAt) {
        FloatVector a = FloatVector.fromMemorySegment(SPECIES, start, startAt, ORDER);
        for (int i = r0; i < r1; i++) {
            for (int j = s0; j < s1; j++) {
                a = FloatVector.fromMemorySegment(SPECIES, in, at + i * rowBytes + j * PIXEL_BYTES, ORDER)
                        .fma(FloatVector.fromArray(SPECIES, w, w0 + (i * s + j) * LANES), a);
            }
        }
        a.intoMemorySegment(out, outAt, ORDER);
    }

    /**
     * Four pixels, {@code step} floats apart in the input and {@code outStep} bytes in the output,
     * over the taps {@code [from, to)} of the list: the rest of a row's interior (or of a strided
     * row), or four rows of a border column (the pixel step is then a row).
     */
    static void fourPixels(float[] in, int at, int step, TapList taps, int from, int to, float[] w, int w0,
                           MemorySegment start, long startAt, long startStep, MemorySegment out, long outAt,
                           long outStep) {
        int[] offsets = taps.offsets(), weights = taps.weights();
        FloatVector a0 = FloatVector.fromMemorySegment(SPECIES, start, startAt, ORDER);
        FloatVector a1 = FloatVector.fromMemorySegment(SPECIES, start, startAt + startStep, ORDER);
        FloatVector a2 = FloatVector.fromMemorySegment(SPECIES, start, startAt + 2 * startStep, ORDER);
        FloatVector a3 = FloatVector.fromMemorySegment(SPECIES, start, startAt + 3 * startStep, ORDER);
        for (int t = from; t < to; t++) {
            FloatVector wt = FloatVector.fromArray(SPECIES, w, w0 + weights[t]);
            int x = at + offsets[t];
            a0 = FloatVector.fromArray(SPECIES, in, x).fma(wt, a0);
            a1 = FloatVector.fromArray(SPECIES, in, x + step).fma(wt, a1);
            a2 = FloatVector.fromArray(SPECIES, in, x + 2 * step).fma(wt, a2);
            a3 = FloatVector.fromArray(SPECIES, in, x + 3 * step).fma(wt, a3);
        }
        a0.intoMemorySegment(out, outAt, ORDER);
        a1.intoMemorySegment(out, outAt + outStep, ORDER);
        a2.intoMemorySegment(out, outAt + 2 * outStep, ORDER);
        a3.intoMemorySegment(out, outAt + 3 * outStep, ORDER);
    }

    /**
     * One pixel over kernel rows {@code [r0, r1)} and columns {@code [s0, s1)} of a kernel
     * {@code s} columns wide, from the list of every tap: the corners, where taps are clipped both
     * ways. One chain of FMAs, so it is slow: only a few pixels of a plane take it.
     */
    static void onePixel(float[] in, int at, TapList taps, int r0, int r1, int s0, int s1, int s, float[] w,
                         int w0, MemorySegment start, long startAt, MemorySegment out, long outAt) {
        int[] offsets = taps.offsets(), weights = taps.weights();
        FloatVector a = FloatVector.fromMemorySegment(SPECIES, start, startAt, ORDER);
        for (int i = r0; i < r1; i++) {
            for (int t = i * s + s0; t < i * s + s1; t++) {
                a = FloatVector.fromArray(SPECIES, in, at + offsets[t])
                        .fma(FloatVector.fromArray(SPECIES, w, w0 + weights[t]), a);
            }
        }
        a.intoMemorySegment(out, outAt, ORDER);
    }

    /**
     * The weight gradient of one tap (seed 001, 17.3.5 with one channel per filter): the sum over a
     * rectangle of {@code rows x columns} output pixels of {@code gradOut[pixel] * in[pixel + tap]},
     * added to {@code partial[at .. at + lanes)}. Four accumulators hide the FMA latency; they are
     * summed in a fixed order. {@code inAt} and {@code gradAt} address the rectangle's first pixel;
     * rows are {@code inRow} and {@code gradRow} bytes apart, columns {@code inStep} and one vector.
     */
    static void tapGradient(MemorySegment in, long inBase, int inAt, int inRow, int inStep, MemorySegment gradOut, long gradBase, int gradAt, int gradRow,
                            int rows, int columns, float[] partial, int at) {
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        for (int y = 0; y < rows; y++) {
            int x = inAt + y * inRow, d = gradAt + y * gradRow;
            int c = 0;
            for (; c + PIXELS <= columns; c += PIXELS) {
                a0 = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d) * Float.BYTES, ORDER).fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x) * Float.BYTES, ORDER), a0);
                a1 = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d + LANES) * Float.BYTES, ORDER)
                        .fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + inStep) * Float.BYTES, ORDER), a1);
                a2 = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d + 2 * LANES) * Float.BYTES, ORDER)
                        .fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + 2 * inStep) * Float.BYTES, ORDER), a2);
                a3 = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d + 3 * LANES) * Float.BYTES, ORDER)
                        .fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + 3 * inStep) * Float.BYTES, ORDER), a3);
                x += PIXELS * inStep;
                d += PIXELS * LANES;
            }
            for (; c < columns; c++) {
                a0 = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d) * Float.BYTES, ORDER).fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x) * Float.BYTES, ORDER), a0);
                x += inStep;
                d += LANES;
            }
        }
        a0.add(a1).add(a2.add(a3)).add(FloatVector.fromArray(SPECIES, partial, at)).intoArray(partial, at);
    }

    /**
     * The weight gradients of three neighbouring taps of a kernel row ({@code tapStep} floats apart
     * in the input) over a rectangle of {@code rows x columns} output pixels, two pixels at a time:
     * each output-gradient vector feeds three FMAs, 1.3 loads per FMA against 2 for one tap at a
     * time. Added to {@code partial[at ..]}, {@code [at + lanes ..]} and {@code [at + 2*lanes ..]};
     * offsets as in {@link #tapGradient}.
     */
    static void threeTaps(MemorySegment in, long inBase, int inAt, int inRow, int inStep, int tapStep, MemorySegment gradOut, long gradBase, int gradAt,
                          int gradRow, int rows, int columns, float[] partial, int at) {
        FloatVector a0 = FloatVector.zero(SPECIES), b0 = a0, c0 = a0, a1 = a0, b1 = a0, c1 = a0;
        for (int y = 0; y < rows; y++) {
            int x = inAt + y * inRow, d = gradAt + y * gradRow;
            int c = 0;
            for (; c + 2 <= columns; c += 2) {
                FloatVector d0 = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d) * Float.BYTES, ORDER);
                FloatVector d1 = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d + LANES) * Float.BYTES, ORDER);
                a0 = d0.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x) * Float.BYTES, ORDER), a0);
                b0 = d0.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + tapStep) * Float.BYTES, ORDER), b0);
                c0 = d0.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + 2 * tapStep) * Float.BYTES, ORDER), c0);
                a1 = d1.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + inStep) * Float.BYTES, ORDER), a1);
                b1 = d1.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + inStep + tapStep) * Float.BYTES, ORDER), b1);
                c1 = d1.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + inStep + 2 * tapStep) * Float.BYTES, ORDER), c1);
                x += 2 * inStep;
                d += 2 * LANES;
            }
            if (c < columns) {
                FloatVector d0 = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d) * Float.BYTES, ORDER);
                a0 = d0.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x) * Float.BYTES, ORDER), a0);
                b0 = d0.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + tapStep) * Float.BYTES, ORDER), b0);
                c0 = d0.fma(FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x + 2 * tapStep) * Float.BYTES, ORDER), c0);
            }
        }
        a0.add(a1).add(FloatVector.fromArray(SPECIES, partial, at)).intoArray(partial, at);
        b0.add(b1).add(FloatVector.fromArray(SPECIES, partial, at + LANES)).intoArray(partial, at + LANES);
        c0.add(c1).add(FloatVector.fromArray(SPECIES, partial, at + 2 * LANES)).intoArray(partial, at + 2 * LANES);
    }

    /**
     * The weight gradients of all nine taps of a 3x3 kernel (stride 1, dilation 1) over a rectangle
     * of {@code rows x columns} output pixels where every tap lies inside the input, in one sweep:
     * along a row the three input vectors of each kernel row slide one pixel, so each pixel loads
     * one output-gradient vector and three input vectors for nine FMAs (0.44 loads per FMA, against
     * 1.3 for {@link #threeTaps}). {@code inAt} indexes tap (0, 0) of the first pixel,
     * {@code inRow} and {@code gradRow} are floats between rows; added to
     * {@code partial[at + tap*lanes ..]} for the nine taps in row-major order.
     */
    static void nineTaps(MemorySegment in, long inBase, int inAt, int inRow, MemorySegment gradOut, long gradBase, int gradAt, int gradRow, int rows,
                         int columns, float[] partial, int at) {
        FloatVector a00 = FloatVector.fromArray(SPECIES, partial, at);
        FloatVector a01 = FloatVector.fromArray(SPECIES, partial, at + LANES);
        FloatVector a02 = FloatVector.fromArray(SPECIES, partial, at + 2 * LANES);
        FloatVector a10 = FloatVector.fromArray(SPECIES, partial, at + 3 * LANES);
        FloatVector a11 = FloatVector.fromArray(SPECIES, partial, at + 4 * LANES);
        FloatVector a12 = FloatVector.fromArray(SPECIES, partial, at + 5 * LANES);
        FloatVector a20 = FloatVector.fromArray(SPECIES, partial, at + 6 * LANES);
        FloatVector a21 = FloatVector.fromArray(SPECIES, partial, at + 7 * LANES);
        FloatVector a22 = FloatVector.fromArray(SPECIES, partial, at + 8 * LANES);
        for (int y = 0; y < rows; y++) {
            int x0 = inAt + y * inRow, x1 = x0 + inRow, x2 = x1 + inRow, d = gradAt + y * gradRow;
            FloatVector u0 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x0) * Float.BYTES, ORDER);
            FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x0 + LANES) * Float.BYTES, ORDER);
            FloatVector u1 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x1) * Float.BYTES, ORDER);
            FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x1 + LANES) * Float.BYTES, ORDER);
            FloatVector u2 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x2) * Float.BYTES, ORDER);
            FloatVector v2 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x2 + LANES) * Float.BYTES, ORDER);
            for (int c = 0; c < columns; c++, x0 += LANES, x1 += LANES, x2 += LANES, d += LANES) {
                FloatVector g = FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d) * Float.BYTES, ORDER);
                FloatVector n0 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x0 + 2 * LANES) * Float.BYTES, ORDER);
                FloatVector n1 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x1 + 2 * LANES) * Float.BYTES, ORDER);
                FloatVector n2 = FloatVector.fromMemorySegment(SPECIES, in, inBase + (long) (x2 + 2 * LANES) * Float.BYTES, ORDER);
                a00 = g.fma(u0, a00);
                a01 = g.fma(v0, a01);
                a02 = g.fma(n0, a02);
                a10 = g.fma(u1, a10);
                a11 = g.fma(v1, a11);
                a12 = g.fma(n1, a12);
                a20 = g.fma(u2, a20);
                a21 = g.fma(v2, a21);
                a22 = g.fma(n2, a22);
                u0 = v0;
                v0 = n0;
                u1 = v1;
                v1 = n1;
                u2 = v2;
                v2 = n2;
            }
        }
        a00.intoArray(partial, at);
        a01.intoArray(partial, at + LANES);
        a02.intoArray(partial, at + 2 * LANES);
        a10.intoArray(partial, at + 3 * LANES);
        a11.intoArray(partial, at + 4 * LANES);
        a12.intoArray(partial, at + 5 * LANES);
        a20.intoArray(partial, at + 6 * LANES);
        a21.intoArray(partial, at + 7 * LANES);
        a22.intoArray(partial, at + 8 * LANES);
    }

    /**
     * {@link #nineTaps} for the six taps of two kernel rows of a 3x3 kernel along one output row (a
     * top or bottom border row of a plane padded by one, where the third kernel row falls outside):
     * tap (r, j) of the first pixel at float {@code inAt + r*inRow + j*lanes} of the plane at byte
     * {@code inBase}; added to {@code partial[at + (3r + j)*lanes ..]}. Per pixel one gradient and
     * two input vectors feed six FMAs.
     */
    static void sixTapsAlongRow(MemorySegment in, long inBase, int inAt, int inRow, MemorySegment gradOut,
                                long gradBase, int gradAt, int columns, float[] partial, int at) {
        FloatVector a00 = FloatVector.fromArray(SPECIES, partial, at);
        FloatVector a01 = FloatVector.fromArray(SPECIES, partial, at + LANES);
        FloatVector a02 = FloatVector.fromArray(SPECIES, partial, at + 2 * LANES);
        FloatVector a10 = FloatVector.fromArray(SPECIES, partial, at + 3 * LANES);
        FloatVector a11 = FloatVector.fromArray(SPECIES, partial, at + 4 * LANES);
        FloatVector a12 = FloatVector.fromArray(SPECIES, partial, at + 5 * LANES);
        long x0 = inBase + (long) inAt * Float.BYTES, x1 = x0 + (long) inRow * Float.BYTES;
        long d = gradBase + (long) gradAt * Float.BYTES;
        FloatVector u0 = FloatVector.fromMemorySegment(SPECIES, in, x0, ORDER);
        FloatVector v0 = FloatVector.fromMemorySegment(SPECIES, in, x0 + PIXEL_BYTES, ORDER);
        FloatVector u1 = FloatVector.fromMemorySegment(SPECIES, in, x1, ORDER);
        FloatVector v1 = FloatVector.fromMemorySegment(SPECIES, in, x1 + PIXEL_BYTES, ORDER);
        for (int c = 0; c < columns; c++) {
            long next = (c + 2) * PIXEL_BYTES;
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, gradOut, d + c * PIXEL_BYTES, ORDER);
            FloatVector n0 = FloatVector.fromMemorySegment(SPECIES, in, x0 + next, ORDER);
            FloatVector n1 = FloatVector.fromMemorySegment(SPECIES, in, x1 + next, ORDER);
            a00 = g.fma(u0, a00);
            a01 = g.fma(v0, a01);
            a02 = g.fma(n0, a02);
            a10 = g.fma(u1, a10);
            a11 = g.fma(v1, a11);
            a12 = g.fma(n1, a12);
            u0 = v0;
            v0 = n0;
            u1 = v1;
            v1 = n1;
        }
        a00.intoArray(partial, at);
        a01.intoArray(partial, at + LANES);
        a02.intoArray(partial, at + 2 * LANES);
        a10.intoArray(partial, at + 3 * LANES);
        a11.intoArray(partial, at + 4 * LANES);
        a12.intoArray(partial, at + 5 * LANES);
    }

    /**
     * {@link #nineTaps} for the six taps of two kernel columns of a 3x3 kernel down one output
     * column (a left or right border column of a plane padded by one): tap (r, j) of the first
     * pixel at float {@code inAt + r*inRow + j*lanes}; pixels {@code inRow} and {@code gradRow}
     * floats apart; added to {@code partial[at + (3r + j)*lanes ..]}. Along the column the input
     * vectors of each kernel row slide one row: per pixel one gradient and two input vectors feed
     * six FMAs, where one tap at a time over these one-pixel-wide strips took as long as the interior.
     */
    static void sixTapsDownColumn(MemorySegment in, long inBase, int inAt, int inRow, MemorySegment gradOut,
                                  long gradBase, int gradAt, int gradRow, int rows, float[] partial, int at) {
        FloatVector a00 = FloatVector.fromArray(SPECIES, partial, at);
        FloatVector a01 = FloatVector.fromArray(SPECIES, partial, at + LANES);
        FloatVector a10 = FloatVector.fromArray(SPECIES, partial, at + 3 * LANES);
        FloatVector a11 = FloatVector.fromArray(SPECIES, partial, at + 4 * LANES);
        FloatVector a20 = FloatVector.fromArray(SPECIES, partial, at + 6 * LANES);
        FloatVector a21 = FloatVector.fromArray(SPECIES, partial, at + 7 * LANES);
        long x = inBase + (long) inAt * Float.BYTES, rowBytes = (long) inRow * Float.BYTES;
        long d = gradBase + (long) gradAt * Float.BYTES, gradRowBytes = (long) gradRow * Float.BYTES;
        FloatVector p0 = FloatVector.fromMemorySegment(SPECIES, in, x, ORDER);
        FloatVector q0 = FloatVector.fromMemorySegment(SPECIES, in, x + PIXEL_BYTES, ORDER);
        FloatVector p1 = FloatVector.fromMemorySegment(SPECIES, in, x + rowBytes, ORDER);
        FloatVector q1 = FloatVector.fromMemorySegment(SPECIES, in, x + rowBytes + PIXEL_BYTES, ORDER);
        for (int r = 0; r < rows; r++) {
            long next = x + (r + 2) * rowBytes;
            FloatVector g = FloatVector.fromMemorySegment(SPECIES, gradOut, d + r * gradRowBytes, ORDER);
            FloatVector p2 = FloatVector.fromMemorySegment(SPECIES, in, next, ORDER);
            FloatVector q2 = FloatVector.fromMemorySegment(SPECIES, in, next + PIXEL_BYTES, ORDER);
            a00 = g.fma(p0, a00);
            a01 = g.fma(q0, a01);
            a10 = g.fma(p1, a10);
            a11 = g.fma(q1, a11);
            a20 = g.fma(p2, a20);
            a21 = g.fma(q2, a21);
            p0 = p1;
            q0 = q1;
            p1 = p2;
            q1 = q2;
        }
        a00.intoArray(partial, at);
        a01.intoArray(partial, at + LANES);
        a10.intoArray(partial, at + 3 * LANES);
        a11.intoArray(partial, at + 4 * LANES);
        a20.intoArray(partial, at + 6 * LANES);
        a21.intoArray(partial, at + 7 * LANES);
    }

    /** Adds the sum of {@code pixels} consecutive pixels from {@code at} to {@code partial[to .. to + lanes)}. */
    static void sum(MemorySegment gradOut, long gradBase, int at, int pixels, float[] partial, int to) {
        FloatVector a0 = FloatVector.zero(SPECIES), a1 = a0, a2 = a0, a3 = a0;
        int p = 0;
        for (; p + PIXELS <= pixels; p += PIXELS) {
            int d = at + p * LANES;
            a0 = a0.add(FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d) * Float.BYTES, ORDER));
            a1 = a1.add(FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d + LANES) * Float.BYTES, ORDER));
            a2 = a2.add(FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d + 2 * LANES) * Float.BYTES, ORDER));
            a3 = a3.add(FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (d + 3 * LANES) * Float.BYTES, ORDER));
        }
        for (; p < pixels; p++) {
            a0 = a0.add(FloatVector.fromMemorySegment(SPECIES, gradOut, gradBase + (long) (at + p * LANES) * Float.BYTES, ORDER));
        }
        a0.add(a1).add(a2.add(a3)).add(FloatVector.fromArray(SPECIES, partial, to)).intoArray(partial, to);
    }


}
