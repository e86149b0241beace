package org.simdconv.internal.simd.pooling;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.simdconv.internal.nn.PoolProblem;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.internal.simd.common.Vectors;
import org.simdconv.internal.simd.common.Zeros;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Max and average pooling and their gradients (seed 003: the max-pooling gradient goes to the
 * recorded arg-max only, the average-pooling gradient is spread evenly over the window). A task is
 * one plane: a channel of a plain tensor, or a block of channels of a channel-blocked one.
 *
 * <p>Channel-blocked, a pixel's block is one vector, so every window is a handful of lanewise
 * operations on whole vectors: the maximum with a compare and two blends (the arg-max indices ride
 * in an int vector beside it), and the gradients as masked adds into the input gradient, in the
 * outputs' row-major order, so overlapping windows add up in one fixed order. Plain tensors (the
 * few channels of a first layer, which the convolution keeps plain) are pooled a vector of output
 * columns at a time, each lane gathering its window's inputs from a copy of the plane with a margin
 * (the windows of neighbouring outputs lie a stride apart); their gradients are scalar.
 *
 * <p>The arg-max of an output element is the input's index {@code ih * W + iw} in its plane,
 * stored as an int at the output element's position in the output's storage.
 */
public final class Pooling {

    /** Int lanes as many as the float lanes: the arg-max of each channel of a block. */
    private static final VectorSpecies<Integer> INDICES = SPECIES.withLanes(int.class);

    private static final int MAX = 0;
    private static final int MAX_BACKWARD = 1;
    private static final int AVERAGE = 2;
    private static final int AVERAGE_BACKWARD = 3;
    private static final int MAX_RECTIFIED = 4;

    /** Worker slot of a plain input plane copied to the heap. */
    private static final int PLANE = 0;
    /**
     * Worker slot of an output row of maxima, then of their indices (as float bits), each padded
     * to whole vectors: the row goes out in two bulk copies, so no vector leaves the loop through
     * a masked store or a method call. Either made C2 box the loop's vectors in some runs (128
     * bytes to 250 KB a training step, found by CI).
     */
    private static final int ROW = 1;

    private static final CallTask.Pool<Planes> TASKS = new CallTask.Pool<>(Planes::new);

    private Pooling() {
    }

    /** Max pooling; {@code argmax} receives the index each output took. */
    public static void maxPool(PoolProblem p, Tensor x, Tensor y, MemorySegment argmax, boolean rectify,
                               Workspace workspace, Parallelism par) {
        run(rectify ? MAX_RECTIFIED : MAX, p, x, y, argmax, workspace, par);
    }

    /** The max-pooling gradient: {@code dx} is zero but where an output took its input. */
    public static void maxPoolBackward(PoolProblem p, Tensor dy, MemorySegment argmax, Tensor dx,
                                       Workspace workspace, Parallelism par) {
        run(MAX_BACKWARD, p, dy, dx, argmax, workspace, par);
    }

    /** Average pooling, padding counted as zeros. */
    public static void avgPool(PoolProblem p, Tensor x, Tensor y, Workspace workspace, Parallelism par) {
        run(AVERAGE, p, x, y, null, workspace, par);
    }

    /** The average-pooling gradient. */
    public static void avgPoolBackward(PoolProblem p, Tensor dy, Tensor dx, Workspace workspace, Parallelism par) {
        run(AVERAGE_BACKWARD, p, dy, dx, null, workspace, par);
    }

    private static void run(int op, PoolProblem p, Tensor from, Tensor to, MemorySegment argmax, Workspace workspace,
                            Parallelism par) {
        boolean blocked = from.layout().isBlocked();
        int planes = p.n() * (blocked ? Math.ceilDiv(p.c(), LANES) : p.c());
        try (Workspace.Lease lease = workspace.lease().workers(par.threads()); Planes task = TASKS.take()) {
            task.lease = lease;
            task.op = op;
            task.p = p;
            task.blocked = blocked;
            task.from = from.segment();
            task.fromAt = from.byteOffset();
            task.to = to.segment();
            task.toAt = to.byteOffset();
            task.argmax = argmax;
            par.forEach(planes, task);
        }
    }

    private static final class Planes extends CallTask {
        int op;
        PoolProblem p;
        boolean blocked;
        MemorySegment from;
        long fromAt;
        MemorySegment to;
        long toAt;
        MemorySegment argmax;
        Workspace.Lease lease;

        @Override
        public void run(int plane, int worker) {
            long in = (long) plane * p.h() * p.w(), out = (long) plane * p.outH() * p.outW();
            int width = blocked ? LANES : 1;
            // Element offsets of the plane in the input (x or dx) and the output (y or dy).
            long inAt = in * width, outAt = out * width;
            switch (op) {
                case MAX, MAX_RECTIFIED -> {
                    if (blocked) {
                        maxBlocked(inAt, outAt, op == MAX_RECTIFIED);
                    } else {
                        maxPlain(inAt, outAt, op == MAX_RECTIFIED, lease.worker(worker));
                    }
                }
                case MAX_BACKWARD -> {
                    zero(to, toAt, inAt * Float.BYTES, (long) p.h() * p.w() * width * Float.BYTES);
                    if (blocked) {
                        maxBackwardBlocked(inAt, outAt);
                    } else {
                        maxBackwardPlain(inAt, outAt);
                    }
                }
                case AVERAGE -> {
                    if (blocked) {
                        averageBlocked(inAt, outAt);
                    } else {
                        averagePlain(inAt, outAt, lease.worker(worker));
                    }
                }
                default -> {
                    zero(to, toAt, inAt * Float.BYTES, (long) p.h() * p.w() * width * Float.BYTES);
                    if (blocked) {
                        averageBackwardBlocked(inAt, outAt);
                    } else {
                        averageBackwardPlain(inAt, outAt);
                    }
                }
            }
        }

        private static void zero(MemorySegment s, long base, long at, long bytes) {
            Zeros.fill(s, base + at, bytes);
        }

        /** The window's first row inside the input: rows before it are padding. */
        private int rowFrom(int oh) {
            return Math.max(0, oh * p.sh() - p.ph());
        }

        private int rowTo(int oh) {
            return Math.min(p.h(), oh * p.sh() - p.ph() + p.kh());
        }

        private int colFrom(int ow) {
            return Math.max(0, ow * p.sw() - p.pw());
        }

        private int colTo(int ow) {
            return Math.min(p.w(), ow * p.sw() - p.pw() + p.kw());
        }

        /** A NaN wins over every number; a later element wins only when larger, or a NaN (PyTorch's rule). */
        private void maxBlocked(long inAt, long outAt, boolean rectify) {
            int w = p.w();
            long pixel = (long) LANES * Float.BYTES;
            for (int oh = 0; oh < p.outH(); oh++) {
                int h0 = rowFrom(oh), h1 = rowTo(oh);
                for (int ow = 0; ow < p.outW(); ow++) {
                    int w0 = colFrom(ow), w1 = colTo(ow);
                    int first = h0 * w + w0;
                    FloatVector best = FloatVector.fromMemorySegment(SPECIES, from,
                            fromAt + (inAt + (long) first * LANES) * Float.BYTES, ORDER);
                    IntVector taken = IntVector.broadcast(INDICES, first);
                    for (int ih = h0; ih < h1; ih++) {
                        for (int iw = ih == h0 ? w0 + 1 : w0; iw < w1; iw++) {
                            int index = ih * w + iw;
                            FloatVector v = FloatVector.fromMemorySegment(SPECIES, from,
                                    fromAt + (inAt + (long) index * LANES) * Float.BYTES, ORDER);
                            VectorMask<Float> wins = v.compare(VectorOperators.GT, best)
                                    .or(v.test(VectorOperators.IS_NAN));
                            best = best.blend(v, wins);
                            taken = taken.blend(IntVector.broadcast(INDICES, index), wins.cast(INDICES));
                        }
                    }
                    long o = outAt + (long) (oh * p.outW() + ow) * LANES;
                    if (rectify) {
                        // Not positive: no input taken. best.max(0) keeps a NaN a NaN, as Math.max.
                        taken = taken.blend(-1, best.compare(VectorOperators.GT, 0f).not().cast(INDICES));
                        best = best.max(0f);
                    }
                    best.intoMemorySegment(to, toAt + o * Float.BYTES, ORDER);
                    taken.intoMemorySegment(argmax, o * Integer.BYTES, ORDER);
                }
            }
        }

        private void maxBackwardBlocked(long inAt, long outAt) {
            int w = p.w();
            for (int oh = 0; oh < p.outH(); oh++) {
                int h0 = rowFrom(oh), h1 = rowTo(oh);
                for (int ow = 0; ow < p.outW(); ow++) {
                    int w0 = colFrom(ow), w1 = colTo(ow);
                    long o = outAt + (long) (oh * p.outW() + ow) * LANES;
                    FloatVector g = FloatVector.fromMemorySegment(SPECIES, from, fromAt + o * Float.BYTES, ORDER);
                    IntVector taken = IntVector.fromMemorySegment(INDICES, argmax, o * Integer.BYTES, ORDER);
                    for (int ih = h0; ih < h1; ih++) {
                        for (int iw = w0; iw < w1; iw++) {
                            int index = ih * w + iw;
                            VectorMask<Float> here = taken.compare(VectorOperators.EQ, index).cast(SPECIES);
                            long at = toAt + (inAt + (long) index * LANES) * Float.BYTES;
                            FloatVector d = FloatVector.fromMemorySegment(SPECIES, to, at, ORDER);
                            d.add(g, here).intoMemorySegment(to, at, ORDER);
                        }
                    }
                }
            }
        }

        private void averageBlocked(long inAt, long outAt) {
            int w = p.w();
            float area = (float) p.kh() * p.kw();
            for (int oh = 0; oh < p.outH(); oh++) {
                int h0 = rowFrom(oh), h1 = rowTo(oh);
                for (int ow = 0; ow < p.outW(); ow++) {
                    int w0 = colFrom(ow), w1 = colTo(ow);
                    FloatVector sum = FloatVector.zero(SPECIES);
                    for (int ih = h0; ih < h1; ih++) {
                        for (int iw = w0; iw < w1; iw++) {
                            sum = sum.add(FloatVector.fromMemorySegment(SPECIES, from,
                                    fromAt + (inAt + (long) (ih * w + iw) * LANES) * Float.BYTES, ORDER));
                        }
                    }
                    long o = outAt + (long) (oh * p.outW() + ow) * LANES;
                    sum.div(area).intoMemorySegment(to, toAt + o * Float.BYTES, ORDER);
                }
            }
        }

        private void averageBackwardBlocked(long inAt, long outAt) {
            int w = p.w();
            float area = (float) p.kh() * p.kw();
            for (int oh = 0; oh < p.outH(); oh++) {
                int h0 = rowFrom(oh), h1 = rowTo(oh);
                for (int ow = 0; ow < p.outW(); ow++) {
                    int w0 = colFrom(ow), w1 = colTo(ow);
                    long o = outAt + (long) (oh * p.outW() + ow) * LANES;
                    FloatVector share = FloatVector.fromMemorySegment(SPECIES, from, fromAt + o * Float.BYTES, ORDER)
                            .div(area);
                    for (int ih = h0; ih < h1; ih++) {
                        for (int iw = w0; iw < w1; iw++) {
                            long at = toAt + (inAt + (long) (ih * w + iw) * LANES) * Float.BYTES;
                            FloatVector.fromMemorySegment(SPECIES, to, at, ORDER).add(share)
                                    .intoMemorySegment(to, at, ORDER);
                        }
                    }
                }
            }
        }

        /**
         * Plain planes, vectorised along the output columns: the plane is copied to the worker's
         * heap array, each window tap (i, j) is one gather of a vector of outputs' inputs (their
         * columns {@code stride} apart), and the maximum and its index ride in vectors as in the
         * blocked form. Scalar code with a branch per tap ran at 10 ns an output: which tap wins is
         * data, and most branches were mispredicted.
         */
        private void maxPlain(long inAt, long outAt, boolean rectify, Workspace.Worker memory) {
            int w = p.w(), outW = p.outW(), sw = p.sw();
            float[] plane = planeOf(inAt, memory);
            int[] map = Vectors.strideMap(sw);
            IntVector columns = IntVector.fromArray(INDICES, map, 0);
            int span = Math.ceilDiv(outW, LANES) * LANES;
            float[] results = memory.floats(ROW, 2 * span);
            for (int oh = 0; oh < p.outH(); oh++) {
                long row = outAt + (long) oh * outW;
                for (int ow0 = 0; ow0 < outW; ow0 += LANES) {
                    FloatVector best = FloatVector.zero(SPECIES);
                    IntVector taken = IntVector.broadcast(INDICES, -1);
                    for (int i = 0; i < p.kh(); i++) {
                        int ih = oh * p.sh() - p.ph() + i;
                        for (int j = 0; j < p.kw() && ih >= 0 && ih < p.h(); j++) {
                            VectorMask<Float> live = SPECIES.indexInRange(0, lastColumn(j) - ow0)
                                    .andNot(SPECIES.indexInRange(0, firstColumn(j) - ow0));
                            int base = ih * w + ow0 * sw - p.pw() + j;
                            FloatVector v = FloatVector.fromArray(SPECIES, plane, margin() + base, map, 0, live);
                            VectorMask<Float> wins = taken.compare(VectorOperators.LT, 0).cast(SPECIES)
                                    .or(v.compare(VectorOperators.GT, best)).or(v.test(VectorOperators.IS_NAN))
                                    .and(live);
                            best = best.blend(v, wins);
                            taken = taken.blend(columns.add(base), wins.cast(INDICES));
                        }
                    }
                    if (rectify) {
                        taken = taken.blend(-1, best.compare(VectorOperators.GT, 0f).not().cast(INDICES));
                        best = best.max(0f);
                    }
                    best.intoArray(results, ow0);
                    taken.reinterpretAsFloats().intoArray(results, span + ow0);
                }
                MemorySegment.copy(results, 0, to, Tensor.FLOAT, toAt + row * Float.BYTES, outW);
                MemorySegment.copy(results, span, argmax, Tensor.FLOAT, row * Integer.BYTES, outW);
            }
        }

        /**
         * The input plane at element {@code inAt}, copied to the worker's array from element {@link
         * #margin()} on: the gathers check every lane's index, even those their mask leaves unread,
         * and a vector of outputs at the plane's edges has lanes left of its first column or past
         * its last.
         */
        private float[] planeOf(long inAt, Workspace.Worker memory) {
            int size = p.h() * p.w();
            float[] plane = memory.floats(PLANE, size + 2 * margin());
            MemorySegment.copy(from, Tensor.FLOAT, fromAt + inAt * Float.BYTES, plane, margin(), size);
            return plane;
        }

        /** Elements before and after the copied plane: more than a vector of windows reaches past it. */
        private int margin() {
            return LANES * p.sw() + p.pw() + p.kw();
        }

        /** The first output column whose window's tap column {@code j} is inside the input. */
        private int firstColumn(int j) {
            return Math.max(0, Math.ceilDiv(p.pw() - j, p.sw()));
        }

        /** One past the last output column whose window's tap column {@code j} is inside the input. */
        private int lastColumn(int j) {
            return Math.min(p.outW(), Math.floorDiv(p.w() - 1 + p.pw() - j, p.sw()) + 1);
        }

        private void maxBackwardPlain(long inAt, long outAt) {
            for (int o = 0; o < p.outH() * p.outW(); o++) {
                int taken = argmax.getAtIndex(ValueLayout.JAVA_INT, outAt + o);
                if (taken >= 0) { // -1: a rectified output that took no input
                    long at = toAt + (inAt + taken) * Float.BYTES;
                    to.set(Tensor.FLOAT, at, to.get(Tensor.FLOAT, at) + input(outAt + o));
                }
            }
        }

        /** Plain planes, vectorised along the output columns as {@link #maxPlain}. */
        private void averagePlain(long inAt, long outAt, Workspace.Worker memory) {
            int w = p.w(), outW = p.outW(), sw = p.sw();
            float area = (float) p.kh() * p.kw();
            float[] plane = planeOf(inAt, memory);
            int[] map = Vectors.strideMap(sw);
            for (int oh = 0; oh < p.outH(); oh++) {
                long row = outAt + (long) oh * outW;
                for (int ow0 = 0; ow0 < outW; ow0 += LANES) {
                    FloatVector sum = FloatVector.zero(SPECIES);
                    for (int i = 0; i < p.kh(); i++) {
                        int ih = oh * p.sh() - p.ph() + i;
                        for (int j = 0; j < p.kw() && ih >= 0 && ih < p.h(); j++) {
                            VectorMask<Float> live = SPECIES.indexInRange(0, lastColumn(j) - ow0)
                                    .andNot(SPECIES.indexInRange(0, firstColumn(j) - ow0));
                            int base = ih * w + ow0 * sw - p.pw() + j;
                            sum = sum.add(FloatVector.fromArray(SPECIES, plane, margin() + base, map, 0, live));
                        }
                    }
                    sum.div(area).intoMemorySegment(to, toAt + (row + ow0) * Float.BYTES, ORDER,
                            SPECIES.indexInRange(ow0, outW));
                }
            }
        }

        private void averageBackwardPlain(long inAt, long outAt) {
            int w = p.w(), outW = p.outW();
            float area = (float) p.kh() * p.kw();
            long base = toAt + inAt * Float.BYTES;
            for (int oh = 0; oh < p.outH(); oh++) {
                long row = outAt + (long) oh * outW;
                for (int i = 0; i < p.kh(); i++) {
                    int ih = oh * p.sh() - p.ph() + i;
                    if (ih < 0 || ih >= p.h()) {
                        continue;
                    }
                    for (int j = 0; j < p.kw(); j++) {
                        for (int ow = firstColumn(j), last = lastColumn(j); ow < last; ow++) {
                            long at = base + (long) (ih * w + ow * p.sw() - p.pw() + j) * Float.BYTES;
                            to.set(Tensor.FLOAT, at, to.get(Tensor.FLOAT, at) + input(row + ow) / area);
                        }
                    }
                }
            }
        }

        /** Element {@code i} of the operand read ({@code x} forward, {@code dy} backward). */
        private float input(long i) {
            return from.get(Tensor.FLOAT, fromAt + i * Float.BYTES);
        }

        @Override
        protected void clear() {
            p = null;
            from = null;
            to = null;
            argmax = null;
            lease = null;
        }
    }
}
