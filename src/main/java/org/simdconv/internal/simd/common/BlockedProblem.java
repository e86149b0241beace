package org.simdconv.internal.simd.common;

import org.simdconv.internal.conv.ConvProblem;

/**
 * A direct convolution between two channel-blocked tensors (of which the input has
 * {@code inChannels} real channels) ({@link BlockedPlanes}), as the
 * blocked kernels see it: {@code inBlocks} blocks of input channels per group are reduced into
 * {@code outBlocks} blocks of output channels per group,
 * <pre>
 *   out[kb][oh][ow][ko] += sum over cb, r, s, ci of in[cb][oh*sh + r*dh - padTop][ow*sw + s*dw - padLeft][ci]
 *                                                    * w[kb][cb][r][s][ci][ko]
 * </pre>
 * with taps that fall outside the input skipped (clipped), never read from a padded copy. Padding
 * may be negative: backward-data runs as this same problem with the gradient as input, the kernels
 * rotated and transposed, and padding {@code dilation*(R-1) - pad} (seed 001, 17.3.1), which is
 * negative when the forward padding exceeds the kernel extent; at larger strides, one such problem
 * per stride phase ({@link BackwardDataPhase}).
 */
public record BlockedProblem(int groups, int inChannels, int inBlocks, int inH, int inW, int outBlocks, int outH, int outW,
                      int r, int s, int strideH, int strideW, int dilationH, int dilationW,
                      int padTop, int padLeft) {

    /** True when the channels of every group fill whole blocks (or there is one group). */
    public static boolean blocksFitGroups(ConvProblem g, int lanes) {
        return g.groups() == 1 || (g.channelsPerGroup() % lanes == 0 && g.filtersPerGroup() % lanes == 0);
    }

    /** The forward pass of {@code g}. */
    public static BlockedProblem forward(ConvProblem g, int lanes) {
        return new BlockedProblem(g.groups(), g.c(), blocksPerGroup(g.channelsPerGroup(), g, lanes), g.h(), g.w(),
                blocksPerGroup(g.filtersPerGroup(), g, lanes), g.outH(), g.outW(), g.r(), g.s(),
                g.strideH(), g.strideW(), g.dilationH(), g.dilationW(), g.padTop(), g.padLeft());
    }

    public static int blocksPerGroup(int channelsPerGroup, ConvProblem g, int lanes) {
        return g.groups() == 1 ? Math.ceilDiv(channelsPerGroup, lanes) : channelsPerGroup / lanes;
    }


    public int totalOutBlocks() {
        return groups * outBlocks;
    }

    /** First kernel row whose input row is inside the input, for output row {@code oh}. */
    public int firstRow(int oh) {
        return Math.max(0, Math.ceilDiv(padTop - oh * strideH, dilationH));
    }

    /** One past the last kernel row whose input row is inside the input, for output row {@code oh}. */
    public int endRow(int oh) {
        return Math.max(firstRow(oh), Math.min(r, Math.floorDiv(inH - 1 - oh * strideH + padTop, dilationH) + 1));
    }

    public int firstColumn(int ow) {
        return Math.max(0, Math.ceilDiv(padLeft - ow * strideW, dilationW));
    }

    public int endColumn(int ow) {
        return Math.max(firstColumn(ow), Math.min(s, Math.floorDiv(inW - 1 - ow * strideW + padLeft, dilationW) + 1));
    }

    /** First output row that every kernel row reads inside the input. */
    public int firstInteriorRow() {
        return Math.min(outH, Math.max(0, Math.ceilDiv(padTop, strideH)));
    }

    /** One past the last output row that every kernel row reads inside the input. */
    public int endInteriorRow() {
        return Math.max(firstInteriorRow(),
                Math.min(outH, Math.floorDiv(inH - 1 - (r - 1) * dilationH + padTop, strideH) + 1));
    }

    public int firstInteriorColumn() {
        return Math.min(outW, Math.max(0, Math.ceilDiv(padLeft, strideW)));
    }

    public int endInteriorColumn() {
        return Math.max(firstInteriorColumn(),
                Math.min(outW, Math.floorDiv(inW - 1 - (s - 1) * dilationW + padLeft, strideW) + 1));
    }
}
