package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.fail;

import java.lang.foreign.Arena;
import java.util.Random;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/** Random tensors and exact or bounded comparisons of float results. */
public final class TestData {

    /** Unit roundoff of float: 2^-24. */
    public static final double FLOAT_UNIT_ROUNDOFF = 0x1p-24;

    private TestData() {
    }

    /**
     * Small integers in [-3, 3]: every product and every partial sum of the test problems is an
     * integer below 2^24, so float arithmetic is exact in any order and results compare with ==.
     */
    public static Tensor smallIntegers(Arena arena, Random random, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        float[] values = new float[(int) t.elementCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextInt(7) - 3;
        }
        return t.copyFrom(values);
    }

    public static Tensor gaussian(Arena arena, Random random, int... shape) {
        Tensor t = Tensor.allocate(arena, shape);
        float[] values = new float[(int) t.elementCount()];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return t.copyFrom(values);
    }

    public static Tensor copy(Arena arena, Tensor t) {
        return Tensor.allocate(arena, t.shape()).copyFrom(t.toArray());
    }

    /** {@code t}'s values in a new tensor of {@code layout}. */
    public static Tensor copy(Arena arena, Tensor t, Layout layout) {
        Tensor out = Tensor.allocate(arena, layout, t.shape());
        t.copyTo(out);
        return out;
    }

    /**
     * A fresh result tensor whose every byte, padding channels included, is a NaN: a pass that
     * leaves an element unwritten, or a padding lane not zero, shows it.
     */
    public static Tensor poisoned(Arena arena, Layout layout, int... shape) {
        Tensor t = Tensor.allocate(arena, layout, shape);
        t.segment().asSlice(t.byteOffset(), t.storageBytes()).fill((byte) 0xFF);
        return t;
    }

    /** Fails unless every padding lane of a blocked tensor (the channels past the last of the last block) is 0. */
    public static void assertPaddingIsZero(String what, Tensor t) {
        int b = t.layout().block(), c = t.dim(1);
        if (t.layout().isPlain() || c % b == 0) {
            return;
        }
        long pixels = (long) t.dim(2) * t.dim(3), blocks = Math.ceilDiv(c, b);
        for (int n = 0; n < t.dim(0); n++) {
            long last = t.byteOffset() + ((n * blocks + blocks - 1) * pixels * b) * Float.BYTES;
            for (long p = 0; p < pixels; p++) {
                for (int lane = c % b; lane < b; lane++) {
                    float v = t.segment().get(Tensor.FLOAT, last + (p * b + lane) * Float.BYTES);
                    if (Float.floatToRawIntBits(v) != 0) {
                        fail(what + ": padding lane " + lane + " of item " + n + ", pixel " + p + " is " + v);
                    }
                }
            }
        }
    }

    public static double[] widen(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    public static double[] abs(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = Math.abs(values[i]);
        }
        return out;
    }

    /** Equal as numbers (so -0.0 equals 0.0), element by element. */
    public static void assertSameValues(String what, float[] expected, float[] actual) {
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
     * that drops or doubles a single term fails it. Where the oracle gives NaN, so must the kernel.
     */
    public static void assertWithinRoundingBound(String what, float[] expected, float[] actual, double[] magnitude,
                                          long terms) {
        if (expected.length != actual.length || magnitude.length != expected.length) {
            fail(what + ": length " + actual.length + ", expected " + expected.length + " (magnitudes "
                    + magnitude.length + ")");
        }
        double u = FLOAT_UNIT_ROUNDOFF;
        double gamma = terms * u / (1 - terms * u);
        for (int i = 0; i < expected.length; i++) {
            if (Float.isNaN(expected[i]) && Float.isNaN(actual[i])) {
                continue; // a NaN operand makes a NaN result, in both
            }
            double bound = (gamma + u) * magnitude[i];
            double error = Math.abs((double) actual[i] - expected[i]);
            if (!(error <= bound)) {
                fail(what + ": element " + i + " is " + actual[i] + ", expected " + expected[i] + " (error " + error
                        + " > bound " + bound + " for " + terms + " terms)");
            }
        }
    }
}
