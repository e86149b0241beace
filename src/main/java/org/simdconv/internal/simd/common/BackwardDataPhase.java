package org.simdconv.internal.simd.common;

import java.util.ArrayList;
import java.util.List;
import org.simdconv.internal.conv.ConvProblem;

/**
 * One stride phase of backward-data as a blocked problem. The seed (17.3.1) inserts
 * {@code stride - 1} zeros between the gradient's pixels, pads it by the kernel extent and
 * correlates it with the kernels rotated by 180 degrees; most of those products are with the
 * inserted zeros. Split instead by the phase {@code (qh, qw)} of the input gradient's pixel,
 * {@code ih = qh + strideH*a}: only the kernel rows {@code r} with {@code qh + padTop - r*dh}
 * divisible by the stride reach it, from gradient row {@code a + (qh + padTop - r*dh) / strideH},
 * so each phase is a dense stride-1 correlation with a subset of the taps (largest {@code r} first:
 * the rotation), whose output is the sub-grid {@code (qh + strideH*a, qw + strideW*b)}. No zero is
 * ever inserted or multiplied. At stride 1 there is one phase, the seed's transformed problem.
 *
 * @param rows    the kernel rows of the taps, in tap order
 * @param columns the kernel columns of the taps, in tap order
 */
public record BackwardDataPhase(BlockedProblem problem, OutputGrid grid, int[] rows, int[] columns) {

    /** Every phase of {@code g} that has taps and pixels. */
    public static List<BackwardDataPhase> of(ConvProblem g, int lanes) {
        List<BackwardDataPhase> phases = new ArrayList<>();
        int sh = g.strideH(), sw = g.strideW();
        for (int qh = 0; qh < Math.min(sh, g.h()); qh++) {
            int[] rows = taps(qh, g.padTop(), g.r(), g.dilationH(), sh);
            for (int qw = 0; qw < Math.min(sw, g.w()) && rows.length > 0; qw++) {
                int[] columns = taps(qw, g.padLeft(), g.s(), g.dilationW(), sw);
                if (columns.length == 0) {
                    continue;
                }
                BlockedProblem p = new BlockedProblem(g.groups(), g.k(), BlockedProblem.blocksPerGroup(g.filtersPerGroup(), g, lanes),
                        g.outH(), g.outW(), BlockedProblem.blocksPerGroup(g.channelsPerGroup(), g, lanes),
                        Math.ceilDiv(g.h() - qh, sh), Math.ceilDiv(g.w() - qw, sw), rows.length, columns.length, 1, 1,
                        g.dilationH() / gcd(sh, g.dilationH()), g.dilationW() / gcd(sw, g.dilationW()),
                        -Math.floorDiv(qh + g.padTop() - rows[0] * g.dilationH(), sh),
                        -Math.floorDiv(qw + g.padLeft() - columns[0] * g.dilationW(), sw));
                phases.add(new BackwardDataPhase(p, new OutputGrid(g.h(), g.w(), sh, sw, qh, qw),
                        rows, columns));
            }
        }
        return phases;
    }

    /** The kernel indices {@code r}, largest first, with {@code q + pad - r*dilation} divisible by {@code stride}. */
    private static int[] taps(int q, int pad, int extent, int dilation, int stride) {
        return java.util.stream.IntStream.iterate(extent - 1, r -> r >= 0, r -> r - 1)
                .filter(r -> Math.floorMod(q + pad - r * dilation, stride) == 0).toArray();
    }

    private static int gcd(int a, int b) {
        return b == 0 ? a : gcd(b, a % b);
    }
}
