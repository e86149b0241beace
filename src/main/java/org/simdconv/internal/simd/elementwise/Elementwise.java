package org.simdconv.internal.simd.elementwise;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import org.simdconv.internal.simd.common.CallTask;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * Operations element by element over a tensor's storage, whatever its layout (the padding lanes of
 * a channel-blocked tensor are zeros, and stay zeros: {@code max(0, 0) = 0}, and a zero gradient
 * passes as zero): ReLU, its gradient, and the SGD step. They are memory-bound, so the work is cut
 * into chunks of {@value #CHUNK} floats, one task each, and a tensor smaller than that runs on the
 * calling thread. The results are those of the scalar reference bit for bit: the same float
 * operations in the same order, no fused multiply-add.
 */
public final class Elementwise {

    /** Floats per task: 64 KB of each operand, large enough that handing out a task costs little. */
    static final int CHUNK = 16 * 1024;

    private static final int RELU = 0;
    private static final int RELU_BACKWARD = 1;
    private static final int SGD = 2;
    private static final int FLUSH = 3;

    private static final CallTask.Pool<Chunks> TASKS = new CallTask.Pool<>(Chunks::new);

    private Elementwise() {
    }

    /** {@code y = max(x, 0)} (a NaN stays a NaN). */
    public static void relu(Tensor x, Tensor y, Parallelism par) {
        run(RELU, x.storageBytes() / Float.BYTES, x, null, y, null, 0, 0, 0, false, par);
    }

    /** {@code dx = dy where x > 0, else 0}. */
    public static void reluBackward(Tensor x, Tensor dy, Tensor dx, Parallelism par) {
        run(RELU_BACKWARD, x.storageBytes() / Float.BYTES, x, dy, dx, null, 0, 0, 0, false, par);
    }

    /**
     * One SGD step, PyTorch's {@code torch.optim.SGD} without dampening or Nesterov: {@code g = grad
     * + weightDecay * p}; {@code v = g} on the first step, else {@code v = momentum * v + g};
     * {@code p = p - lr * v} ({@code g} in place of {@code v} when momentum is 0, and {@code v} is
     * then neither read nor written).
     */
    public static void sgdStep(Tensor p, Tensor grad, Tensor velocity, float lr, float momentum, float weightDecay,
                               boolean first, Parallelism par) {
        run(SGD, p.storageBytes() / Float.BYTES, p, grad, p, velocity, lr, momentum, weightDecay, first, par);
    }

    /**
     * Replaces every subnormal of {@code t} by a zero of its sign, in place (DAZ: the convolution's
     * guard against microcode assists, {@code conv.Subnormals}); NaN, infinities and normal values
     * stay.
     */
    public static void flushSubnormals(Tensor t, Parallelism par) {
        run(FLUSH, t.storageBytes() / Float.BYTES, t, null, t, null, 0, 0, 0, false, par);
    }

    private static void run(int op, long count, Tensor a, Tensor b, Tensor out, Tensor v, float lr, float momentum,
                            float weightDecay, boolean first, Parallelism par) {
        try (Chunks task = TASKS.take()) {
            task.op = op;
            task.count = count;
            task.a = a.segment();
            task.aAt = a.byteOffset();
            task.b = b == null ? null : b.segment();
            task.bAt = b == null ? 0 : b.byteOffset();
            task.out = out.segment();
            task.outAt = out.byteOffset();
            task.v = v == null ? null : v.segment();
            task.vAt = v == null ? 0 : v.byteOffset();
            task.lr = lr;
            task.momentum = momentum;
            task.weightDecay = weightDecay;
            task.first = first;
            par.forEach(Math.toIntExact(Math.ceilDiv(count, CHUNK)), task);
        }
    }

    private static final class Chunks extends CallTask {
        int op;
        long count;
        MemorySegment a;
        long aAt;
        MemorySegment b;
        long bAt;
        MemorySegment out;
        long outAt;
        MemorySegment v;
        long vAt;
        float lr;
        float momentum;
        float weightDecay;
        boolean first;

        @Override
        public void run(int task, int worker) {
            long from = (long) task * CHUNK, to = Math.min(count, from + CHUNK);
            switch (op) {
                case RELU -> relu(from, to);
                case RELU_BACKWARD -> reluBackward(from, to);
                case FLUSH -> flush(from, to);
                default -> sgd(from, to);
            }
        }

        private void relu(long from, long to) {
            FloatVector zero = FloatVector.zero(SPECIES);
            long i = from;
            for (; i + LANES <= to; i += LANES) {
                FloatVector x = FloatVector.fromMemorySegment(SPECIES, a, aAt + i * Float.BYTES, ORDER);
                x.max(zero).intoMemorySegment(out, outAt + i * Float.BYTES, ORDER);
            }
            for (; i < to; i++) {
                float x = a.get(Tensor.FLOAT, aAt + i * Float.BYTES);
                out.set(Tensor.FLOAT, outAt + i * Float.BYTES, Math.max(x, 0f));
            }
        }

        private void flush(long from, long to) {
            long i = from;
            for (; i + LANES <= to; i += LANES) {
                FloatVector x = FloatVector.fromMemorySegment(SPECIES, a, aAt + i * Float.BYTES, ORDER);
                VectorMask<Float> tiny = x.abs().compare(VectorOperators.LT, Float.MIN_NORMAL); // zeros too: unchanged
                FloatVector signedZero = x.reinterpretAsInts().and(Integer.MIN_VALUE).reinterpretAsFloats();
                x.blend(signedZero, tiny).intoMemorySegment(out, outAt + i * Float.BYTES, ORDER);
            }
            for (; i < to; i++) {
                float x = a.get(Tensor.FLOAT, aAt + i * Float.BYTES);
                if (Math.abs(x) < Float.MIN_NORMAL) {
                    out.set(Tensor.FLOAT, outAt + i * Float.BYTES, Math.copySign(0f, x));
                }
            }
        }

        private void reluBackward(long from, long to) {
            FloatVector zero = FloatVector.zero(SPECIES);
            long i = from;
            for (; i + LANES <= to; i += LANES) {
                FloatVector x = FloatVector.fromMemorySegment(SPECIES, a, aAt + i * Float.BYTES, ORDER);
                FloatVector g = FloatVector.fromMemorySegment(SPECIES, b, bAt + i * Float.BYTES, ORDER);
                VectorMask<Float> pass = x.compare(VectorOperators.GT, zero);
                zero.blend(g, pass).intoMemorySegment(out, outAt + i * Float.BYTES, ORDER);
            }
            for (; i < to; i++) {
                float x = a.get(Tensor.FLOAT, aAt + i * Float.BYTES);
                out.set(Tensor.FLOAT, outAt + i * Float.BYTES, x > 0 ? b.get(Tensor.FLOAT, bAt + i * Float.BYTES) : 0f);
            }
        }

        private void sgd(long from, long to) {
            long i = from;
            if (momentum == 0) {
                for (; i + LANES <= to; i += LANES) {
                    long at = i * Float.BYTES;
                    FloatVector p = FloatVector.fromMemorySegment(SPECIES, a, aAt + at, ORDER);
                    FloatVector g = FloatVector.fromMemorySegment(SPECIES, b, bAt + at, ORDER);
                    g = g.add(p.mul(weightDecay));
                    p.sub(g.mul(lr)).intoMemorySegment(out, outAt + at, ORDER);
                }
            } else if (first) {
                for (; i + LANES <= to; i += LANES) {
                    long at = i * Float.BYTES;
                    FloatVector p = FloatVector.fromMemorySegment(SPECIES, a, aAt + at, ORDER);
                    FloatVector g = FloatVector.fromMemorySegment(SPECIES, b, bAt + at, ORDER);
                    g = g.add(p.mul(weightDecay));
                    g.intoMemorySegment(v, vAt + at, ORDER);
                    p.sub(g.mul(lr)).intoMemorySegment(out, outAt + at, ORDER);
                }
            } else {
                // Separate loops, not a vector chosen by a condition: C2 boxed such vectors.
                for (; i + LANES <= to; i += LANES) {
                    long at = i * Float.BYTES;
                    FloatVector p = FloatVector.fromMemorySegment(SPECIES, a, aAt + at, ORDER);
                    FloatVector g = FloatVector.fromMemorySegment(SPECIES, b, bAt + at, ORDER);
                    g = g.add(p.mul(weightDecay));
                    FloatVector step = FloatVector.fromMemorySegment(SPECIES, v, vAt + at, ORDER).mul(momentum).add(g);
                    step.intoMemorySegment(v, vAt + at, ORDER);
                    p.sub(step.mul(lr)).intoMemorySegment(out, outAt + at, ORDER);
                }
            }
            for (; i < to; i++) {
                long at = i * Float.BYTES;
                float p = a.get(Tensor.FLOAT, aAt + at);
                float g = b.get(Tensor.FLOAT, bAt + at) + p * weightDecay;
                if (momentum != 0) {
                    g = first ? g : v.get(Tensor.FLOAT, vAt + at) * momentum + g;
                    v.set(Tensor.FLOAT, vAt + at, g);
                }
                out.set(Tensor.FLOAT, outAt + at, p - g * lr);
            }
        }

        @Override
        protected void clear() {
            a = null;
            b = null;
            out = null;
            v = null;
        }
    }
}
