package org.simdconv.internal.simd.blocked;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.BackwardDataPhase;
import org.simdconv.internal.simd.common.BlockedProblem;
import org.simdconv.internal.simd.common.Vectors;

/**
 * Packs OIHW weights for {@link BlockedDirectConvolution}: {@code [kb][cg][r][s][ci][ko]}, where
 * {@code cg} numbers groups of {@code blocksPerPixel} input blocks (as the input is staged, see
 * {@link BlockedStaging}) and {@code ci} runs over their channels ({@code OIhw<l>i<l>o} in
 * oneDNN's words when {@code blocksPerPixel} is 1),
 * so that the weights of one input channel for a block of output channels are one vector, and the
 * channels of a tap follow each other. Channels past the last are zero. The packers read the
 * weights from an array (a copy of the OIHW tensor) and write into an array the caller provides
 * (a reused workspace), at least {@link #length} long.
 *
 * <p>Each packed vector is one gather of {@code lanes} weights that lie a fixed stride apart in
 * OIHW (the output channels of one input channel and tap; or, for backward-data, the input
 * channels of one filter and tap), written as a whole cache line in the order of the packed
 * layout. Writing element by element in OIHW order instead touched every line of the packed
 * array {@code lanes} times, far apart (a sixth of a 256-channel 3x3 layer's forward pass); the
 * gathers take a tenth of that.
 */
final class BlockedWeights {

    private BlockedWeights() {
    }

    /**
     * The forward weights of {@code g} (as the blocked problem {@code p}) from its OIHW weights
     * {@code oihw}: block {@code kb} of output channels, {@code cb} of its group's inputs.
     */
    static void forward(ConvProblem g, BlockedProblem p, float[] oihw, int blocksPerPixel, float[] packed) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), taps = g.r() * g.s();
        if (cg % LANES != 0 || kg % LANES != 0) {
            Arrays.fill(packed, 0, length(p), 0f); // padding channels
        }
        int[] map = Vectors.strideMap(cg * taps); // the output channels of one input channel and tap
        for (int kb = 0; kb < p.totalOutBlocks(); kb++) {
            int group = kb / p.outBlocks(), k0 = group * kg + (kb % p.outBlocks()) * LANES;
            int live = Math.min(LANES, (group + 1) * kg - k0);
            for (int c = 0; c < cg; c++) {
                for (int t = 0; t < taps; t++) {
                    int from = (k0 * cg + c) * taps + t;
                    int to = index(p, kb, c / LANES, t, c % LANES, blocksPerPixel);
                    if (live == LANES) {
                        FloatVector.fromArray(SPECIES, oihw, from, map, 0).intoArray(packed, to);
                    } else {
                        for (int ko = 0; ko < live; ko++) {
                            packed[to + ko] = oihw[from + ko * cg * taps];
                        }
                    }
                }
            }
        }
    }

    /**
     * The weights of one phase of backward-data ({@link BackwardDataPhase}; seed 001, 17.3.1) from
     * the OIHW weights {@code oihw}: for output block {@code cb} of input channels, input block
     * {@code kb} of output channels and tap (i, j),
     * {@code packed[cb][kb][i][j][ki][co] = W[k][c][rows[i]][columns[j]]}: the kernels transposed,
     * and rotated by 180 degrees through the tap order (largest index first).
     */
    static void backwardData(ConvProblem g, float[] oihw, int blocksPerPixel, BackwardDataPhase phase,
                             float[] packed) {
        BlockedProblem p = phase.problem();
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), taps = g.r() * g.s();
        int columns = phase.columns().length, phaseTaps = phase.rows().length * columns;
        if (cg % LANES != 0 || kg % LANES != 0) {
            Arrays.fill(packed, 0, length(p), 0f);
        }
        int[] map = Vectors.strideMap(taps); // the input channels of one filter and tap
        for (int cb = 0; cb < p.totalOutBlocks(); cb++) {
            int group = cb / p.outBlocks(), c0 = (cb % p.outBlocks()) * LANES;
            int live = Math.min(LANES, cg - c0);
            for (int kl = 0; kl < kg; kl++) {
                int k = group * kg + kl;
                for (int t = 0; t < phaseTaps; t++) {
                    int from = (k * cg + c0) * taps + phase.rows()[t / columns] * g.s() + phase.columns()[t % columns];
                    int to = index(p, cb, kl / LANES, t, kl % LANES, blocksPerPixel);
                    if (live == LANES) {
                        FloatVector.fromArray(SPECIES, oihw, from, map, 0).intoArray(packed, to);
                    } else {
                        for (int co = 0; co < live; co++) {
                            packed[to + co] = oihw[from + co * taps];
                        }
                    }
                }
            }
        }
    }

    /** Floats of the packed weights of {@code p}. */
    static int length(BlockedProblem p) {
        return p.totalOutBlocks() * p.inBlocks() * p.r() * p.s() * LANES * LANES;
    }

    /**
     * Index of the packed vector of output block {@code outBlock}, input block {@code inBlock}, tap
     * {@code tap} (row-major) and channel {@code in} of the input block.
     */
    private static int index(BlockedProblem p, int outBlock, int inBlock, int tap, int in, int blocksPerPixel) {
        int first = inBlock / blocksPerPixel * blocksPerPixel;
        return (((outBlock * p.inBlocks() + first) * p.r() * p.s() + tap * blocksPerPixel) * LANES
                + (inBlock - first) * LANES + in) * LANES;
    }
}
