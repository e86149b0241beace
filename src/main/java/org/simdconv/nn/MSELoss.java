package org.simdconv.nn;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.simdconv.tensor.Tensor;

/**
 * Mean squared error, as PyTorch's {@code nn.MSELoss}: for a prediction {@code z} and a target
 * {@code y} of the same shape with {@code m} elements,
 * <pre>
 *   loss = (1/m) sum (z - y)^2,     d loss / d z = 2 (z - y) / m
 * </pre>
 * (the kernel-learning demo of seed 001, 17.3.7, reports half of it, as the seed does). The sum is in
 * double. Both tensors plain and dense.
 */
public final class MSELoss extends Loss {

    public MSELoss() {
    }

    /** The mean squared error of {@code prediction} against {@code target}, also computing its gradient. */
    public double forward(Tensor prediction, Tensor target) {
        Objects.requireNonNull(prediction, "prediction");
        Objects.requireNonNull(target, "target");
        if (!prediction.hasShapeOf(target)) {
            throw new IllegalArgumentException("prediction " + Arrays.toString(prediction.shape()) + " and target "
                    + Arrays.toString(target.shape()) + " must have the same shape");
        }
        requireDensePlain("prediction", prediction);
        requireDensePlain("target", target);
        Tensor gradient = gradientFor(prediction);
        MemorySegment z = prediction.segment(), y = target.segment(), g = gradient.segment();
        long count = prediction.elementCount();
        double sum = 0;
        for (long i = 0; i < count; i++) {
            double d = (double) z.get(Tensor.FLOAT, prediction.byteOffset() + i * Float.BYTES)
                    - y.get(Tensor.FLOAT, target.byteOffset() + i * Float.BYTES);
            sum += d * d;
            g.set(Tensor.FLOAT, gradient.byteOffset() + i * Float.BYTES, (float) (2 * d / count));
        }
        return sum / count;
    }

    private static void requireDensePlain(String name, Tensor t) {
        if (!t.layout().isPlain() || !t.isContiguous()) {
            throw new IllegalArgumentException(name + " must be dense and plain, got " + t);
        }
    }

    @Override
    public String toString() {
        return "MSELoss()";
    }
}
