package org.simdconv.internal.simd.rows;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Forward and backward-weights of stride-1 layers with small planes, the seed network's two
 * layers among them ({@code 1 x 28 x 28 -> 4} and {@code 4 x 13 x 13 -> 6}), NCHW and vectorised
 * along the plane read as one flat row. Each batch item's input planes are staged into a heap array
 * with their zero padding, rows {@code pitch = padLeft + W + padRight} apart; output pixel
 * {@code (oh, ow)} is then flat index {@code q = oh * pitch + ow}, and tap {@code (r, s)} reads
 * {@code x[q + r*dh*pitch + s*dw]} (seed 001, 17.1.6, with one offset per tap). The columns
 * {@code ow >= outW} of each flat row are computed too and dropped, which costs
 * {@code pitch / outW - 1} more FMAs (8% on the first seed layer, 18% on the second) but leaves no
 * row tails: on 11 to 26 columns, rows of whole vectors wasted 23% to 45% of the lanes, and their
 * partial stores and per-row copies cost more than the arithmetic.
 *
 * <p>For planes this small the fixed costs per row decide: staging is one bulk copy per plane and
 * heap copies per row; the forward output goes to a heap array, is compacted there and written
 * with one bulk copy per item; backward-weights keeps lane-wise partial sums across the items of a
 * task ({@link RowWeightGradient#reduce}). Accepted when the staged input of a group and the flat
 * output fit {@link #MAX_STAGED_FLOATS}, so that they stay in L2 while every tile passes over them.
 */
final class FlatPlaneConvolution {

    /** At most this many floats staged per item and task (input planes and flat outputs): 512 KiB. */
    static final int MAX_STAGED_FLOATS = 1 << 17;

    /** Workspace slots of a worker: staged input, flat gradient or output, and copy of the source planes. */
    private static final int STAGED = RowsKernel.FLAT_PLANE_SLOTS;
    private static final int FLAT = STAGED + 1;
    private static final int SOURCE = STAGED + 2;

    private final ConvProblem g;
    private final int splits;
    /** The output channels of each task's slice, as four-channel blocks and single channels. */
    private final FourChannelBlocks.ChannelTiles[] tiles;
    /** The same for the forward: blocks that take the pair of single channels after them as one six-channel tile. */
    private final ForwardTiles[] forwardTiles;
    private final int pitch;
    private final int paddedH;
    private final int channelFloats;
    private final int vectors;
    private final int flatFloats;
    private final int[] taps;
    /** All-ones where flat index {@code q} is a real output column, zero where it is dropped. */
    private final int[] real;

    /** The plan of {@code g} for tasks that cut the output channels into {@code splits} slices. */
    FlatPlaneConvolution(ConvProblem g, int splits) {
        this.g = g;
        this.splits = splits;
        this.tiles = new FourChannelBlocks.ChannelTiles[splits];
        for (int i = 0; i < splits; i++) {
            tiles[i] = FourChannelBlocks.tiles(firstChannel(i), firstChannel(i + 1), g.filtersPerGroup());
        }
        this.forwardTiles = new ForwardTiles[splits];
        for (int i = 0; i < splits; i++) {
            forwardTiles[i] = ForwardTiles.of(tiles[i], g.filtersPerGroup());
        }
        this.pitch = g.padLeft() + g.w() + g.padRight();
        this.paddedH = g.padTop() + g.h() + g.padBottom();
        this.taps = new int[g.r() * g.s()];
        for (int r = 0; r < g.r(); r++) {
            for (int s = 0; s < g.s(); s++) {
                taps[r * g.s() + s] = r * g.dilationH() * pitch + s * g.dilationW();
            }
        }
        this.vectors = Math.ceilDiv((g.outH() - 1) * pitch + g.outW(), LANES);
        this.flatFloats = vectors * LANES;
        this.channelFloats = PackedPlanes.roundUp(Math.max(paddedH * pitch, flatFloats + taps[taps.length - 1]), LANES);
        this.real = new int[flatFloats];
        for (int q = 0; q < flatFloats; q++) {
            real[q] = q % pitch < g.outW() && q / pitch < g.outH() ? -1 : 0;
        }
    }

    /** First output channel of slice {@code split}. */
    int firstChannel(int split) {
        return WorkSplit.start(g.k(), splits, split);
    }

    int splits() {
        return splits;
    }

    /** Stride 1 and small planes: the input of a group and the flat outputs of one item fit the budget. */
    static boolean accepts(ConvProblem g) {
        if (g.strideH() != 1 || g.strideW() != 1) {
            return false;
        }
        long pitch = (long) g.padLeft() + g.w() + g.padRight();
        long flat = (long) (g.outH() - 1) * pitch + g.outW() + LANES;
        long channel = Math.max((g.padTop() + g.h() + g.padBottom()) * pitch,
                flat + (long) (g.r() - 1) * g.dilationH() * pitch + (long) (g.s() - 1) * g.dilationW()) + LANES;
        return channel * g.channelsPerGroup() + flat * g.filtersPerGroup() <= MAX_STAGED_FLOATS;
    }

    /**
     * Forward of batch item {@code n}, output channels of slice {@code split}: {@code weights} are
     * OIHW with each full block of four channels interleaved ({@link FourChannelBlocks#interleave}).
     */
    void forward(Tensor input, float[] weights, float[] bias, Tensor output, int n, int split,
                 Workspace.Worker worker) {
        int k0 = firstChannel(split), k1 = firstChannel(split + 1);
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), perChannel = cg * taps.length;
        int cFirst = (k0 / kg) * cg, cEnd = ((k1 - 1) / kg + 1) * cg;
        float[] x = worker.floats(STAGED, (cEnd - cFirst) * channelFloats);
        stageInput(worker, x, 0, input, n, cFirst, cEnd);
        float[] flat = worker.floats(FLAT, (k1 - k0) * flatFloats + LANES); // room for the compaction's reads
        for (int k : forwardTiles[split].sixes()) {
            int xAt = ((k / kg) * cg - cFirst) * channelFloats, out = (k - k0) * flatFloats, w0 = k * perChannel;
            int wa = (k + 4) * perChannel, wb = (k + 5) * perChannel;
            int v = 0;
            for (; v + 4 <= vectors; v += 4) {
                FlatPlaneTiles.sixChannelsFourVectors(x, xAt + v * LANES, channelFloats, cg, taps, weights, w0, wa, wb,
                        bias, k, flat, out + v * LANES, flatFloats);
            }
            for (; v < vectors; v++) {
                FlatPlaneTiles.sixChannelsOneVector(x, xAt + v * LANES, channelFloats, cg, taps, weights, w0, wa, wb,
                        bias, k, flat, out + v * LANES, flatFloats);
            }
        }
        for (int k : forwardTiles[split].fours()) {
            int xAt = ((k / kg) * cg - cFirst) * channelFloats, out = (k - k0) * flatFloats, w0 = k * perChannel;
            float b0 = bias == null ? 0f : bias[k], b1 = bias == null ? 0f : bias[k + 1];
            float b2 = bias == null ? 0f : bias[k + 2], b3 = bias == null ? 0f : bias[k + 3];
            int v = 0;
            for (; v + 4 <= vectors; v += 4) {
                FlatPlaneTiles.fourChannelsFourVectors(x, xAt + v * LANES, channelFloats, cg, taps, weights, w0, b0, b1,
                        b2, b3, flat, out + v * LANES, flatFloats);
            }
            for (; v < vectors; v++) {
                FlatPlaneTiles.fourChannelsOneVector(x, xAt + v * LANES, channelFloats, cg, taps, weights, w0, b0, b1,
                        b2, b3, flat, out + v * LANES, flatFloats);
            }
        }
        int[] singles = forwardTiles[split].singles();
        for (int i = 0; i < singles.length; i++) { // a channel of a four-block that another task shares reads with a step
            int k = singles[i];
            int xAt = ((k / kg) * cg - cFirst) * channelFloats, out = (k - k0) * flatFloats;
            int w0 = FourChannelBlocks.weightBase(k, kg, perChannel), step = FourChannelBlocks.weightStride(k, kg);
            float b = bias == null ? 0f : bias[k];
            int v = 0;
            if (i + 1 < singles.length && singles[i + 1] == k + 1 && (k + 1) / kg == k / kg
                    && FourChannelBlocks.weightStride(k + 1, kg) == step) { // two at a time: each load feeds both
                int w1 = FourChannelBlocks.weightBase(k + 1, kg, perChannel);
                float b1 = bias == null ? 0f : bias[k + 1];
                for (; v + 4 <= vectors; v += 4) {
                    FlatPlaneTiles.twoChannelsFourVectors(x, xAt + v * LANES, channelFloats, cg, taps, weights, w0, w1,
                            step, b, b1, flat, out + v * LANES, flatFloats);
                }
                for (; v < vectors; v++) {
                    FlatPlaneTiles.twoChannelsOneVector(x, xAt + v * LANES, channelFloats, cg, taps, weights, w0, w1,
                            step, b, b1, flat, out + v * LANES, flatFloats);
                }
                i++;
            }
            for (; v + 4 <= vectors; v += 4) {
                FlatPlaneTiles.oneChannelFourVectors(x, xAt + v * LANES, channelFloats, cg, taps, weights, w0, step, b,
                        flat, out + v * LANES);
            }
            for (; v < vectors; v++) {
                FlatPlaneTiles.oneChannelOneVector(x, xAt + v * LANES, channelFloats, cg, taps, weights, w0, step, b,
                        flat, out + v * LANES);
            }
        }
        // Compact the real columns of every flat row, then one bulk copy into the output planes.
        int plane = g.outH() * g.outW();
        float[] compact = worker.floats(SOURCE, (k1 - k0) * plane + LANES);
        for (int k = 0; k < k1 - k0; k++) {
            FlatPlaneTiles.compactRows(flat, k * flatFloats, pitch, g.outH(), g.outW(), compact, k * plane);
        }
        MemorySegment.copy(compact, 0, output.segment(), Tensor.FLOAT,
                output.byteOffset() + ((long) n * g.k() + k0) * plane * Float.BYTES, (k1 - k0) * plane);
    }

    /**
     * Adds the weight gradients of batch items {@code [n0, n1)} for the output channels of slice
     * {@code split} to the lane-wise {@code partial} ({@code [k][c][t][lane]}, as
     * {@link RowWeightGradient}) and, when not null, their bias gradients to {@code biasPartial}
     * ({@code [k][lane]}). Items are staged in groups that fit {@link #MAX_STAGED_FLOATS}, and every
     * tile runs over a whole group, its accumulators in registers from the first item to the last:
     * item by item, the seed's planes gave a tile nine vectors of FMAs per load and store of its
     * sixteen accumulators. Each partial lane still sums the items in order, then the vectors.
     */
    void accumulateWeightGradient(Tensor input, Tensor gradOutput, int n0, int n1, int split, float[] partial,
                                  float[] biasPartial, Workspace.Worker worker) {
        int k0 = firstChannel(split), k1 = firstChannel(split + 1);
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
        int cFirst = (k0 / kg) * cg, cEnd = ((k1 - 1) / kg + 1) * cg;
        int xItem = (cEnd - cFirst) * channelFloats, dyItem = (k1 - k0) * flatFloats;
        int group = Math.max(1, Math.min(n1 - n0, MAX_STAGED_FLOATS / (xItem + dyItem)));
        for (int n = n0; n < n1; n += group) {
            int items = Math.min(group, n1 - n);
            float[] x = worker.floats(STAGED, items * xItem);
            float[] dy = worker.floats(FLAT, items * dyItem + LANES);
            for (int m = 0; m < items; m++) {
                stageInput(worker, x, m * xItem, input, n + m, cFirst, cEnd);
                stageGradient(worker, dy, m * dyItem, gradOutput, n + m, k0, k1);
            }
            if (FlatPlaneTiles.finite(x, 0, items * xItem)) {
                blockWeightGradients(x, dy, items, xItem, dyItem, split, k0, cFirst, partial);
                singleWeightGradients(x, dy, items, xItem, dyItem, split, k0, cFirst, partial);
            } else {
                for (int m = 0; m < items; m++) {
                    maskedWeightGradients(x, m * xItem, dy, m * dyItem, k0, k1, cFirst, partial);
                }
            }
            for (int m = 0; biasPartial != null && m < items; m++) {
                for (int k = k0; k < k1; k++) {
                    FlatPlaneTiles.sum(dy, m * dyItem + (k - k0) * flatFloats, vectors, biasPartial, k * LANES);
                }
            }
        }
    }

    // The tile loops are methods of their own, each a small compilation unit: inlined into one large
    // method, the tiles pushed C2 past its inlining budget, and the vectors of the tiles it then
    // left as calls were boxed (1.7 MB per call on the seed's second layer).

    /**
     * The four-channel blocks of slice {@code split}: four taps at a time, then one, over {@code items}
     * staged items {@code xItem} and {@code dyItem} floats apart (finite inputs).
     */
    private void blockWeightGradients(float[] x, float[] dy, int items, int xItem, int dyItem, int split, int k0,
                                      int cFirst, float[] partial) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), t = taps.length, channelStride = cg * t * LANES;
        for (int k : tiles[split].blockStarts()) {
            int firstChannel = (k / kg) * cg - cFirst, dyAt = (k - k0) * flatFloats;
            for (int c = 0; c < cg; c++) {
                int xAt = (firstChannel + c) * channelFloats, at = (k * cg + c) * t * LANES;
                int i = 0;
                for (; i + 4 <= t; i += 4) {
                    FlatPlaneTiles.fourChannelsFourTaps(x, xAt, taps[i], taps[i + 1], taps[i + 2], taps[i + 3], dy,
                            dyAt, flatFloats, vectors, items, xItem, dyItem, partial, at + i * LANES, channelStride);
                }
                for (; i < t; i++) {
                    FlatPlaneTiles.fourChannelsOneTap(x, xAt, taps[i], dy, dyAt, flatFloats, vectors, items, xItem,
                            dyItem, partial, at + i * LANES, channelStride);
                }
            }
        }
    }

    /** The single channels of slice {@code split} (finite inputs). */
    private void singleWeightGradients(float[] x, float[] dy, int items, int xItem, int dyItem, int split, int k0,
                                       int cFirst, float[] partial) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), t = taps.length;
        for (int k : tiles[split].singles()) {
            int firstChannel = (k / kg) * cg - cFirst, dyAt = (k - k0) * flatFloats;
            for (int c = 0; c < cg; c++) {
                int xAt = (firstChannel + c) * channelFloats, at = (k * cg + c) * t * LANES;
                int i = 0;
                for (; i + 4 <= t; i += 4) {
                    FlatPlaneTiles.oneChannelFourTaps(x, xAt, taps[i], taps[i + 1], taps[i + 2], taps[i + 3], dy,
                            dyAt, vectors, items, xItem, dyItem, partial, at + i * LANES);
                }
                for (; i < t; i++) {
                    FlatPlaneTiles.oneChannelOneTap(x, xAt, taps[i], dy, dyAt, vectors, items, xItem,
                            dyItem, partial, at + i * LANES);
                }
            }
        }
    }

    /** Every weight of {@code [k0, k1)} tap by tap, the input masked: an item with an infinity or NaN. */
    private void maskedWeightGradients(float[] x, int xFrom, float[] dy, int dyFrom, int k0, int k1, int cFirst,
                                       float[] partial) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), t = taps.length;
        for (int k = k0; k < k1; k++) { // 0 * Inf in a dropped column would be NaN
            int firstChannel = (k / kg) * cg - cFirst, dyAt = dyFrom + (k - k0) * flatFloats;
            for (int c = 0; c < cg; c++) {
                for (int i = 0; i < t; i++) {
                    FlatPlaneTiles.oneChannelOneTapMasked(x, xFrom + (firstChannel + c) * channelFloats, taps[i], real, dy,
                            dyAt, vectors, partial, ((k * cg + c) * t + i) * LANES);
                }
            }
        }
    }

    /**
     * Input channels {@code [c0, c1)} of item {@code n}, zero-padded, {@code channelFloats} apart,
     * into {@code staged} from {@code to}.
     */
    private void stageInput(Workspace.Worker worker, float[] staged, int to, Tensor input, int n, int c0, int c1) {
        int plane = g.h() * g.w();
        long from = input.byteOffset() + ((long) n * g.c() + c0) * plane * Float.BYTES;
        if (pitch == g.w() && g.padTop() == 0) { // no padding: each plane is one run, zeros after it
            for (int c = 0; c < c1 - c0; c++) {
                MemorySegment.copy(input.segment(), Tensor.FLOAT, from + (long) c * plane * Float.BYTES, staged,
                        to + c * channelFloats, plane);
                Arrays.fill(staged, to + c * channelFloats + plane, to + (c + 1) * channelFloats, 0f);
            }
            return;
        }
        Arrays.fill(staged, to, to + (c1 - c0) * channelFloats, 0f);
        float[] source = worker.floats(SOURCE, (c1 - c0) * plane);
        MemorySegment.copy(input.segment(), Tensor.FLOAT, from, source, 0, (c1 - c0) * plane);
        for (int c = 0; c < c1 - c0; c++) {
            for (int h = 0; h < g.h(); h++) {
                System.arraycopy(source, c * plane + h * g.w(), staged,
                        to + c * channelFloats + (h + g.padTop()) * pitch + g.padLeft(), g.w());
            }
        }
    }

    /**
     * Output-gradient planes {@code [k0, k1)} of item {@code n} as flat rows, zeros in the dropped
     * columns, into {@code flat} from {@code to} (which needs {@code LANES} floats of room after them).
     */
    private void stageGradient(Workspace.Worker worker, float[] flat, int to, Tensor gradOutput, int n, int k0, int k1) {
        int plane = g.outH() * g.outW();
        float[] source = worker.floats(SOURCE, (k1 - k0) * plane + LANES); // room for the spread's last reads
        MemorySegment.copy(gradOutput.segment(), Tensor.FLOAT,
                gradOutput.byteOffset() + ((long) n * g.k() + k0) * plane * Float.BYTES, source, 0, (k1 - k0) * plane);
        for (int k = 0; k < k1 - k0; k++) {
            FlatPlaneTiles.spreadRows(source, k * plane, g.outH(), g.outW(), pitch, flat, to + k * flatFloats);
            int end = (g.outH() - 1) * pitch + g.outW(); // zeros after the last row, which no store covered
            Arrays.fill(flat, to + k * flatFloats + end, to + (k + 1) * flatFloats, 0f);
        }
    }


    /**
     * A slice's output channels for the forward: four-channel blocks followed in their group by two
     * single channels with plain weight rows ({@code sixes}: the block's first channel), the other
     * blocks ({@code fours}) and the single channels left.
     */
    private record ForwardTiles(int[] sixes, int[] fours, int[] singles) {

        static ForwardTiles of(FourChannelBlocks.ChannelTiles tiles, int perGroup) {
            int[] blocks = tiles.blockStarts(), singles = tiles.singles();
            boolean[] paired = new boolean[blocks.length];
            boolean[] taken = new boolean[singles.length];
            int sixes = 0, takenCount = 0;
            for (int b = 0; b < blocks.length; b++) {
                int k = blocks[b];
                for (int i = 0; i + 1 < singles.length; i++) {
                    if (singles[i] == k + 4 && singles[i + 1] == k + 5 && (k + 5) / perGroup == k / perGroup
                            && FourChannelBlocks.weightStride(k + 4, perGroup) == 1
                            && FourChannelBlocks.weightStride(k + 5, perGroup) == 1) {
                        paired[b] = true;
                        taken[i] = true;
                        taken[i + 1] = true;
                        sixes++;
                        takenCount += 2;
                    }
                }
            }
            int[] six = new int[sixes], four = new int[blocks.length - sixes], left = new int[singles.length - takenCount];
            for (int b = 0, s6 = 0, s4 = 0; b < blocks.length; b++) {
                if (paired[b]) {
                    six[s6++] = blocks[b];
                } else {
                    four[s4++] = blocks[b];
                }
            }
            for (int i = 0, j = 0; i < singles.length; i++) {
                if (!taken[i]) {
                    left[j++] = singles[i];
                }
            }
            return new ForwardTiles(six, four, left);
        }
    }
}
