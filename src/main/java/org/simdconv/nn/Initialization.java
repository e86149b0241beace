package org.simdconv.nn;

import java.util.List;
import java.util.random.RandomGenerator;
import org.simdconv.tensor.Tensor;

/** Drawing initial parameters, in row-major order from one generator, so a seed fixes a model. */
final class Initialization {

    private Initialization() {
    }

    /**
     * PyTorch's default for convolution and dense layers: weights and bias uniform in {@code
     * +-1/sqrt(fan_in)} (Kaiming uniform with {@code a = sqrt(5)} for the weights), in that order.
     */
    static void pytorchDefault(List<Parameter> parameters, double fanIn, RandomGenerator random) {
        for (Parameter p : parameters) {
            uniform(p.value(), 1 / Math.sqrt(fanIn), random);
        }
    }

    /** Every element uniform in {@code [-bound, bound)}. */
    static void uniform(Tensor t, double bound, RandomGenerator random) {
        float[] values = new float[Math.toIntExact(t.elementCount())];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) ((2 * random.nextDouble() - 1) * bound);
        }
        t.copyFrom(values);
    }
}
