package org.simdconv.nn;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.simdconv.conv.Implementation;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;
import org.simdconv.train.Models;

/**
 * NaN and infinity propagate as IEEE arithmetic says, through every layer, in both
 * implementations: one infinite pixel makes every logit of its image infinite or NaN, one NaN
 * pixel every logit of its image NaN (it reaches them all through the
 * convolutions, the ReLU fused into max pooling, where a NaN wins, and the dense layers) and no
 * logit of another image; a NaN in one image's output gradient makes the last layer's bias
 * gradient and every weight-gradient row that it multiplies NaN. Never a silent zero.
 */
class NaNPropagationTest {

    private static Sequential model(Implementation impl) {
        Sequential model = Models.tfCnn(new Execution(impl, Parallelism.serial()));
        model.initialize(7);
        return model;
    }

    @ParameterizedTest
    @EnumSource(value = Implementation.class, names = {"SCALAR", "SIMD"})
    void nanAndInfinityReachEveryLogitOfTheirImageAndNoOther(Implementation impl) {
        try (Sequential model = model(impl); Arena arena = Arena.ofConfined()) {
            Tensor images = Tensor.allocate(arena, 3, 1, 28, 28);
            Random random = new Random(1);
            float[] pixels = new float[3 * 28 * 28];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = random.nextFloat();
            }
            pixels[28 * 28 + 14 * 28 + 9] = Float.NaN; // image 1
            pixels[20 * 28 + 3] = Float.POSITIVE_INFINITY; // image 0
            images.copyFrom(pixels);
            float[] logits = model.forward(images).toArray();
            for (int k = 0; k < 10; k++) {
                assertTrue(Float.isNaN(logits[10 + k]), impl + ": logit " + k + " of the NaN image is " + logits[10 + k]);
                assertFalse(Float.isFinite(logits[k]), impl + ": logit " + k + " of the infinite image is " + logits[k]);
                assertTrue(Float.isFinite(logits[20 + k]), impl + ": logit " + k + " of the clean image is " + logits[20 + k]);
            }

            pixels[28 * 28 + 14 * 28 + 9] = 0.5f; // a clean forward pass: the backward test's NaN is its own
            pixels[20 * 28 + 3] = 0.5f;
            model.forward(images.copyFrom(pixels));
            float[] grad = new float[30];
            for (int i = 0; i < grad.length; i++) {
                grad[i] = 0.1f * (i % 7 - 3);
            }
            grad[2 * 10 + 4] = Float.NaN; // image 2, class 4
            model.backward(Tensor.allocate(arena, 3, 10).copyFrom(grad));
            float[] db = model.parameter("9.bias").grad().toArray();
            float[] dw = model.parameter("9.weight").grad().toArray();
            for (int k = 0; k < 10; k++) {
                assertTrue(Float.isNaN(db[k]) == (k == 4), impl + ": bias gradient " + k + " = " + db[k]);
            }
            for (int in = 0; in < 1024; in++) {
                assertTrue(Float.isNaN(dw[4 * 1024 + in]), impl + ": weight gradient row 4, column " + in);
                assertFalse(Float.isNaN(dw[3 * 1024 + in]), impl + ": weight gradient row 3, column " + in);
            }
        }
    }
}
