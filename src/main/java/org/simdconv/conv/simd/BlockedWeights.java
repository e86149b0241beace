package org.simdconv.conv.simd;

import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.tensor.Tensor;

/**
 * Packs OIHW weights for {@link BlockedDirectConvolution}: {@code [kb][cg][r][s][ci][ko]}, where
 * {@code cg} numbers groups of {@code blocksPerPixel} input blocks (as the input is staged, see
 * {@link BlockedStaging}) and {@code ci} runs over their channels ({@code OIhw<l>i<l>o} in
 * oneDNN's words when {@code blocksPerPixel} is 1),
 * so that the weights of one input channel for a block of output channels are one vector, and the
 * channels of a tap follow each other. Channels past the last are zero. The packers write into an
 * array the caller provides (a reused workspace), at least {@link #length} long.
 */
final class BlockedWeights {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private BlockedWeights() {
    }

    /** The forward weights of {@code g}: block {@code kb} of output channels, {@code cb} of its group's inputs. */
    static void forward(Conv2dGeometry g, Tensor oihw, int lanes, int blocksPerPixel, float[] packed) {
        BlockedProblem p = BlockedProblem.forward(g, lanes);
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), r = g.r(), s = g.s();
        Arrays.fill(packed, 0, length(p, lanes), 0f);
        for (int k = 0; k < g.k(); k++) {
            int group = k / kg, kb = group * p.outBlocks() + (k % kg) / lanes, ko = (k % kg) % lanes;
            for (int c = 0; c < cg; c++) {
                for (int i = 0; i < r; i++) {
                    for (int j = 0; j < s; j++) {
                        packed[index(p, kb, c / lanes, i, j, c % lanes, ko, lanes, blocksPerPixel)] = oihw.segment().get(FLOAT, oihw.byteOffset() + (long) (((k * cg + c) * r + i) * s + j) * Float.BYTES);
                    }
                }
            }
        }
    }

    /**
     * The weights of one phase of backward-data ({@link BackwardDataPhase}; seed 001, 17.3.1): for
     * output block {@code cb} of input channels, input block {@code kb} of output channels and tap
     * (i, j), {@code packed[cb][kb][i][j][ki][co] = W[k][c][rows[i]][columns[j]]}: the kernels
     * transposed, and rotated by 180 degrees through the tap order (largest index first).
     */
    static void backwardData(Conv2dGeometry g, Tensor oihw, int lanes, int blocksPerPixel, BackwardDataPhase phase,
                             float[] packed) {
        BlockedProblem p = phase.problem();
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
        Arrays.fill(packed, 0, length(p, lanes), 0f);
        for (int k = 0; k < g.k(); k++) {
            int group = k / kg, kl = k % kg;
            for (int c = 0; c < cg; c++) {
                int cb = group * p.outBlocks() + c / lanes;
                for (int i = 0; i < phase.rows().length; i++) {
                    for (int j = 0; j < phase.columns().length; j++) {
                        packed[index(p, cb, kl / lanes, i, j, kl % lanes, c % lanes, lanes, blocksPerPixel)] = oihw.segment().get(FLOAT,
                                oihw.byteOffset() + (long) (((k * cg + c) * g.r() + phase.rows()[i]) * g.s()
                                        + phase.columns()[j]) * Float.BYTES);
                    }
                }
            }
        }
    }

    /** Floats of the packed weights of {@code p}. */
    static int length(BlockedProblem p, int lanes) {
        return p.totalOutBlocks() * p.inBlocks() * p.r() * p.s() * lanes * lanes;
    }

    private static int index(BlockedProblem p, int outBlock, int inBlock, int i, int j, int in, int out, int lanes,
                             int blocksPerPixel) {
        int first = inBlock / blocksPerPixel * blocksPerPixel;
        return (((outBlock * p.inBlocks() + first) * p.r() * p.s() + (i * p.s() + j) * blocksPerPixel) * lanes
                + (inBlock - first) * lanes + in) * lanes + out;
    }
}
