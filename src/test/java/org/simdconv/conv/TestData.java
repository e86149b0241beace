package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.Random;
import org.simdconv.tensor.Tensor;

/** Random tensors and exact or bounded comparisons of float results. */
final class TestData {

    /** Unit roundoff of float: 2^-24. */
    static final double FLOAT_UNIT_ROUNDOFF = 0x1p-24;

    private TestData() {
    }

    /**
     * Small integers in [-3, 3]: every product and every partial sum of the test problems is an
     * integer below 2^24, so float arithmetic is exact in any order and results compare with ==.
     */
    static Tensor smallIntegers(Arena arena, Random random, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        float[] values = new float[(int) t.elementCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextInt(7) - 3;
        }
        return t.copyFrom(values);
    }

    static Tensor gaussian(Arena arena, Random random, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        float[] values = new float[(int) t.elementCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return t.copyFrom(values);
    }

    static Tensor copy(Arena arena, Tensor t) {
        return Tensor.allocate(arena, t.shape()).copyFrom(t.toArray());
    }

    static double[] widen(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    static double[] abs(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Math.abs(values[i]);
        }
        return out;
    }

    /** Equal as numbers (so -0.0 equals 0.0), element by element. */
    static void assertSameValues(String what, float[] expected, float[] actual) {
        if (expected.length != actual.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length);
        }
        for (int i = 0; i < expected.length; i++) {
            if (!(expected[i] == actual[i]) && !(Float.isNaN(expected[i]) && Float.isNaN(actual[i]))) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i]);
            }
        }
    }

    /**
     * Checks {@code |actual - expected| <= (gamma(terms) + u) * magnitude} element by element: the
     * classic forward error bound of a float sum of {@code terms} products in any order,
     * {@code gamma(n) = n*u / (1 - n*u)}, applied to {@code magnitude = sum of |products|}, plus the
     * one rounding of the double-precision oracle to float. It is a bound, not a guess: a kernel
     * that drops or doubles a single term fails it.
     */
    static void assertWithinRoundingBound(String what, float[] expected, float[] actual, double[] magnitude,
                                          long terms) {
        double u = FLOAT_UNIT_ROUNDOFF;
        double gamma = terms * u / (1 - terms * u);
        for (int i = 0; i < expected.length; i++) {
            double bound = (gamma + u) * magnitude[i];
            double error = Math.abs((double) actual[i] - expected[i]);
            if (!(error <= bound)) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " (error " + error
                        + " > bound " + bound + " for " + terms + " terms)");
            }
        }
    }
}
