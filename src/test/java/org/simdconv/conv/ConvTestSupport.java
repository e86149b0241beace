package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import org.simdconv.tensor.Tensor;

/** Small helpers shared by the convolution tests: choosing kernels, building tensors, matrix chores. */
final class ConvTestSupport {

    private ConvTestSupport() {
    }

    /** The four results of {@link #allPasses}, flattened. */
    record AllPasses(float[] output, float[] gradInput, float[] gradWeight, float[] gradBias) {
    }

    /**
     * Forward, backward-data and backward-weights (with bias) of {@code conv} on Gaussian input,
     * weights, bias and output gradient drawn from {@code seed}, in a shared arena.
     */
    static AllPasses allPasses(Conv2d conv, Conv2dGeometry g, long seed) {
        java.util.Random random = new java.util.Random(seed);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.gaussian(arena, random, g.inputShape());
            Tensor w = TestData.gaussian(arena, random, g.weightShape());
            Tensor b = TestData.gaussian(arena, random, g.biasShape());
            Tensor dz = TestData.gaussian(arena, random, g.outputShape());
            Tensor y = conv.forward(arena, x, w, b);
            Tensor dx = Tensor.allocate(arena, g.inputShape());
            Tensor dw = Tensor.allocate(arena, g.weightShape());
            Tensor db = Tensor.allocate(arena, g.biasShape());
            conv.backwardData(dz, w, dx, Accumulation.OVERWRITE);
            conv.backwardWeights(x, dz, dw, db, Accumulation.OVERWRITE);
            return new AllPasses(y.toArray(), dx.toArray(), dw.toArray(), db.toArray());
        }
    }

    /**
     * The convolution with {@code options}, run by the requested kernels.
     *
     * <p>SIMD needs {@code jdk.incubator.vector} in the JVM. Without the module (an IDE run without
     * {@code --add-modules}) the SIMD case is skipped. With the module present, SIMD must load: if its
     * kernels are missing or broken, {@link Conv2d#withImplementation} throws and the test fails. A
     * skip on {@link Conv2d#simdAvailable()} alone would hide exactly that failure.
     */
    static Conv2d conv(Implementation implementation, Conv2dOptions options) {
        if (implementation == Implementation.SIMD) {
            assumeTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isPresent(),
                    "jdk.incubator.vector is not in this JVM: start it with --add-modules jdk.incubator.vector");
        }
        Conv2d conv = Conv2d.create(options).withImplementation(implementation);
        assertEquals(implementation == Implementation.SCALAR, Reference.SCALAR_NAME.equals(conv.kernelsName()),
                "asked for " + implementation + ", got kernels " + conv.kernelsName());
        return conv;
    }

    /** A fresh off-heap tensor holding {@code values} (row-major). */
    static Tensor tensor(Arena arena, float[] values, int... shape) {
        return Tensor.allocate(arena, shape).copyFrom(values);
    }

    /** A 1 x 1 x H x W tensor holding one plane. */
    static Tensor plane(Arena arena, float[][] m) {
        return tensor(arena, flatten(m), 1, 1, m.length, m[0].length);
    }

    /** Row-major concatenation of planes (channels, filters, ...). */
    static float[] flatten(float[][]... planes) {
        int size = 0;
        for (float[][] p : planes) {
            size += p.length * p[0].length;
        }
        float[] out = new float[size];
        int at = 0;
        for (float[][] p : planes) {
            for (float[] row : p) {
                System.arraycopy(row, 0, out, at, row.length);
                at += row.length;
            }
        }
        return out;
    }

    /** Element-wise sum of equally sized planes. */
    static float[][] add(float[][] a, float[][] b) {
        float[][] out = new float[a.length][a[0].length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a[0].length; j++) {
                out[i][j] = a[i][j] + b[i][j];
            }
        }
        return out;
    }

    /** {@code p} rings of zeros around {@code m}. */
    static float[][] pad(float[][] m, int p) {
        float[][] out = new float[m.length + 2 * p][m[0].length + 2 * p];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, out[i + p], p, m[i].length);
        }
        return out;
    }

    /** Zeros appended at the bottom and right so that the result is {@code rows x cols}. */
    static float[][] extend(float[][] m, int rows, int cols) {
        float[][] out = new float[rows][cols];
        for (int i = 0; i < m.length; i++) {
            System.arraycopy(m[i], 0, out[i], 0, m[i].length);
        }
        return out;
    }

    /** The matrix turned by 180 degrees: element (i, j) goes to (H-1-i, W-1-j). */
    static float[][] rot180(float[][] m) {
        int h = m.length, w = m[0].length;
        float[][] out = new float[h][w];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                out[h - 1 - i][w - 1 - j] = m[i][j];
            }
        }
        return out;
    }

    static float[][] transpose(float[][] m) {
        float[][] out = new float[m[0].length][m.length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                out[j][i] = m[i][j];
            }
        }
        return out;
    }

    static float[][] toMatrix(double[] values, int rows, int cols) {
        float[][] out = new float[rows][cols];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < cols; j++) {
                out[i][j] = (float) values[i * cols + j];
            }
        }
        return out;
    }

    static double[] toDoubles(float[][] m) {
        float[] f = flatten(m);
        double[] out = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            out[i] = f[i];
        }
        return out;
    }
}
