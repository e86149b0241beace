package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.simdconv.conv.ConvTestSupport.add;
import static org.simdconv.conv.ConvTestSupport.conv;
import static org.simdconv.conv.ConvTestSupport.extend;
import static org.simdconv.conv.ConvTestSupport.flatten;
import static org.simdconv.conv.ConvTestSupport.pad;
import static org.simdconv.conv.ConvTestSupport.plane;
import static org.simdconv.conv.ConvTestSupport.rot180;
import static org.simdconv.conv.ConvTestSupport.tensor;
import static org.simdconv.conv.ConvTestSupport.toDoubles;
import static org.simdconv.conv.ConvTestSupport.toMatrix;
import static org.simdconv.conv.ConvTestSupport.transpose;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.tensor.Tensor;

/**
 * The worked examples of the seed documents (/work/shared/seeds), instantiated with small integers.
 *
 * <p>The seeds are symbolic. Each expected element below is the seed's formula, typed in as printed
 * (or derived the same way where the seed says "likewise"), evaluated on integers. Integers below 10
 * keep every product and sum exact in float, so every comparison is exact: there is no tolerance in
 * this class. Every pass runs through the public {@link Conv2d} API, once with the scalar kernels and
 * once with the Vector API kernels.
 */
class SeedExamplesTest {

    // ---------------------------------------------------------------------------------------------
    // Seed 000 (and seed 001, 17.3.1, 17.3.5, 17.3.6): 3x3 input A, 2x2 kernel W, scalar bias b.
    // W is deliberately not symmetric, so W, its transpose and its 180-degree rotation all differ.
    // ---------------------------------------------------------------------------------------------

    static final float[][] A = {
            {3, -1, 4},
            {1, 5, -9},
            {2, 6, -5}};
    static final float[][] W = {
            {2, -7},
            {1, 8}};
    static final float B = 3;
    static final float[][] DZ = {
            {1, -2},
            {4, 3}};

    /** Seed 000, eq. 1-4, verbatim: {@code Z = W * A + b}. */
    static float[][] seed000Forward(float[][] a, float[][] w, float b) {
        float a11 = a[0][0], a12 = a[0][1], a13 = a[0][2];
        float a21 = a[1][0], a22 = a[1][1], a23 = a[1][2];
        float a31 = a[2][0], a32 = a[2][1], a33 = a[2][2];
        float w11 = w[0][0], w12 = w[0][1], w21 = w[1][0], w22 = w[1][1];
        float z11 = w11 * a11 + w12 * a12 + w21 * a21 + w22 * a22 + b;   // (1)
        float z12 = w11 * a12 + w12 * a13 + w21 * a22 + w22 * a23 + b;   // (2)
        float z21 = w11 * a21 + w12 * a22 + w21 * a31 + w22 * a32 + b;   // (3)
        float z22 = w11 * a22 + w12 * a23 + w21 * a32 + w22 * a33 + b;   // (4)
        return new float[][] {{z11, z12}, {z21, z22}};
    }

    /**
     * dJ/dA: eq. 5, 6 and 7 verbatim (a11, a12, a22); the other six are derived from eq. 1-4 as the
     * seed says ("likewise") and as seed 002 prints them.
     */
    static float[][] seed000InputGradient(float[][] w, float[][] dz) {
        float w11 = w[0][0], w12 = w[0][1], w21 = w[1][0], w22 = w[1][1];
        float dz11 = dz[0][0], dz12 = dz[0][1], dz21 = dz[1][0], dz22 = dz[1][1];
        float da11 = dz11 * w11;                                          // (5)
        float da12 = dz11 * w12 + dz12 * w11;                             // (6)
        float da13 = w12 * dz12;
        float da21 = w21 * dz11 + w11 * dz21;
        float da22 = dz11 * w22 + dz12 * w21 + dz21 * w12 + dz22 * w11;   // (7)
        float da23 = w22 * dz12 + w12 * dz22;
        float da31 = w21 * dz21;
        float da32 = w22 * dz21 + w21 * dz22;
        float da33 = w22 * dz22;
        return new float[][] {{da11, da12, da13}, {da21, da22, da23}, {da31, da32, da33}};
    }

    /** dJ/dW: eq. 9 and 10 verbatim (w11, w12); w21 and w22 derived from eq. 1-4 the same way. */
    static float[][] seed000WeightGradient(float[][] a, float[][] dz) {
        float a11 = a[0][0], a12 = a[0][1], a13 = a[0][2];
        float a21 = a[1][0], a22 = a[1][1], a23 = a[1][2];
        float a31 = a[2][0], a32 = a[2][1], a33 = a[2][2];
        float dz11 = dz[0][0], dz12 = dz[0][1], dz21 = dz[1][0], dz22 = dz[1][1];
        float dw11 = dz11 * a11 + dz12 * a12 + dz21 * a21 + dz22 * a22;   // (9)
        float dw12 = dz11 * a12 + dz12 * a13 + dz21 * a22 + dz22 * a23;   // (10)
        float dw21 = dz11 * a21 + dz12 * a22 + dz21 * a31 + dz22 * a32;
        float dw22 = dz11 * a22 + dz12 * a23 + dz21 * a32 + dz22 * a33;
        return new float[][] {{dw11, dw12}, {dw21, dw22}};
    }

    /** Eq. 12: {@code dJ/db = dz11 + dz12 + dz21 + dz22}. */
    static float seed000BiasGradient(float[][] dz) {
        return dz[0][0] + dz[0][1] + dz[1][0] + dz[1][1];
    }

    @Nested
    class Seed000 {

        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void forwardIsEquations1To4(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                Tensor z = conv.forward(arena, plane(arena, A), plane(arena, W), tensor(arena, new float[] {B}, 1));
                assertArrayEquals(new int[] {1, 1, 2, 2}, z.shape());
                assertExact(seed000Forward(A, W, B), z.toArray(), "Z");
            }
        }

        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardDataIsEquations5To7AndTheirSiblings(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[] da = backwardData(conv, arena, plane(arena, DZ), plane(arena, W), 1, 1, 3, 3);
                assertExact(seed000InputGradient(W, DZ), da, "dA");
            }
        }

        /**
         * Eq. 8 as seed 001 corrects it: dA = pad1(dZ) * rot180(W). Seed 000 writes W^T, which is wrong
         * for an unsymmetric W: the second assertion shows that the transpose gives another answer.
         */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardDataIsPaddedGradientCorrelatedWithRotatedKernel(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[] da = backwardData(conv, arena, plane(arena, DZ), plane(arena, W), 1, 1, 3, 3);
                float[][] paddedDz = pad(DZ, 1);
                assertExact(new float[][] {
                        {0, 0, 0, 0},
                        {0, DZ[0][0], DZ[0][1], 0},
                        {0, DZ[1][0], DZ[1][1], 0},
                        {0, 0, 0, 0}}, flatten(paddedDz), "pad(dZ)");
                float[] matrixForm = conv.forward(arena, plane(arena, paddedDz), plane(arena, rot180(W)), null).toArray();
                assertExact(da, matrixForm, "pad(dZ) * rot180(W)");
                float[] withTranspose = conv.forward(arena, plane(arena, paddedDz), plane(arena, transpose(W)), null)
                        .toArray();
                assertFalse(Arrays.equals(da, withTranspose), "seed 000's W^T must not match: the data would not "
                        + "tell rot180 from a transpose");
            }
        }

        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardWeightsIsEquations9To12(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[][] grads = backwardWeights(conv, arena, plane(arena, A), plane(arena, DZ), 1, 1, 2, 2);
                assertExact(seed000WeightGradient(A, DZ), grads[0], "dW");
                assertExact(new float[] {seed000BiasGradient(DZ)}, grads[1], "db");
            }
        }

        /** Eq. 11: dW = A * dZ, the input cross-correlated with the gradient used as a kernel. */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void weightGradientIsInputCorrelatedWithGradient(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[][] grads = backwardWeights(conv, arena, plane(arena, A), plane(arena, DZ), 1, 1, 2, 2);
                float[] matrixForm = conv.forward(arena, plane(arena, A), plane(arena, DZ), null).toArray();
                assertExact(matrixForm, grads[0], "A * dZ");
            }
        }

        /** Accumulation.ACCUMULATE adds the same gradients to what the tensors already hold. */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void accumulateAddsTheGradientsToExistingValues(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                Tensor da = Tensor.allocate(arena, 1, 1, 3, 3).fill(10);
                Tensor dw = Tensor.allocate(arena, 1, 1, 2, 2).fill(-1);
                Tensor db = Tensor.allocate(arena, 1).fill(0.5f);
                conv.backwardData(plane(arena, DZ), plane(arena, W), da, Accumulation.ACCUMULATE);
                conv.backwardWeights(plane(arena, A), plane(arena, DZ), dw, db, Accumulation.ACCUMULATE);
                assertExact(plus(seed000InputGradient(W, DZ), 10), da.toArray(), "10 + dA");
                assertExact(plus(seed000WeightGradient(A, DZ), -1), dw.toArray(), "-1 + dW");
                assertExact(new float[] {0.5f + seed000BiasGradient(DZ)}, db.toArray(), "0.5 + db");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Seed 004: 5x5 input x, 3x3 kernel k, bias b, stride 1, VALID; 1-based indices as in the seed.
    // ---------------------------------------------------------------------------------------------

    @Nested
    class Seed004 {

        static final float[][] X = {
                {1, -2, 3, 0, 4},
                {-1, 5, 2, -3, 1},
                {2, 0, -4, 6, -2},
                {3, 1, -1, 2, 5},
                {-3, 4, 2, -5, 1}};
        static final float[][] K = {
                {1, -2, 0},
                {3, 1, -1},
                {2, 0, 4}};
        static final float BIAS = -2;
        static final float[][] D = {
                {2, -1, 3},
                {0, 1, -2},
                {-3, 2, 1}};

        static float x(int p, int q) {
            return X[p - 1][q - 1];
        }

        static float k(int i, int j) {
            return K[i - 1][j - 1];
        }

        static float d(int i, int j) {
            return D[i - 1][j - 1];
        }

        /** Lines 39-115, verbatim: x conv k + b = u. */
        static float[][] expectedU() {
            float b = BIAS;
            return new float[][] {{
                    x(1, 1) * k(1, 1) + x(1, 2) * k(1, 2) + x(1, 3) * k(1, 3) + x(2, 1) * k(2, 1) + x(2, 2) * k(2, 2) + x(2, 3) * k(2, 3) + x(3, 1) * k(3, 1) + x(3, 2) * k(3, 2) + x(3, 3) * k(3, 3) + b,
                    x(1, 2) * k(1, 1) + x(1, 3) * k(1, 2) + x(1, 4) * k(1, 3) + x(2, 2) * k(2, 1) + x(2, 3) * k(2, 2) + x(2, 4) * k(2, 3) + x(3, 2) * k(3, 1) + x(3, 3) * k(3, 2) + x(3, 4) * k(3, 3) + b,
                    x(1, 3) * k(1, 1) + x(1, 4) * k(1, 2) + x(1, 5) * k(1, 3) + x(2, 3) * k(2, 1) + x(2, 4) * k(2, 2) + x(2, 5) * k(2, 3) + x(3, 3) * k(3, 1) + x(3, 4) * k(3, 2) + x(3, 5) * k(3, 3) + b,
            }, {
                    x(2, 1) * k(1, 1) + x(2, 2) * k(1, 2) + x(2, 3) * k(1, 3) + x(3, 1) * k(2, 1) + x(3, 2) * k(2, 2) + x(3, 3) * k(2, 3) + x(4, 1) * k(3, 1) + x(4, 2) * k(3, 2) + x(4, 3) * k(3, 3) + b,
                    x(2, 2) * k(1, 1) + x(2, 3) * k(1, 2) + x(2, 4) * k(1, 3) + x(3, 2) * k(2, 1) + x(3, 3) * k(2, 2) + x(3, 4) * k(2, 3) + x(4, 2) * k(3, 1) + x(4, 3) * k(3, 2) + x(4, 4) * k(3, 3) + b,
                    x(2, 3) * k(1, 1) + x(2, 4) * k(1, 2) + x(2, 5) * k(1, 3) + x(3, 3) * k(2, 1) + x(3, 4) * k(2, 2) + x(3, 5) * k(2, 3) + x(4, 3) * k(3, 1) + x(4, 4) * k(3, 2) + x(4, 5) * k(3, 3) + b,
            }, {
                    x(3, 1) * k(1, 1) + x(3, 2) * k(1, 2) + x(3, 3) * k(1, 3) + x(4, 1) * k(2, 1) + x(4, 2) * k(2, 2) + x(4, 3) * k(2, 3) + x(5, 1) * k(3, 1) + x(5, 2) * k(3, 2) + x(5, 3) * k(3, 3) + b,
                    x(3, 2) * k(1, 1) + x(3, 3) * k(1, 2) + x(3, 4) * k(1, 3) + x(4, 2) * k(2, 1) + x(4, 3) * k(2, 2) + x(4, 4) * k(2, 3) + x(5, 2) * k(3, 1) + x(5, 3) * k(3, 2) + x(5, 4) * k(3, 3) + b,
                    x(3, 3) * k(1, 1) + x(3, 4) * k(1, 2) + x(3, 5) * k(1, 3) + x(4, 3) * k(2, 1) + x(4, 4) * k(2, 2) + x(4, 5) * k(2, 3) + x(5, 3) * k(3, 1) + x(5, 4) * k(3, 2) + x(5, 5) * k(3, 3) + b,
            }};
        }

        /** Lines 154-247, verbatim: all 25 dL/dx. */
        static float[][] expectedDx() {
            return new float[][] {{
                    d(1, 1) * k(1, 1),
                    d(1, 1) * k(1, 2) + d(1, 2) * k(1, 1),
                    d(1, 1) * k(1, 3) + d(1, 2) * k(1, 2) + d(1, 3) * k(1, 1),
                    d(1, 2) * k(1, 3) + d(1, 3) * k(1, 2),
                    d(1, 3) * k(1, 3),
            }, {
                    d(1, 1) * k(2, 1) + d(2, 1) * k(1, 1),
                    d(1, 1) * k(2, 2) + d(1, 2) * k(2, 1) + d(2, 1) * k(1, 2) + d(2, 2) * k(1, 1),
                    d(1, 1) * k(2, 3) + d(1, 2) * k(2, 2) + d(1, 3) * k(2, 1) + d(2, 1) * k(1, 3) + d(2, 2) * k(1, 2) + d(2, 3) * k(1, 1),
                    d(1, 2) * k(2, 3) + d(1, 3) * k(2, 2) + d(2, 2) * k(1, 3) + d(2, 3) * k(1, 2),
                    d(1, 3) * k(2, 3) + d(2, 3) * k(1, 3),
            }, {
                    d(1, 1) * k(3, 1) + d(2, 1) * k(2, 1) + d(3, 1) * k(1, 1),
                    d(1, 1) * k(3, 2) + d(1, 2) * k(3, 1) + d(2, 1) * k(2, 2) + d(2, 2) * k(2, 1) + d(3, 1) * k(1, 2) + d(3, 2) * k(1, 1),
                    d(1, 1) * k(3, 3) + d(1, 2) * k(3, 2) + d(1, 3) * k(3, 1) + d(2, 1) * k(2, 3) + d(2, 2) * k(2, 2) + d(2, 3) * k(2, 1) + d(3, 1) * k(1, 3) + d(3, 2) * k(1, 2) + d(3, 3) * k(1, 1),
                    d(1, 2) * k(3, 3) + d(1, 3) * k(3, 2) + d(2, 2) * k(2, 3) + d(2, 3) * k(2, 2) + d(3, 2) * k(1, 3) + d(3, 3) * k(1, 2),
                    d(1, 3) * k(3, 3) + d(2, 3) * k(2, 3) + d(3, 3) * k(1, 3),
            }, {
                    d(2, 1) * k(3, 1) + d(3, 1) * k(2, 1),
                    d(2, 1) * k(3, 2) + d(2, 2) * k(3, 1) + d(3, 1) * k(2, 2) + d(3, 2) * k(2, 1),
                    d(2, 1) * k(3, 3) + d(2, 2) * k(3, 2) + d(2, 3) * k(3, 1) + d(3, 1) * k(2, 3) + d(3, 2) * k(2, 2) + d(3, 3) * k(2, 1),
                    d(2, 2) * k(3, 3) + d(2, 3) * k(3, 2) + d(3, 2) * k(2, 3) + d(3, 3) * k(2, 2),
                    d(2, 3) * k(3, 3) + d(3, 3) * k(2, 3),
            }, {
                    d(3, 1) * k(3, 1),
                    d(3, 1) * k(3, 2) + d(3, 2) * k(3, 1),
                    d(3, 1) * k(3, 3) + d(3, 2) * k(3, 2) + d(3, 3) * k(3, 1),
                    d(3, 2) * k(3, 3) + d(3, 3) * k(3, 2),
                    d(3, 3) * k(3, 3),
            }};
        }

        /** Lines 403-510, verbatim: all 9 dL/dk. */
        static float[][] expectedDk() {
            return new float[][] {{
                    d(1, 1) * x(1, 1) + d(1, 2) * x(1, 2) + d(1, 3) * x(1, 3) + d(2, 1) * x(2, 1) + d(2, 2) * x(2, 2) + d(2, 3) * x(2, 3) + d(3, 1) * x(3, 1) + d(3, 2) * x(3, 2) + d(3, 3) * x(3, 3),
                    d(1, 1) * x(1, 2) + d(1, 2) * x(1, 3) + d(1, 3) * x(1, 4) + d(2, 1) * x(2, 2) + d(2, 2) * x(2, 3) + d(2, 3) * x(2, 4) + d(3, 1) * x(3, 2) + d(3, 2) * x(3, 3) + d(3, 3) * x(3, 4),
                    d(1, 1) * x(1, 3) + d(1, 2) * x(1, 4) + d(1, 3) * x(1, 5) + d(2, 1) * x(2, 3) + d(2, 2) * x(2, 4) + d(2, 3) * x(2, 5) + d(3, 1) * x(3, 3) + d(3, 2) * x(3, 4) + d(3, 3) * x(3, 5),
            }, {
                    d(1, 1) * x(2, 1) + d(1, 2) * x(2, 2) + d(1, 3) * x(2, 3) + d(2, 1) * x(3, 1) + d(2, 2) * x(3, 2) + d(2, 3) * x(3, 3) + d(3, 1) * x(4, 1) + d(3, 2) * x(4, 2) + d(3, 3) * x(4, 3),
                    d(1, 1) * x(2, 2) + d(1, 2) * x(2, 3) + d(1, 3) * x(2, 4) + d(2, 1) * x(3, 2) + d(2, 2) * x(3, 3) + d(2, 3) * x(3, 4) + d(3, 1) * x(4, 2) + d(3, 2) * x(4, 3) + d(3, 3) * x(4, 4),
                    d(1, 1) * x(2, 3) + d(1, 2) * x(2, 4) + d(1, 3) * x(2, 5) + d(2, 1) * x(3, 3) + d(2, 2) * x(3, 4) + d(2, 3) * x(3, 5) + d(3, 1) * x(4, 3) + d(3, 2) * x(4, 4) + d(3, 3) * x(4, 5),
            }, {
                    d(1, 1) * x(3, 1) + d(1, 2) * x(3, 2) + d(1, 3) * x(3, 3) + d(2, 1) * x(4, 1) + d(2, 2) * x(4, 2) + d(2, 3) * x(4, 3) + d(3, 1) * x(5, 1) + d(3, 2) * x(5, 2) + d(3, 3) * x(5, 3),
                    d(1, 1) * x(3, 2) + d(1, 2) * x(3, 3) + d(1, 3) * x(3, 4) + d(2, 1) * x(4, 2) + d(2, 2) * x(4, 3) + d(2, 3) * x(4, 4) + d(3, 1) * x(5, 2) + d(3, 2) * x(5, 3) + d(3, 3) * x(5, 4),
                    d(1, 1) * x(3, 3) + d(1, 2) * x(3, 4) + d(1, 3) * x(3, 5) + d(2, 1) * x(4, 3) + d(2, 2) * x(4, 4) + d(2, 3) * x(4, 5) + d(3, 1) * x(5, 3) + d(3, 2) * x(5, 4) + d(3, 3) * x(5, 5),
            }};
        }

        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void forwardIsTheNineSumsOfTheSeed(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults().withPadding(Padding.valid()));
                Tensor u = conv.forward(arena, plane(arena, X), plane(arena, K), tensor(arena, new float[] {BIAS}, 1));
                assertArrayEquals(new int[] {1, 1, 3, 3}, u.shape());
                assertExact(expectedU(), u.toArray(), "u");
            }
        }

        /** The 25x9 table (lines 124-150): du(i,j)/dx(p,q) = k(p-i+1, q-j+1) inside the kernel, else 0. */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardDataOfAOneHotGradientIsAColumnOfThePartialDerivativeTable(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                for (int i = 1; i <= 3; i++) {
                    for (int j = 1; j <= 3; j++) {
                        float[][] oneHot = new float[3][3];
                        oneHot[i - 1][j - 1] = 1;
                        float[] column = backwardData(conv, arena, plane(arena, oneHot), plane(arena, K), 1, 1, 5, 5);
                        float[][] expected = new float[5][5];
                        for (int p = 1; p <= 5; p++) {
                            for (int q = 1; q <= 5; q++) {
                                int r = p - i + 1, s = q - j + 1;
                                expected[p - 1][q - 1] = (r >= 1 && r <= 3 && s >= 1 && s <= 3) ? k(r, s) : 0;
                            }
                        }
                        assertExact(expected, column, "du" + i + "," + j + "/dx");
                    }
                }
            }
        }

        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardDataIsTheTwentyFiveSumsOfTheSeed(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[] dx = backwardData(conv, arena, plane(arena, D), plane(arena, K), 1, 1, 5, 5);
                assertExact(expectedDx(), dx, "dL/dx");
            }
        }

        /** Lines 253-319: dx = pad_{k-1}(delta) conv rot180(k), with k-1 = 2 rings of zeros (7x7). */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardDataIsGradientPaddedWithKMinusOneZerosCorrelatedWithRotatedKernel(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[][] padded = pad(D, 3 - 1);
                assertEquals(7, padded.length);
                assertEquals(7, padded[0].length);
                float[][] kPrime = rot180(K);
                assertExact(new float[][] {
                        {k(3, 3), k(3, 2), k(3, 1)},
                        {k(2, 3), k(2, 2), k(2, 1)},
                        {k(1, 3), k(1, 2), k(1, 1)}}, flatten(kPrime), "k'");
                float[] matrixForm = conv.forward(arena, plane(arena, padded), plane(arena, kPrime), null).toArray();
                assertExact(expectedDx(), matrixForm, "pad2(delta) conv k'");
            }
        }

        /** Lines 403-523, 538-557: dk = x conv delta, db = sum of delta. */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardWeightsIsTheNineSumsOfTheSeedAndBiasIsTheSum(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[][] grads = backwardWeights(conv, arena, plane(arena, X), plane(arena, D), 1, 1, 3, 3);
                assertExact(expectedDk(), grads[0], "dL/dk");
                float db = d(1, 1) + d(1, 2) + d(1, 3) + d(2, 1) + d(2, 2) + d(2, 3) + d(3, 1) + d(3, 2) + d(3, 3);
                assertExact(new float[] {db}, grads[1], "dL/db");
                float[] matrixForm = conv.forward(arena, plane(arena, X), plane(arena, D), null).toArray();
                assertExact(expectedDk(), matrixForm, "x conv delta");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Seed 001, 17.3.1: padding N-1 for an NxN kernel, on a non-square input (H and W not swapped).
    // ---------------------------------------------------------------------------------------------

    /** A^(10x8) * W^(5x5) = Z^(6x4); dZ + 4 padding = 14x12; 14x12 * rot180(W) = dA^(10x8). */
    @ParameterizedTest
    @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
    void seed001BackwardDataOfA10x8InputPadsTheGradientWithFourRings(Implementation impl) {
        try (Arena arena = Arena.ofConfined()) {
            Conv2d conv = conv(impl, Conv2dOptions.defaults());
            float[][] a = integers(10, 8, 1);
            float[][] w = integers(5, 5, 2);
            float[][] dz = integers(6, 4, 3);
            assertArrayEquals(new int[] {1, 1, 6, 4}, conv.forward(arena, plane(arena, a), plane(arena, w), null).shape());
            float[][] padded = pad(dz, 5 - 1);
            assertEquals(14, padded.length);
            assertEquals(12, padded[0].length);
            float[] expected = conv.forward(arena, plane(arena, padded), plane(arena, rot180(w)), null).toArray();
            assertEquals(10 * 8, expected.length);
            assertExact(expected, backwardData(conv, arena, plane(arena, dz), plane(arena, w), 1, 1, 10, 8), "dA");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Seed 001, 17.3.2: stride > 1 by inserting zeros between the gradient's entries.
    // ---------------------------------------------------------------------------------------------

    /**
     * The seed's two printed patterns from a 2x3 gradient. They are ((M-1)S+1) x ((N-1)S+1), not the
     * (M*S) x (N*S) of the seed's step 2, which contradicts its own examples.
     */
    @Test
    void seed001ZeroInsertionGivesThePrintedPatterns() {
        float d11 = 1, d12 = 2, d13 = 3, d21 = 4, d22 = 5, d23 = 6;
        double[] delta = {d11, d12, d13, d21, d22, d23};
        float[][] stride2 = {
                {d11, 0, d12, 0, d13},
                {0, 0, 0, 0, 0},
                {d21, 0, d22, 0, d23}};
        float[][] stride3 = {
                {d11, 0, 0, d12, 0, 0, d13},
                {0, 0, 0, 0, 0, 0, 0},
                {0, 0, 0, 0, 0, 0, 0},
                {d21, 0, 0, d22, 0, 0, d23}};
        assertExact(stride2, toFloats(Reference.insertZeros(delta, 2, 3, 2, 2)), "stride 2 (3x5)");
        assertExact(stride3, toFloats(Reference.insertZeros(delta, 2, 3, 3, 3)), "stride 3 (4x7)");
        assertExact(flatten(new float[][] {{d11, d12, d13}, {d21, d22, d23}}),
                toFloats(Reference.insertZeros(delta, 2, 3, 1, 1)), "stride 1 (a copy)");
        // unequal strides: 1 zero row between rows, 2 zero columns between columns
        assertExact(new float[][] {
                {d11, 0, 0, d12, 0, 0, d13},
                {0, 0, 0, 0, 0, 0, 0},
                {d21, 0, 0, d22, 0, 0, d23}}, toFloats(Reference.insertZeros(delta, 2, 3, 2, 3)), "2x3");
    }

    /** Stride, input H, input W; the 3x3 kernel always gives the seed's 2x3 gradient. */
    static Stream<Arguments> strideCases() {
        return Stream.of(Implementation.SCALAR, Implementation.SIMD).flatMap(impl -> Stream.of(
                Arguments.of(impl, 2, 5, 7),     // (5-3)/2+1 = 2, (7-3)/2+1 = 3: the seed's 3x5 pattern
                Arguments.of(impl, 3, 6, 9),     // (6-3)/3+1 = 2, (9-3)/3+1 = 3: the seed's 4x7 pattern
                Arguments.of(impl, 2, 6, 8),     // 2.5 -> 2, 3.5 -> 3: the last row and column are never read
                Arguments.of(impl, 3, 8, 10)));  // 2.67 -> 2, 3.33 -> 3: two rows, one column never read
    }

    /**
     * Backward passes with stride S equal the stride-1 formulas on the zero-inserted gradient (seed 001,
     * 17.3.2; seed 002: dX = pad(dilate(dZ)) * rot180(W), dW = X * dilate(dZ)). When (H-R) is not a
     * multiple of S, the dilated gradient is extended with zeros to the stride-1 output size (as the
     * ai-edu code does); with the seed's sizes no extension happens.
     */
    @ParameterizedTest(name = "{0}, stride {1}, input {2}x{3}")
    @MethodSource("strideCases")
    void backwardWithStrideEqualsZeroInsertionThenStrideOneFormulas(Implementation impl, int stride, int h, int w) {
        float[][] a = integers(h, w, 4);
        float[][] kernel = {{1, -2, 3}, {0, 2, -1}, {-3, 1, 2}};
        float[][] dz = {{1, -2, 3}, {-1, 2, 4}};
        try (Arena arena = Arena.ofConfined()) {
            Conv2d strided = conv(impl, Conv2dOptions.defaults().withStride(stride));
            Conv2d unit = conv(impl, Conv2dOptions.defaults());
            assertArrayEquals(new int[] {1, 1, 2, 3},
                    strided.geometry(new int[] {1, 1, h, w}, new int[] {1, 1, 3, 3}).outputShape());

            float[][] dilated = toMatrix(Reference.insertZeros(toDoubles(dz), 2, 3, stride, stride),
                    stride + 1, 2 * stride + 1);
            float[][] extended = extend(dilated, h - 3 + 1, w - 3 + 1);
            float[] expectedDx = unit.forward(arena, plane(arena, pad(extended, 3 - 1)), plane(arena, rot180(kernel)),
                    null).toArray();
            float[] expectedDw = unit.forward(arena, plane(arena, a), plane(arena, extended), null).toArray();

            assertExact(expectedDx, backwardData(strided, arena, plane(arena, dz), plane(arena, kernel), 1, 1, h, w),
                    "dX");
            float[][] grads = backwardWeights(strided, arena, plane(arena, a), plane(arena, dz), 1, 1, 3, 3);
            assertExact(expectedDw, grads[0], "dW");
            assertExact(new float[] {1 - 2 + 3 - 1 + 2 + 4}, grads[1], "db = sum of dZ");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Seed 001, 17.3.3: several filters (output channels). w_{m r s}, z_{m i j}; no bias in the seed.
    // ---------------------------------------------------------------------------------------------

    @Nested
    class SeveralFilters {

        static final float[][] W1 = {{2, -7}, {1, 8}};
        static final float[][] W2 = {{-3, 4}, {5, -1}};
        static final float[][] DZ1 = {{1, -2}, {4, 3}};
        static final float[][] DZ2 = {{-1, 2}, {3, -4}};

        static float a(int i, int j) {
            return A[i - 1][j - 1];
        }

        static float w(int m, int r, int s) {
            return (m == 1 ? W1 : W2)[r - 1][s - 1];
        }

        static float dz(int m, int i, int j) {
            return (m == 1 ? DZ1 : DZ2)[i - 1][j - 1];
        }

        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void forwardComputesOnePlanePerFilter(Implementation impl) {
            float z111 = w(1, 1, 1) * a(1, 1) + w(1, 1, 2) * a(1, 2) + w(1, 2, 1) * a(2, 1) + w(1, 2, 2) * a(2, 2);
            float z112 = w(1, 1, 1) * a(1, 2) + w(1, 1, 2) * a(1, 3) + w(1, 2, 1) * a(2, 2) + w(1, 2, 2) * a(2, 3);
            float z121 = w(1, 1, 1) * a(2, 1) + w(1, 1, 2) * a(2, 2) + w(1, 2, 1) * a(3, 1) + w(1, 2, 2) * a(3, 2);
            float z122 = w(1, 1, 1) * a(2, 2) + w(1, 1, 2) * a(2, 3) + w(1, 2, 1) * a(3, 2) + w(1, 2, 2) * a(3, 3);
            float z211 = w(2, 1, 1) * a(1, 1) + w(2, 1, 2) * a(1, 2) + w(2, 2, 1) * a(2, 1) + w(2, 2, 2) * a(2, 2);
            float z212 = w(2, 1, 1) * a(1, 2) + w(2, 1, 2) * a(1, 3) + w(2, 2, 1) * a(2, 2) + w(2, 2, 2) * a(2, 3);
            float z221 = w(2, 1, 1) * a(2, 1) + w(2, 1, 2) * a(2, 2) + w(2, 2, 1) * a(3, 1) + w(2, 2, 2) * a(3, 2);
            float z222 = w(2, 1, 1) * a(2, 2) + w(2, 1, 2) * a(2, 3) + w(2, 2, 1) * a(3, 2) + w(2, 2, 2) * a(3, 3);
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                Tensor z = conv.forward(arena, plane(arena, A), tensor(arena, flatten(W1, W2), 2, 1, 2, 2), null);
                assertArrayEquals(new int[] {1, 2, 2, 2}, z.shape());
                assertExact(new float[] {z111, z112, z121, z122, z211, z212, z221, z222}, z.toArray(), "Z");
            }
        }

        /** dA sums over the filters: eq. 9, delta_out = sum_m pad(delta_m) * rot180(W_m). */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardDataSumsOverFilters(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[] da = backwardData(conv, arena, tensor(arena, flatten(DZ1, DZ2), 1, 2, 2, 2),
                        tensor(arena, flatten(W1, W2), 2, 1, 2, 2), 1, 1, 3, 3);
                // lines 537-546, verbatim
                float da22 = (dz(1, 1, 1) * w(1, 2, 2) + dz(1, 1, 2) * w(1, 2, 1) + dz(1, 2, 1) * w(1, 1, 2)
                        + dz(1, 2, 2) * w(1, 1, 1))
                        + (dz(2, 1, 1) * w(2, 2, 2) + dz(2, 1, 2) * w(2, 2, 1) + dz(2, 2, 1) * w(2, 1, 2)
                        + dz(2, 2, 2) * w(2, 1, 1));
                assertEquals(da22, da[4], 0f, "dJ/da22");
                // eq. 9: each filter's seed-000 gradient, summed
                assertExact(add(seed000InputGradient(W1, DZ1), seed000InputGradient(W2, DZ2)), da, "dA");
            }
        }

        /** Each filter gets its own dW (eq. 9-11 per filter) and its own bias gradient (17.3.6). */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardWeightsIsPerFilter(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[][] grads = backwardWeights(conv, arena, plane(arena, A),
                        tensor(arena, flatten(DZ1, DZ2), 1, 2, 2, 2), 2, 1, 2, 2);
                assertExact(flatten(seed000WeightGradient(A, DZ1), seed000WeightGradient(A, DZ2)), grads[0], "dW");
                assertExact(new float[] {seed000BiasGradient(DZ1), seed000BiasGradient(DZ2)}, grads[1], "db");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Seed 001, 17.3.4: several input channels, one filter. a_{c i j}, w_{c r s}; no bias in the seed.
    // ---------------------------------------------------------------------------------------------

    @Nested
    class SeveralInputChannels {

        static final float[][] A1 = A;
        static final float[][] A2 = {{-2, 7, 1}, {8, -2, 8}, {1, -8, 2}};
        static final float[][] W1 = {{2, -7}, {1, 8}};
        static final float[][] W2 = {{-3, 4}, {5, -1}};

        static float a(int c, int i, int j) {
            return (c == 1 ? A1 : A2)[i - 1][j - 1];
        }

        static float w(int c, int r, int s) {
            return (c == 1 ? W1 : W2)[r - 1][s - 1];
        }

        static float dz(int i, int j) {
            return DZ[i - 1][j - 1];
        }

        /** Eq. 10-13, verbatim: each output sums the two channels' correlations. */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void forwardSumsOverInputChannels(Implementation impl) {
            float z11 = w(1, 1, 1) * a(1, 1, 1) + w(1, 1, 2) * a(1, 1, 2) + w(1, 2, 1) * a(1, 2, 1) + w(1, 2, 2) * a(1, 2, 2)
                    + w(2, 1, 1) * a(2, 1, 1) + w(2, 1, 2) * a(2, 1, 2) + w(2, 2, 1) * a(2, 2, 1) + w(2, 2, 2) * a(2, 2, 2);
            float z12 = w(1, 1, 1) * a(1, 1, 2) + w(1, 1, 2) * a(1, 1, 3) + w(1, 2, 1) * a(1, 2, 2) + w(1, 2, 2) * a(1, 2, 3)
                    + w(2, 1, 1) * a(2, 1, 2) + w(2, 1, 2) * a(2, 1, 3) + w(2, 2, 1) * a(2, 2, 2) + w(2, 2, 2) * a(2, 2, 3);
            float z21 = w(1, 1, 1) * a(1, 2, 1) + w(1, 1, 2) * a(1, 2, 2) + w(1, 2, 1) * a(1, 3, 1) + w(1, 2, 2) * a(1, 3, 2)
                    + w(2, 1, 1) * a(2, 2, 1) + w(2, 1, 2) * a(2, 2, 2) + w(2, 2, 1) * a(2, 3, 1) + w(2, 2, 2) * a(2, 3, 2);
            float z22 = w(1, 1, 1) * a(1, 2, 2) + w(1, 1, 2) * a(1, 2, 3) + w(1, 2, 1) * a(1, 3, 2) + w(1, 2, 2) * a(1, 3, 3)
                    + w(2, 1, 1) * a(2, 2, 2) + w(2, 1, 2) * a(2, 2, 3) + w(2, 2, 1) * a(2, 3, 2) + w(2, 2, 2) * a(2, 3, 3);
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                Tensor z = conv.forward(arena, tensor(arena, flatten(A1, A2), 1, 2, 3, 3),
                        tensor(arena, flatten(W1, W2), 1, 2, 2, 2), null);
                assertArrayEquals(new int[] {1, 1, 2, 2}, z.shape());
                assertExact(new float[] {z11, z12, z21, z22}, z.toArray(), "Z");
            }
        }

        /** Eq. 14-15: each input channel's gradient uses only its own kernel, rotated. */
        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardDataGivesEachChannelItsOwnKernel(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[] da = backwardData(conv, arena, plane(arena, DZ), tensor(arena, flatten(W1, W2), 1, 2, 2, 2),
                        1, 2, 3, 3);
                float da122 = dz(1, 1) * w(1, 2, 2) + dz(1, 2) * w(1, 2, 1) + dz(2, 1) * w(1, 1, 2) + dz(2, 2) * w(1, 1, 1);
                float da222 = dz(1, 1) * w(2, 2, 2) + dz(1, 2) * w(2, 2, 1) + dz(2, 1) * w(2, 1, 2) + dz(2, 2) * w(2, 1, 1);
                assertEquals(da122, da[4], 0f, "eq. 14, dJ/da122");
                assertEquals(da222, da[9 + 4], 0f, "eq. 15, dJ/da222");
                assertExact(flatten(seed000InputGradient(W1, DZ), seed000InputGradient(W2, DZ)), da, "dA");
            }
        }

        @ParameterizedTest
        @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
        void backwardWeightsGivesEachChannelItsOwnKernelGradient(Implementation impl) {
            try (Arena arena = Arena.ofConfined()) {
                Conv2d conv = conv(impl, Conv2dOptions.defaults());
                float[][] grads = backwardWeights(conv, arena, tensor(arena, flatten(A1, A2), 1, 2, 3, 3),
                        plane(arena, DZ), 1, 2, 2, 2);
                assertExact(flatten(seed000WeightGradient(A1, DZ), seed000WeightGradient(A2, DZ)), grads[0], "dW");
                assertExact(new float[] {seed000BiasGradient(DZ)}, grads[1], "db: one bias per filter");
            }
        }
    }

    // ---------------------------------------------------------------------------------------------
    // Seed 001, 17.1.10 (and 17.1.7, 17.3.7): output sizes. Fractions are truncated, not rounded.
    // ---------------------------------------------------------------------------------------------

    static Stream<Arguments> outputSizeCases() {
        Conv2dOptions valid = Conv2dOptions.defaults();
        return Stream.of(Implementation.SCALAR, Implementation.SIMD).flatMap(impl -> Stream.of(
                // Fig. 17-17: (5 - 3 + 2*0)/2 + 1 = 2
                Arguments.of(impl, "17-17", valid.withStride(2), new int[] {1, 1, 5, 5}, new int[] {1, 1, 3, 3},
                        new int[] {1, 1, 2, 2}),
                // Fig. 17-18: (4 - 3 + 2*1)/1 + 1 = 4
                Arguments.of(impl, "17-18", valid.withPadding(Padding.of(1)), new int[] {1, 1, 4, 4},
                        new int[] {1, 1, 3, 3}, new int[] {1, 1, 4, 4}),
                // 17.1.3: 4x4 with 3x3 -> 2x2
                Arguments.of(impl, "17.1.3", valid, new int[] {1, 1, 4, 4}, new int[] {1, 1, 3, 3},
                        new int[] {1, 1, 2, 2}),
                // 17.3.7: an 80x80 image with a 3x3 kernel -> 78x78
                Arguments.of(impl, "17.3.7", valid, new int[] {1, 1, 80, 80}, new int[] {1, 1, 3, 3},
                        new int[] {1, 1, 78, 78}),
                // 17.1.7: 3x32x32 with 2x3x5x5 -> 2x28x28
                Arguments.of(impl, "17.1.7", valid, new int[] {1, 3, 32, 32}, new int[] {2, 3, 5, 5},
                        new int[] {1, 2, 28, 28}),
                // note 2: (6 - 3)/2 + 1 = 2.5 -> 2 (truncated, not rounded to 3)
                Arguments.of(impl, "truncation", valid.withStride(2), new int[] {1, 1, 6, 6}, new int[] {1, 1, 3, 3},
                        new int[] {1, 1, 2, 2})));
    }

    @ParameterizedTest(name = "{0}, {1}: {3} * {4} -> {5}")
    @MethodSource("outputSizeCases")
    void outputSizeFollowsSeed001Formula(Implementation impl, String where, Conv2dOptions options, int[] input,
                                         int[] weight, int[] expected) {
        try (Arena arena = Arena.ofConfined()) {
            Conv2d conv = conv(impl, options);
            assertArrayEquals(expected, conv.geometry(input, weight).outputShape(), where + ": geometry");
            Tensor out = conv.forward(arena, Tensor.allocate(arena, input).fill(1), Tensor.allocate(arena, weight).fill(1),
                    null);
            assertArrayEquals(expected, out.shape(), where + ": forward");
            // all-ones input and kernel: an output that reads only real (unpadded) pixels is the tap count
            int taps = weight[1] * weight[2] * weight[3];
            assertEquals(taps, out.get(0, 0, expected[2] / 2, expected[3] / 2), 0f, where + ": centre value");
        }
    }

    // ---------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------

    /** Backward-data into a gradient tensor first filled with NaN, so that every element must be written. */
    static float[] backwardData(Conv2d conv, Arena arena, Tensor gradOutput, Tensor weight, int... inputShape) {
        Tensor gradInput = Tensor.allocate(arena, inputShape).fill(Float.NaN);
        conv.backwardData(gradOutput, weight, gradInput, Accumulation.OVERWRITE);
        return gradInput.toArray();
    }

    /** {dW, db}, written over NaN. */
    static float[][] backwardWeights(Conv2d conv, Arena arena, Tensor input, Tensor gradOutput, int... weightShape) {
        Tensor gradWeight = Tensor.allocate(arena, weightShape).fill(Float.NaN);
        Tensor gradBias = Tensor.allocate(arena, weightShape[0]).fill(Float.NaN);
        conv.backwardWeights(input, gradOutput, gradWeight, gradBias, Accumulation.OVERWRITE);
        return new float[][] {gradWeight.toArray(), gradBias.toArray()};
    }

    /** Exact comparison; delta 0 still treats 0.0 and -0.0 as equal. */
    static void assertExact(float[] expected, float[] actual, String what) {
        assertArrayEquals(expected, actual, 0f, what);
    }

    static void assertExact(float[][] expected, float[] actual, String what) {
        assertExact(flatten(expected), actual, what);
    }

    static float[][] plus(float[][] m, float c) {
        float[][] out = new float[m.length][m[0].length];
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < m[0].length; j++) {
                out[i][j] = m[i][j] + c;
            }
        }
        return out;
    }

    static float[] toFloats(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }

    /** A deterministic h x w matrix of integers in [-4, 4]: exact in float, and not symmetric. */
    static float[][] integers(int h, int w, int salt) {
        float[][] m = new float[h][w];
        for (int i = 0; i < h; i++) {
            for (int j = 0; j < w; j++) {
                m[i][j] = Math.floorMod(7 * i + 3 * j + 5 * salt + i * j, 9) - 4;
            }
        }
        return m;
    }
}
