package org.simdconv.internal.simd.rows;

import java.lang.foreign.MemorySegment;
import org.simdconv.internal.conv.ConvKernel;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.Side;
import org.simdconv.internal.simd.common.SimdPrimitive;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * The kernels that compute on plain NCHW rows, vectorised along the width or along a whole plane
 * read as one flat row: for what the channel-blocked kernels do not take (first layers of one to a
 * few channels, the seed network's small layers, groups whose channels do not fill blocks). Their
 * primitives take plain activations only; the plan reorders blocked ones (which, with so few
 * channels, are rarely blocked: the preferred layout keeps fewer than half a block plain).
 *
 * <p>The workspace slots of this family, distinct because one call's helpers share one lease.
 */
abstract class RowsKernel implements ConvKernel {

    /** {@link FlatPlaneConvolution}'s three arrays. */
    static final int FLAT_PLANE_SLOTS = 0;
    /** {@link PackedPlanes}' packed planes and two rows. */
    static final int PACKED_PLANES_SLOTS = 10;
    /** {@link StridedBackwardData}'s phase rows. */
    static final int STRIDED_SLOTS = 20;
    /** {@link RowWeightGradient}'s staged gradient. */
    static final int ROW_WEIGHT_GRADIENT_SLOTS = 30;
    /** A weight-gradient call's partials, bias partials, their sums, and a forward call's biases. */
    static final int PARTIAL = 40;
    static final int BIAS_PARTIAL = 41;
    static final int SUMS = 42;
    static final int BIAS = 43;

    /** Floats after each per-thread partial: two cache lines, so that threads' partials share none. */
    static final int FALSE_SHARING_PAD = 32;

    /** A primitive of this family: plain activations only. */
    abstract static class PlainRows extends SimdPrimitive {
        PlainRows(ConvProblem g) {
            super(g);
        }

        @Override
        public boolean takes(Layout input, Layout output) {
            return input.isPlain() && output.isPlain();
        }

        @Override
        public Layout preferred(org.simdconv.internal.conv.Side side) {
            return Layout.plain();
        }
    }

    /** The OIHW weights with each block of four filters interleaved, as the row and flat-plane kernels read them. */
    static float[] interleaved(ConvProblem g, float[] oihw, float[] previous) {
        return FourChannelBlocks.interleave(oihw, g.k(), g.filtersPerGroup(),
                g.channelsPerGroup() * g.r() * g.s(), previous);
    }

    /**
     * The weights of backward-data as a convolution: for input channel {@code c} (in group
     * {@code gi}, local index {@code cl}) and the group's filter {@code kl},
     * {@code out[c][kl][r][s] = W[gi*K/g + kl][cl][R-1-r][S-1-s]} (the kernel rotated by 180 degrees,
     * seed 001, 17.3.1), into {@code out}.
     */
    static void rotatedTransposed(ConvProblem g, float[] w, float[] out) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), r = g.r(), s = g.s();
        for (int c = 0; c < g.c(); c++) {
            int group = c / cg, local = c % cg;
            for (int kl = 0; kl < kg; kl++) {
                int k = group * kg + kl;
                for (int i = 0; i < r; i++) {
                    for (int j = 0; j < s; j++) {
                        out[((c * kg + kl) * r + i) * s + j] = w[((k * cg + local) * r + (r - 1 - i)) * s + (s - 1 - j)];
                    }
                }
            }
        }
    }

    /** Every row of one output plane, four rows at a time while four are left. */
    static void singleChannel(PackedPlanes layout, MemorySegment packed, long channelBase, long rowStride,
                              int channels, float[] weights, int weightBase, int weightStride, float init,
                              MemorySegment out, long outPlane, int outH, int outW, boolean accumulate) {
        long outRowBytes = (long) outW * Float.BYTES;
        int oh = 0;
        for (; oh + 4 <= outH; oh += 4) {
            DirectRowKernel.fourRows(packed, channelBase + oh * rowStride, rowStride, layout.channelSize(), channels,
                    layout.tapOffsets(), weights, weightBase, weightStride, init, out, outPlane + oh * outRowBytes,
                    outRowBytes, outW, accumulate);
        }
        for (; oh < outH; oh++) {
            DirectRowKernel.row(packed, channelBase + oh * rowStride, layout.channelSize(), channels,
                    layout.tapOffsets(), weights, weightBase, weightStride, init, out, outPlane + oh * outRowBytes, outW,
                    accumulate);
        }
    }

    /** The bias of a forward call in the lease's {@link #BIAS} array (its first {@code K} floats), or null. */
    static float[] biases(Tensor bias, org.simdconv.parallel.Workspace.Lease lease) {
        if (bias == null) {
            return null;
        }
        float[] b = lease.floats(BIAS, 0, (int) bias.elementCount());
        MemorySegment.copy(bias.segment(), Tensor.FLOAT, bias.byteOffset(), b, 0, (int) bias.elementCount());
        return b;
    }

    static long planeBytes(int h, int w) {
        return (long) h * w * Float.BYTES;
    }
}
