package org.simdconv.internal.simd.rows;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Backward-weights and backward-bias on NCHW planes, for the layers the blocked kernel leaves (one
 * input channel, few output channels, odd groups): one batch item at a time into a task's partial
 * gradients, lane by lane, with the tiles of {@link WeightGradientKernel}; {@link #reduce} adds the
 * partials of all tasks, always in the same order, into the OIHW gradients.
 *
 * <p>Partials: {@code [k][c][t][lane]} for the weights (output channel, input channel of its group,
 * tap) and {@code [k][lane]} for the bias, the bias gradient being the sum of the output gradient
 * (seed 001, 17.3.6), taken from the same heap copy of it.
 */
final class RowWeightGradient {

    /** Workspace slot of a worker's heap copy of one item's output-gradient planes, with room for a vector after them. */
    private static final int GRADIENT = RowsKernel.ROW_WEIGHT_GRADIENT_SLOTS;

    private final ConvProblem g;
    private final PackedPlanes layout;
    private final int cg;
    private final int kg;
    private final int taps;

    RowWeightGradient(ConvProblem g) {
        this.g = g;
        this.layout = new PackedPlanes(g.outH(), g.outW(), g.strideH(), g.strideW(), g.r(), g.s(), g.dilationH(),
                g.dilationW(), LANES);
        this.cg = g.channelsPerGroup();
        this.kg = g.filtersPerGroup();
        this.taps = g.r() * g.s();
    }

    /** Floats of one task's partial weight gradient. */
    int partialLength() {
        return g.k() * cg * taps * LANES;
    }

    /** Floats of one task's partial bias gradient. */
    int biasPartialLength() {
        return g.k() * LANES;
    }

    /**
     * Adds batch item {@code n}'s gradients of output channels {@code [k0, k1)} to {@code partial}
     * and, when {@code biasPartial} is not null, to {@code biasPartial}.
     */
    void accumulate(Tensor input, Tensor gradOutput, int n, int k0, int k1, float[] partial, float[] biasPartial,
                    Workspace.Worker worker) {
        int cFirst = (k0 / kg) * cg, cEnd = ((k1 - 1) / kg + 1) * cg;
        MemorySegment packed = layout.workspace(cEnd - cFirst, worker);
        long inPlaneBytes = (long) g.h() * g.w() * Float.BYTES;
        layout.pack(input.segment(), input.byteOffset() + inPlaneBytes * ((long) n * g.c() + cFirst), cEnd - cFirst,
                g.h(), g.w(), g.padTop(), g.padLeft(), packed, worker);
        int plane = g.outH() * g.outW();
        float[] grad = worker.floats(GRADIENT, (k1 - k0) * plane + LANES);
        MemorySegment.copy(gradOutput.segment(), Tensor.FLOAT,
                gradOutput.byteOffset() + ((long) n * g.k() + k0) * plane * Float.BYTES, grad, 0, (k1 - k0) * plane);
        Arrays.fill(grad, (k1 - k0) * plane, (k1 - k0) * plane + LANES, 0f);
        long rowStride = (long) g.strideH() * layout.rowLength();
        int channelStride = cg * taps * LANES;
        for (int k = k0; k < k1; ) {
            boolean four = FourChannelBlocks.startsBlock(k, kg) && k + FourChannelBlocks.SIZE <= k1;
            int gradAt = (k - k0) * plane;
            int firstChannel = (k / kg) * cg - cFirst;
            for (int c = 0; c < cg; c++) {
                long channelOffset = (firstChannel + c) * layout.channelSize();
                int at = (k * cg + c) * taps * LANES;
                if (four) {
                    fourChannels(packed, channelOffset, rowStride, grad, gradAt, plane, partial, at, channelStride);
                } else {
                    oneChannel(packed, channelOffset, rowStride, grad, gradAt, 0, partial, at);
                }
            }
            if (biasPartial != null) {
                for (int j = 0; j < (four ? FourChannelBlocks.SIZE : 1); j++) {
                    WeightGradientKernel.planeSum(grad, gradAt + j * plane, plane, biasPartial, (k + j) * LANES);
                }
            }
            k += four ? FourChannelBlocks.SIZE : 1;
        }
    }

    /** Taps in pairs through the four-channel tile; an odd last tap one channel at a time. */
    private void fourChannels(MemorySegment packed, long channelOffset, long rowStride, float[] grad, int gradAt,
                              int plane, float[] partial, int at, int channelStride) {
        int[] offsets = layout.tapOffsets();
        int t = 0;
        for (; t + 2 <= taps; t += 2) {
            WeightGradientKernel.fourChannelsTwoTaps(packed, channelOffset, rowStride, offsets[t], offsets[t + 1],
                    grad, gradAt, plane, g.outH(), g.outW(), partial, at + t * LANES, channelStride);
        }
        for (int j = 0; j < FourChannelBlocks.SIZE; j++) {
            oneChannel(packed, channelOffset, rowStride, grad, gradAt + j * plane, t, partial, at + j * channelStride);
        }
    }

    /** Taps {@code [firstTap, taps)} of one output channel: four at a time, then one at a time. */
    private void oneChannel(MemorySegment packed, long channelOffset, long rowStride, float[] grad, int gradAt,
                            int firstTap, float[] partial, int at) {
        int[] offsets = layout.tapOffsets();
        int t = firstTap;
        for (; t + 4 <= taps; t += 4) {
            WeightGradientKernel.oneChannelFourTaps(packed, channelOffset, rowStride, offsets[t], offsets[t + 1],
                    offsets[t + 2], offsets[t + 3], grad, gradAt, g.outH(), g.outW(), partial, at + t * LANES);
        }
        for (; t < taps; t++) {
            WeightGradientKernel.oneChannelOneTap(packed, channelOffset, rowStride, offsets[t], grad, gradAt, g.outH(),
                    g.outW(), partial, at + t * LANES);
        }
    }

    /**
     * Writes (or adds, when accumulating) the sums of the first {@code count} partials, each summed
     * over its lanes in order and the partials in their order, into the OIHW {@code gradWeight}
     * and, when not null, {@code gradBias}.
     */
    void reduce(float[][] partials, float[][] biasPartials, int count, Tensor gradWeight, Tensor gradBias,
                boolean accumulate, float[] sums) {
        reduceLanes(partials, count, gradWeight, accumulate, sums);
        if (gradBias != null) {
            reduceLanes(biasPartials, count, gradBias, accumulate, sums);
        }
    }

    /**
     * Writes (or adds) into {@code target}, element {@code i}, the lanes {@code [i*lanes, (i+1)*lanes)}
     * of the first {@code count} partials, each summed in lane order, the partials in their order;
     * through {@code sums}, at least as long as the target.
     */
    static void reduceLanes(float[][] partials, int count, Tensor target, boolean accumulate, float[] sums) {
        int length = (int) target.elementCount();
        if (accumulate) {
            MemorySegment.copy(target.segment(), Tensor.FLOAT, target.byteOffset(), sums, 0, length);
        } else {
            Arrays.fill(sums, 0, length, 0f);
        }
        for (int i = 0; i < length; i++) {
            for (int t = 0; t < count; t++) {
                sums[i] += WeightGradientKernel.laneSum(partials[t], i * LANES);
            }
        }
        MemorySegment.copy(sums, 0, target.segment(), Tensor.FLOAT, target.byteOffset(), length);
    }
}
