package org.simdconv.internal.simd.blocked;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import jdk.incubator.vector.FloatVector;
import org.simdconv.internal.simd.common.Vectors;

/**
 * Register tiles of the blocked weight gradient (seed 001, 17.3.5: the input cross-correlated with
 * the output gradient), for one tap (r, s) and one input block:
 * <pre>
 *   dW[kb][cb][r][s][ci][0 .. lanes) += sum over pixels (oh, ow) of
 *       broadcast(x[cb][oh*sh + r*dh - pt][ow*sw + s*dw - pl][ci]) * dy[kb][oh][ow][0 .. lanes)
 * </pre>
 * The main tile keeps two blocks of output channels times four input channels in eight
 * accumulators for the whole sweep over the pixels: per pixel, two gradient vectors and four
 * broadcasts feed eight FMAs (0.75 loads per FMA, as in the forward tile, and for the same reason
 * no wider: see {@link BlockedTiles}). The pixel rectangle is clipped by the caller to the pixels
 * whose tap lies inside the input, so padding is never read.
 *
 * <p>Both tensors are staged heap arrays ({@link BlockedStaging}): the input with its stride
 * phases, so consecutive output columns read consecutive input pixels; the gradient plain. The
 * accumulators start from, and end in, a partial gradient in the packed weight layout
 * ({@link BlockedWeights}); every element sums its pixels row by row, in the same order in every tile.
 */
final class WeightGradientTiles {

    /** Input channels per tile. */
    static final int CHANNELS = 4;

    private WeightGradientTiles() {
    }

    /**
     * @param x      staged input; {@code xAt} indexes channel {@code ci} of the tap's pixel for the
     *               rectangle's first pixel, {@code xRowStep} floats between its rows
     * @param dy     staged output gradient; {@code dy0}, {@code dy1} index the two blocks' first
     *               pixel, {@code dyRowStep} floats between rows
     * @param partial partial gradient; {@code p0}, {@code p1} index channel {@code ci} of the two
     *               blocks' weights for this tap
     */
    static void twoBlocksFourChannels(float[] x, int xAt, int xRowStep, float[] dy, int dy0, int dy1,
                                      int dyRowStep, int rows, int columns, float[] partial, int p0, int p1) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, partial, p0);
        FloatVector a1 = FloatVector.fromArray(SPECIES, partial, p0 + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, partial, p0 + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, partial, p0 + 3 * LANES);
        FloatVector b0 = FloatVector.fromArray(SPECIES, partial, p1);
        FloatVector b1 = FloatVector.fromArray(SPECIES, partial, p1 + LANES);
        FloatVector b2 = FloatVector.fromArray(SPECIES, partial, p1 + 2 * LANES);
        FloatVector b3 = FloatVector.fromArray(SPECIES, partial, p1 + 3 * LANES);
        for (int row = 0; row < rows; row++) {
            int xi = xAt + row * xRowStep;
            int u = dy0 + row * dyRowStep, v = dy1 + row * dyRowStep;
            for (int end = u + columns * LANES; u < end; u += LANES, v += LANES, xi += LANES) {
                FloatVector gu = FloatVector.fromArray(SPECIES, dy, u), gv = FloatVector.fromArray(SPECIES, dy, v);
                FloatVector i = FloatVector.broadcast(SPECIES, x[xi]);
                a0 = gu.fma(i, a0);
                b0 = gv.fma(i, b0);
                i = FloatVector.broadcast(SPECIES, x[xi + 1]);
                a1 = gu.fma(i, a1);
                b1 = gv.fma(i, b1);
                i = FloatVector.broadcast(SPECIES, x[xi + 2]);
                a2 = gu.fma(i, a2);
                b2 = gv.fma(i, b2);
                i = FloatVector.broadcast(SPECIES, x[xi + 3]);
                a3 = gu.fma(i, a3);
                b3 = gv.fma(i, b3);
            }
        }
        a0.intoArray(partial, p0);
        a1.intoArray(partial, p0 + LANES);
        a2.intoArray(partial, p0 + 2 * LANES);
        a3.intoArray(partial, p0 + 3 * LANES);
        b0.intoArray(partial, p1);
        b1.intoArray(partial, p1 + LANES);
        b2.intoArray(partial, p1 + 2 * LANES);
        b3.intoArray(partial, p1 + 3 * LANES);
    }

    /**
     * Four blocks of output channels times four input channels, sixteen accumulators: the main tile
     * where there are 32 vector registers ({@link Vectors#THIRTY_TWO_REGISTERS}). Per pixel four gradient
     * vectors and four broadcasts feed sixteen FMAs, half a load per FMA where the two-block tile
     * needs 0.75; 21 registers in all (16 accumulators, 4 gradients, 1 broadcast). On a core with
     * two full-width FMA pipes the loads, not the FMAs, bounded the two-block tile.
     * Parameters as in {@link #twoBlocksFourChannels}, with {@code dyBlockStep} floats between the
     * gradient planes of consecutive blocks and {@code partialBlockStep} between their weights.
     */
    static void fourBlocksFourChannels(float[] x, int xAt, int xRowStep, float[] dy, int dy0, int dyBlockStep,
                                       int dyRowStep, int rows, int columns, float[] partial, int p0,
                                       int partialBlockStep) {
        int p1 = p0 + partialBlockStep, p2 = p1 + partialBlockStep, p3 = p2 + partialBlockStep;
        FloatVector a0 = FloatVector.fromArray(SPECIES, partial, p0);
        FloatVector a1 = FloatVector.fromArray(SPECIES, partial, p0 + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, partial, p0 + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, partial, p0 + 3 * LANES);
        FloatVector b0 = FloatVector.fromArray(SPECIES, partial, p1);
        FloatVector b1 = FloatVector.fromArray(SPECIES, partial, p1 + LANES);
        FloatVector b2 = FloatVector.fromArray(SPECIES, partial, p1 + 2 * LANES);
        FloatVector b3 = FloatVector.fromArray(SPECIES, partial, p1 + 3 * LANES);
        FloatVector c0 = FloatVector.fromArray(SPECIES, partial, p2);
        FloatVector c1 = FloatVector.fromArray(SPECIES, partial, p2 + LANES);
        FloatVector c2 = FloatVector.fromArray(SPECIES, partial, p2 + 2 * LANES);
        FloatVector c3 = FloatVector.fromArray(SPECIES, partial, p2 + 3 * LANES);
        FloatVector d0 = FloatVector.fromArray(SPECIES, partial, p3);
        FloatVector d1 = FloatVector.fromArray(SPECIES, partial, p3 + LANES);
        FloatVector d2 = FloatVector.fromArray(SPECIES, partial, p3 + 2 * LANES);
        FloatVector d3 = FloatVector.fromArray(SPECIES, partial, p3 + 3 * LANES);
        for (int row = 0; row < rows; row++) {
            int xi = xAt + row * xRowStep;
            int u = dy0 + row * dyRowStep;
            for (int end = u + columns * LANES; u < end; u += LANES, xi += LANES) {
                FloatVector ga = FloatVector.fromArray(SPECIES, dy, u);
                FloatVector gb = FloatVector.fromArray(SPECIES, dy, u + dyBlockStep);
                FloatVector gc = FloatVector.fromArray(SPECIES, dy, u + 2 * dyBlockStep);
                FloatVector gd = FloatVector.fromArray(SPECIES, dy, u + 3 * dyBlockStep);
                FloatVector i = FloatVector.broadcast(SPECIES, x[xi]);
                a0 = ga.fma(i, a0);
                b0 = gb.fma(i, b0);
                c0 = gc.fma(i, c0);
                d0 = gd.fma(i, d0);
                i = FloatVector.broadcast(SPECIES, x[xi + 1]);
                a1 = ga.fma(i, a1);
                b1 = gb.fma(i, b1);
                c1 = gc.fma(i, c1);
                d1 = gd.fma(i, d1);
                i = FloatVector.broadcast(SPECIES, x[xi + 2]);
                a2 = ga.fma(i, a2);
                b2 = gb.fma(i, b2);
                c2 = gc.fma(i, c2);
                d2 = gd.fma(i, d2);
                i = FloatVector.broadcast(SPECIES, x[xi + 3]);
                a3 = ga.fma(i, a3);
                b3 = gb.fma(i, b3);
                c3 = gc.fma(i, c3);
                d3 = gd.fma(i, d3);
            }
        }
        a0.intoArray(partial, p0);
        a1.intoArray(partial, p0 + LANES);
        a2.intoArray(partial, p0 + 2 * LANES);
        a3.intoArray(partial, p0 + 3 * LANES);
        b0.intoArray(partial, p1);
        b1.intoArray(partial, p1 + LANES);
        b2.intoArray(partial, p1 + 2 * LANES);
        b3.intoArray(partial, p1 + 3 * LANES);
        c0.intoArray(partial, p2);
        c1.intoArray(partial, p2 + LANES);
        c2.intoArray(partial, p2 + 2 * LANES);
        c3.intoArray(partial, p2 + 3 * LANES);
        d0.intoArray(partial, p3);
        d1.intoArray(partial, p3 + LANES);
        d2.intoArray(partial, p3 + 2 * LANES);
        d3.intoArray(partial, p3 + 3 * LANES);
    }

    /** One block of output channels, four input channels: for a block without a partner. */
    static void oneBlockFourChannels(float[] x, int xAt, int xRowStep, float[] dy, int dy0, int dyRowStep,
                                     int rows, int columns, float[] partial, int p0) {
        FloatVector a0 = FloatVector.fromArray(SPECIES, partial, p0);
        FloatVector a1 = FloatVector.fromArray(SPECIES, partial, p0 + LANES);
        FloatVector a2 = FloatVector.fromArray(SPECIES, partial, p0 + 2 * LANES);
        FloatVector a3 = FloatVector.fromArray(SPECIES, partial, p0 + 3 * LANES);
        for (int row = 0; row < rows; row++) {
            int xi = xAt + row * xRowStep;
            int u = dy0 + row * dyRowStep;
            for (int end = u + columns * LANES; u < end; u += LANES, xi += LANES) {
                FloatVector gu = FloatVector.fromArray(SPECIES, dy, u);
                a0 = gu.fma(FloatVector.broadcast(SPECIES, x[xi]), a0);
                a1 = gu.fma(FloatVector.broadcast(SPECIES, x[xi + 1]), a1);
                a2 = gu.fma(FloatVector.broadcast(SPECIES, x[xi + 2]), a2);
                a3 = gu.fma(FloatVector.broadcast(SPECIES, x[xi + 3]), a3);
            }
        }
        a0.intoArray(partial, p0);
        a1.intoArray(partial, p0 + LANES);
        a2.intoArray(partial, p0 + 2 * LANES);
        a3.intoArray(partial, p0 + 3 * LANES);
    }

}
