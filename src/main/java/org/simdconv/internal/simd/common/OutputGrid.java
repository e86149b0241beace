package org.simdconv.internal.simd.common;

/**
 * Where output pixel (oh, ow) of a {@link BlockedProblem} lies in a {@code planeH x planeW} output
 * plane: at {@code (originH + oh*strideH, originW + ow*strideW)}. Dense for every problem but the
 * stride phases of backward-data, each of which fills one sub-grid of the input gradient
 * ({@link BackwardDataPhase}).
 */
public record OutputGrid(int planeH, int planeW, int strideH, int strideW, int originH, int originW) {

    /** The whole output plane of {@code p}, pixel by pixel. */
    public static OutputGrid dense(BlockedProblem p) {
        return new OutputGrid(p.outH(), p.outW(), 1, 1, 0, 0);
    }
}
