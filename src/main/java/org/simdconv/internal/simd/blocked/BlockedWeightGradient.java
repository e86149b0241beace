package org.simdconv.internal.simd.blocked;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.BlockedProblem;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.Reorder;
import org.simdconv.internal.simd.common.Vectors;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * Backward-weights and backward-bias of one batch item into a partial gradient, with the tiles of
 * {@link WeightGradientTiles}: for every four output blocks (two, or one, where fewer are left or
 * there are 16 vector registers), input block, tap (r, s) and group of four input channels, one
 * sweep over the pixels whose tap lies inside the input. The bias gradient, the sum of the output
 * gradient (seed 001, 17.3.6), is taken from the same staged gradient right after it is staged,
 * while it is in cache.
 *
 * <p>Partial gradients are in the packed weight layout ({@link BlockedWeights}); {@link #unpack}
 * sums the partials of all tasks, always in the same order, into the OIHW gradient.
 */
final class BlockedWeightGradient {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final ConvProblem g;
    private final BlockedProblem p;
    private final BlockedStaging input;
    private final BlockedStaging gradient;
    private final int weightBlock;

    BlockedWeightGradient(ConvProblem g) {
        this.g = g;
        this.p = BlockedProblem.forward(g, LANES);
        this.input = new BlockedStaging(g.c(), g.h(), g.w(), g.strideW(), LANES);
        this.gradient = new BlockedStaging(g.k(), g.outH(), g.outW(), 1, LANES);
        this.weightBlock = g.r() * g.s() * LANES * LANES;
    }

    /**
     * Groups whose channels fill whole blocks, at least half a block of output channels and two
     * input channels (below that most of the tile's lanes or channels would be padding: with one
     * input channel, as in the seed's first layer, the row kernel measured faster).
     */
    static boolean accepts(ConvProblem g) {
        return BlockedProblem.blocksFitGroups(g, LANES) && 2 * g.filtersPerGroup() >= LANES
                && g.channelsPerGroup() >= 2
                && new BlockedStaging(g.c(), g.h(), g.w(), g.strideW(), LANES).itemFloats() < Integer.MAX_VALUE - 64
                && (long) Math.ceilDiv(g.k(), LANES) * LANES * g.outH() * g.outW() < Integer.MAX_VALUE - 64;
    }

    BlockedProblem problem() {
        return p;
    }

    /** Floats of one partial weight gradient; the bias partial holds {@code totalOutBlocks * lanes}. */
    int partialLength() {
        return BlockedWeights.length(p);
    }

    /** Zeroes the weights and biases of output blocks {@code [kbFrom, kbTo)} in a partial and its bias partial. */
    void clear(float[] partial, float[] biasPartial, int kbFrom, int kbTo) {
        int perBlock = p.inBlocks() * weightBlock;
        Arrays.fill(partial, kbFrom * perBlock, kbTo * perBlock, 0f);
        Arrays.fill(biasPartial, kbFrom * LANES, kbTo * LANES, 0f);
    }

    /** Floats of the staged input of one item ({@link #accumulate}'s {@code xStaged}). */
    int stagedInputFloats() {
        return (int) input.itemFloats();
    }

    /** Floats of the staged output gradient of one item ({@link #accumulate}'s {@code dyStaged}). */
    int stagedGradientFloats() {
        return (int) gradient.itemFloats();
    }

    /** Floats of the conversion scratch {@link #accumulate} needs for NCHW tensors. */
    int scratchFloats() {
        return Reorder.scratchFloats(Math.max(g.w(), g.outW()));
    }

    /**
     * Adds batch item {@code n}'s gradients of output blocks {@code [kbFrom, kbTo)} to
     * {@code partial} and, when {@code biasPartial} is not null, to {@code biasPartial}; each tensor
     * is NCHW or, when its flag says so, channel-blocked. The item is staged into {@code xStaged}
     * and {@code dyStaged} ({@link #stagedInputFloats}, {@link #stagedGradientFloats}), through
     * {@code scratch} ({@link #scratchFloats}).
     */
    void accumulate(Tensor x, Tensor gradOutput, boolean xBlocked, boolean gradOutputBlocked, int n, int kbFrom,
                    int kbTo, float[] partial, float[] biasPartial, float[] xStaged, float[] dyStaged,
                    float[] scratch) {
        float[] dy = gradOutputBlocked ? gradient.stageBlocked(gradOutput.segment(), gradOutput.byteOffset(), n,
                dyStaged) : gradient.stageNchw(gradOutput.segment(), gradOutput.byteOffset(), n, dyStaged, scratch);
        if (biasPartial != null) {
            sumPlanes(dy, kbFrom, kbTo, biasPartial);
        }
        float[] staged = xBlocked ? input.stageBlocked(x.segment(), x.byteOffset(), n, xStaged)
                : input.stageNchw(x.segment(), x.byteOffset(), n, xStaged, scratch);
        for (int kb = kbFrom; kb < kbTo; ) {
            int blocks = tileBlocks(kb, kbTo);
            for (int cb = 0; cb < p.inBlocks(); cb++) {
                block(staged, dy, kb, blocks, cb, partial);
            }
            kb += blocks;
        }
    }

    /**
     * How many output blocks from {@code kb} one tile takes: four where there are 32 vector
     * registers ({@link Vectors#THIRTY_TWO_REGISTERS}) and four blocks of the same group are left, else two
     * when two are, else one. Depends only on the range, so results do not depend on threads.
     */
    private int tileBlocks(int kb, int kbTo) {
        int group = kb / p.outBlocks();
        if (Vectors.THIRTY_TWO_REGISTERS && kb + 3 < kbTo && (kb + 3) / p.outBlocks() == group) {
            return 4;
        }
        return kb + 1 < kbTo && (kb + 1) / p.outBlocks() == group ? 2 : 1;
    }

    /** Every tap and group of four channels of input block {@code cb} for blocks {@code [kb, kb + blocks)}. */
    private void block(float[] x, float[] dy, int kb, int blocks, int cb, float[] partial) {
        int group = kb / p.outBlocks();
        int liveChannels = Math.min(LANES, g.channelsPerGroup() - cb * LANES);
        int planeFloats = g.outH() * g.outW() * LANES;
        int xBlock = input.blockOffset(group * p.inBlocks() + cb);
        int xRowStep = g.strideH() * input.rowFloats();
        for (int r = 0; r < g.r(); r++) {
            int ohLo = Math.max(0, Math.ceilDiv(g.padTop() - r * g.dilationH(), g.strideH()));
            int ohHi = Math.min(g.outH(), Math.floorDiv(g.h() - 1 + g.padTop() - r * g.dilationH(), g.strideH()) + 1);
            for (int s = 0; s < g.s(); s++) {
                int owLo = Math.max(0, Math.ceilDiv(g.padLeft() - s * g.dilationW(), g.strideW()));
                int owHi = Math.min(g.outW(), Math.floorDiv(g.w() - 1 + g.padLeft() - s * g.dilationW(), g.strideW()) + 1);
                if (ohHi <= ohLo || owHi <= owLo) {
                    continue;
                }
                int xAt = xBlock + (ohLo * g.strideH() - g.padTop() + r * g.dilationH()) * input.rowFloats()
                        + input.columnOffset(s * g.dilationW() - g.padLeft()) + owLo * LANES;
                int dyAt = (ohLo * g.outW() + owLo) * LANES;
                int w0 = (kb * p.inBlocks() + cb) * weightBlock + (r * g.s() + s) * LANES * LANES;
                for (int ci = 0; ci < liveChannels; ci += WeightGradientTiles.CHANNELS) {
                    if (blocks == 4) {
                        WeightGradientTiles.fourBlocksFourChannels(x, xAt + ci, xRowStep, dy, kb * planeFloats + dyAt,
                                planeFloats, g.outW() * LANES, ohHi - ohLo, owHi - owLo, partial, w0 + ci * LANES,
                                p.inBlocks() * weightBlock);
                    } else if (blocks == 2) {
                        WeightGradientTiles.twoBlocksFourChannels(x, xAt + ci, xRowStep, dy, kb * planeFloats + dyAt,
                                (kb + 1) * planeFloats + dyAt, g.outW() * LANES, ohHi - ohLo, owHi - owLo, partial,
                                w0 + ci * LANES, w0 + p.inBlocks() * weightBlock + ci * LANES);
                    } else {
                        WeightGradientTiles.oneBlockFourChannels(x, xAt + ci, xRowStep, dy, kb * planeFloats + dyAt,
                                g.outW() * LANES, ohHi - ohLo, owHi - owLo, partial, w0 + ci * LANES);
                    }
                }
            }
        }
    }

    /** {@code biasPartial[kb*lanes + ko] += sum of the staged gradient plane of block kb}, pixel by pixel. */
    private void sumPlanes(float[] dy, int kbFrom, int kbTo, float[] biasPartial) {
        int planeFloats = g.outH() * g.outW() * LANES;
        for (int kb = kbFrom; kb < kbTo; kb++) {
            FloatVector sum = FloatVector.fromArray(SPECIES, biasPartial, kb * LANES);
            for (int i = kb * planeFloats, end = i + planeFloats; i < end; i += LANES) {
                sum = sum.add(FloatVector.fromArray(SPECIES, dy, i));
            }
            sum.intoArray(biasPartial, kb * LANES);
        }
    }

    /**
     * Writes (or adds, when accumulating) the sum of the partials, in their order, into the OIHW
     * {@code gradWeight} and, when not null, {@code gradBias}: {@code start + partial[0] + partial[1]
     * + ...} for every element, where {@code start} is the old value when accumulating, else zero.
     * The sums are taken a packed vector at a time (the output channels of one input channel and
     * tap) and scattered to their OIHW places in {@code scratch} (at least as long as the weights),
     * which is then copied out in bulk: reading the partials element by element in OIHW order
     * touched each of their cache lines once per lane, far apart (see {@link BlockedWeights}).
     * Output blocks are summed in parallel: each writes its own filters of {@code scratch}.
     */
    void unpack(float[][] partials, float[][] biasPartials, int count, Tensor gradWeight, Tensor gradBias,
                boolean accumulate, float[] scratch, Parallelism par) {
        int weights = (int) gradWeight.elementCount();
        if (accumulate) {
            MemorySegment.copy(gradWeight.segment(), Tensor.FLOAT, gradWeight.byteOffset(), scratch, 0, weights);
        }
        int[] map = Vectors.strideMap(g.channelsPerGroup() * g.r() * g.s()); // a tap's output channels, in OIHW
        try (SumBlocks task = sumBlocksTasks.take()) {
            task.partials = partials;
            task.count = count;
            task.accumulate = accumulate;
            task.map = map;
            task.scratch = scratch;
            par.forEach(p.totalOutBlocks(), task);
        }
        MemorySegment.copy(scratch, 0, gradWeight.segment(), Tensor.FLOAT, gradWeight.byteOffset(), weights);
        if (gradBias != null) {
            for (int k = 0; k < g.k(); k++) {
                int kb = (k / g.filtersPerGroup()) * p.outBlocks() + (k % g.filtersPerGroup()) / LANES;
                int ko = (k % g.filtersPerGroup()) % LANES;
                long at = gradBias.byteOffset() + (long) k * Float.BYTES;
                float sum = accumulate ? gradBias.segment().get(FLOAT, at) : 0f;
                for (int t = 0; t < count; t++) {
                    sum += biasPartials[t][kb * LANES + ko];
                }
                gradBias.segment().set(FLOAT, at, sum);
            }
        }
    }

    private final CallTask.Pool<SumBlocks> sumBlocksTasks = new CallTask.Pool<>(SumBlocks::new);

    /** The partials' sum: a task is one output block. */
    private final class SumBlocks extends CallTask {
        float[][] partials;
        int count;
        boolean accumulate;
        int[] map;
        float[] scratch;

        @Override
        public void run(int kb, int worker) {
            sumBlock(partials, count, kb, accumulate, map, scratch);
        }

        @Override
        protected void clear() {
            partials = null;
            map = null;
            scratch = null;
        }
    }

    /** {@link #unpack} of output block {@code kb}: its filters' weights, summed over the partials into {@code scratch}. */
    private void sumBlock(float[][] partials, int count, int kb, boolean accumulate, int[] map, float[] scratch) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), taps = g.r() * g.s();
        int group = kb / p.outBlocks(), k0 = group * kg + (kb % p.outBlocks()) * LANES;
        int live = Math.min(LANES, (group + 1) * kg - k0);
        for (int c = 0; c < cg; c++) {
            for (int t = 0; t < taps; t++) {
                int packed = ((kb * p.inBlocks() + c / LANES) * taps + t) * LANES * LANES + (c % LANES) * LANES;
                int at = (k0 * cg + c) * taps + t;
                if (live == LANES && accumulate) { // two loops, not a vector chosen by a condition: C2 would box it
                    FloatVector sum = FloatVector.fromArray(SPECIES, scratch, at, map, 0);
                    for (int i = 0; i < count; i++) {
                        sum = sum.add(FloatVector.fromArray(SPECIES, partials[i], packed));
                    }
                    sum.intoArray(scratch, at, map, 0);
                } else if (live == LANES) {
                    FloatVector sum = FloatVector.fromArray(SPECIES, partials[0], packed);
                    for (int i = 1; i < count; i++) {
                        sum = sum.add(FloatVector.fromArray(SPECIES, partials[i], packed));
                    }
                    sum.intoArray(scratch, at, map, 0);
                } else {
                    for (int ko = 0; ko < live; ko++) {
                        float sum = accumulate ? scratch[at + map[ko]] : 0f;
                        for (int i = 0; i < count; i++) {
                            sum += partials[i][packed + ko];
                        }
                        scratch[at + map[ko]] = sum;
                    }
                }
            }
        }
    }
}
