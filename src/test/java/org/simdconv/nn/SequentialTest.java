package org.simdconv.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.simdconv.conv.Implementation;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;
import org.simdconv.testing.AllocationCounter;

/** The model API: names, shapes, initialisation, state dicts, errors, memory. */
class SequentialTest {

    private static Sequential seedCnn(Execution execution) {
        return org.simdconv.train.Models.seedCnn(execution);
    }

    private static Execution serial(Implementation impl) {
        return new Execution(impl, Parallelism.serial());
    }

    @Test
    void parametersCarryPyTorchsStateDictNamesAndShapes() {
        try (Sequential model = seedCnn(serial(Implementation.SCALAR))) {
            Map<String, Tensor> dict = model.stateDict();
            assertEquals(List.of("0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight",
                    "9.bias"), List.copyOf(dict.keySet()));
            assertArrayEquals(new int[] {4, 1, 3, 3}, dict.get("0.weight").shape());
            assertArrayEquals(new int[] {6, 4, 3, 3}, dict.get("3.weight").shape());
            assertArrayEquals(new int[] {32, 150}, dict.get("7.weight").shape());
            assertArrayEquals(new int[] {10}, dict.get("9.bias").shape());
            assertEquals(4 * 9 + 4 + 6 * 36 + 6 + 150 * 32 + 32 + 32 * 10 + 10, model.parameterCount());
            assertArrayEquals(new int[] {5, 10}, model.outputShape(5, 1, 28, 28));
            assertTrue(model.toString().contains("(7): Linear(in_features=150, out_features=32, bias=True)"),
                    model.toString());
        }
    }

    @Test
    void initialisationFollowsPyTorchsBoundsAndTheSeed() {
        try (Sequential a = seedCnn(serial(Implementation.SCALAR)); Sequential b = seedCnn(serial(Implementation.SCALAR))) {
            a.initialize(42);
            b.initialize(42);
            for (Parameter p : a.parameters()) {
                assertArrayEquals(p.value().toArray(), b.parameter(p.name()).value().toArray(), p.name());
            }
            b.initialize(43);
            assertNotEquals(a.parameter("0.weight").value().toArray()[0], b.parameter("0.weight").value().toArray()[0]);
            // Uniform in +-1/sqrt(fan_in): fan_in 9 for the first conv, 150 for the first dense layer.
            assertWithin(a.parameter("0.weight").value().toArray(), 1 / 3.0);
            assertWithin(a.parameter("7.weight").value().toArray(), 1 / Math.sqrt(150));
            assertWithin(a.parameter("7.bias").value().toArray(), 1 / Math.sqrt(150));
        }
    }

    private static void assertWithin(float[] values, double bound) {
        double max = 0;
        for (float v : values) {
            max = Math.max(max, Math.abs(v));
        }
        assertTrue(max <= bound && max > 0.7 * bound, "largest " + max + " for bound " + bound);
    }

    @Test
    void aBatchWhoseActivationsPassTwoToTheThirtyOneElementsIsRefusedEarly() {
        try (Sequential model = seedCnn(serial(Implementation.SCALAR))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.outputShape(1_000_000, 1, 28, 28));
            assertTrue(e.getMessage().contains("layer (0) Conv2d") && e.getMessage().contains("split the batch"),
                    e.getMessage());
        }
    }

    @Test
    void aShapeThatDoesNotFitNamesTheLayer() {
        try (Sequential model = seedCnn(serial(Implementation.SCALAR)); Arena arena = Arena.ofConfined()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> model.forward(Tensor.allocate(arena, 2, 1, 20, 20)));
            assertTrue(e.getMessage().contains("layer (7) Linear(in_features=150"), e.getMessage());
            assertTrue(e.getMessage().contains("[2, 54]"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> model.forward(Tensor.allocate(arena, 2, 3, 28, 28)));
            assertTrue(e.getMessage().contains("layer (0) Conv2d(1, 4"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> model.backward(Tensor.allocate(arena, 2, 10)));
        }
    }

    @Test
    void loadingIsStrictAndAllOrNothing() {
        try (Sequential model = seedCnn(serial(Implementation.SCALAR)); Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> good = new LinkedHashMap<>();
            for (Parameter p : model.parameters()) {
                good.put(p.name(), Tensor.allocate(arena, p.value().shape()).fill(0.5f));
            }
            float[] before = model.parameter("0.weight").value().toArray();

            Map<String, Tensor> missing = new LinkedHashMap<>(good);
            missing.remove("7.bias");
            assertLoadFails(model, missing, "tensor '7.bias' is missing");
            Map<String, Tensor> extra = new LinkedHashMap<>(good);
            extra.put("10.weight", Tensor.allocate(arena, 1));
            assertLoadFails(model, extra, "tensor '10.weight' is not a parameter");
            Map<String, Tensor> wrong = new LinkedHashMap<>(good);
            wrong.put("9.weight", Tensor.allocate(arena, 32, 10));
            assertLoadFails(model, wrong, "tensor '9.weight' has shape [32, 10], the model needs [10, 32]");
            assertArrayEquals(before, model.parameter("0.weight").value().toArray(), "nothing was loaded");

            model.loadStateDict(good);
            for (Parameter p : model.parameters()) {
                for (float v : p.value().toArray()) {
                    assertEquals(0.5f, v, p.name());
                }
            }
        }
    }

    private static void assertLoadFails(Sequential model, Map<String, Tensor> tensors, String message) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> model.loadStateDict(tensors));
        assertTrue(e.getMessage().startsWith(message), e.getMessage());
    }

    @Test
    void aLayerBelongsToOneModelAndAClosedModelRefusesWork() {
        ReLU relu = new ReLU();
        try (Sequential model = new Sequential(serial(Implementation.SCALAR), relu)) {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> new Sequential(serial(Implementation.SCALAR), relu));
            assertTrue(e.getMessage().contains("already belongs to a model"), e.getMessage());
            model.close();
            assertThrows(IllegalStateException.class, () -> model.initialize(1));
        }
        assertThrows(IllegalArgumentException.class, () -> new Sequential(serial(Implementation.SCALAR)));
        assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(2, 2, 2));
        assertThrows(IllegalArgumentException.class, () -> new Linear(0, 3));
    }

    /** Activations between the convolutions stay channel-blocked: the layers after a conv keep its layout. */
    @Test
    void activationsStayInTheConvolutionsLayout() {
        int channels = 2 * org.simdconv.internal.Backends.simd().channelBlock();
        try (Sequential model = new Sequential(serial(Implementation.SIMD), new Conv2d(1, channels, 3), new ReLU(),
                new MaxPool2d(2), new AvgPool2d(2), new Flatten());
             Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.allocate(arena, 2, 1, 10, 10).fill(1f);
            assertEquals(Layout.plain(), model.forward(x).layout(), "flatten is plain");
            Tensor a = x;
            for (int i = 0; i < 4; i++) { // conv, ReLU, max-pool, avg-pool: blocked all along
                a = model.layers().get(i).forward(a);
                assertEquals(Layout.channelBlocked(channels / 2), a.layout(), "output of layer " + i);
            }
        }
    }

    /**
     * A training step on a batch size seen before allocates nothing, on the heap or off it: counted
     * on the calling thread and the pool's, once the JIT has compiled the step (as for the convolution).
     */
    @Test
    void aRepeatedTrainingStepAllocatesNothing() {
        try (ForkJoinPool pool = new ForkJoinPool(2);
             Sequential model = seedCnn(new Execution(Implementation.AUTO, Parallelism.on(pool)));
             CrossEntropyLoss loss = new CrossEntropyLoss();
             SGD sgd = new SGD(model.parameters(), 0.05, 0.9, 5e-4);
             Arena arena = Arena.ofShared()) {
            Random random = new Random(1);
            Tensor x = Tensor.allocate(arena, 16, 1, 28, 28);
            float[] pixels = new float[16 * 28 * 28];
            for (int i = 0; i < pixels.length; i++) {
                pixels[i] = random.nextFloat();
            }
            x.copyFrom(pixels);
            int[] labels = new int[16];
            for (int i = 0; i < labels.length; i++) {
                labels[i] = i % 10;
            }
            AllocationCounter counter = new AllocationCounter(Parallelism.on(pool));
            long bytes = Long.MAX_VALUE;
            long deadline = System.nanoTime() + 20_000_000_000L;
            while (bytes > 0 && System.nanoTime() < deadline) {
                for (int i = 0; i < 50; i++) {
                    step(model, loss, sgd, x, labels);
                }
                long before = counter.total();
                step(model, loss, sgd, x, labels);
                bytes = counter.since(before);
            }
            assertEquals(0, bytes, () -> "bytes allocated by a training step, at "
                    + AllocationCounter.sites(() -> step(model, loss, sgd, x, labels), 1000)); // enough to refill TLABs: JFR samples there
        }
    }

    private static void step(Sequential model, CrossEntropyLoss loss, SGD sgd, Tensor x, int[] labels) {
        loss.forward(model.forward(x), labels);
        model.backward(loss.backward());
        sgd.step();
    }
}
