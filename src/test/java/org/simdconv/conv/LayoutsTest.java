package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.simdconv.conv.TestData.assertSameValues;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * Layouts are data: every pass takes its activations in any layout (plain, the blocked layout the
 * kernels prefer, a block of another size) and gives exactly what it gives on plain tensors, for
 * both implementations, in both accumulation modes, with the padding channels of blocked results
 * zero; and the layout each activation of a case gets is fixed by the case's place in the list
 * and shown in its name. Weights and biases must be plain.
 */
class LayoutsTest {

    private static ForkJoinPool twoThreads;

    @BeforeAll
    static void startPool() {
        twoThreads = new ForkJoinPool(2);
    }

    @AfterAll
    static void stopPool() {
        twoThreads.close();
    }

    /** Layouts of the two activations: the preferred one, plain, or blocks of half the lanes (a foreign block). */
    enum Choice {
        PREFERRED, PLAIN, FOREIGN;

        Layout of(Conv2d conv, int channels) {
            return switch (this) {
                case PREFERRED -> conv.preferredLayout(channels);
                case PLAIN -> Layout.plain();
                case FOREIGN -> Layout.channelBlocked(Math.max(2, ConvCase.LANES / 2));
            };
        }
    }

    /** A case, its implementation and the layouts of its input-side and output-side activations. */
    record Run(ConvCase problem, Implementation implementation, Choice input, Choice output) {
        @Override
        public String toString() {
            return problem + " " + implementation + " input=" + input + " output=" + output + " threads=2";
        }
    }

    /** Depthwise layers, which have their own blocked kernel: channel tails, strides, dilation, padding. */
    private static final List<ConvCase> DEPTHWISE = List.of(
            depthwise(2, 20, 11, 13, 3, 3, Conv2dOptions.defaults().withPadding(Padding.of(1, 1))),
            depthwise(1, 8, 9, 9, 3, 3, Conv2dOptions.defaults().withStride(2, 2).withPadding(Padding.of(1, 1))),
            depthwise(3, 13, 12, 17, 5, 5, Conv2dOptions.defaults().withDilation(2, 2).withPadding(Padding.same())),
            depthwise(2, 33, 7, 6, 3, 1, Conv2dOptions.defaults().withStride(3, 2).withPadding(Padding.of(2, 0))),
            depthwise(2, 16, 8, 10, 3, 3, Conv2dOptions.defaults().withPadding(Padding.of(1, 1))),
            depthwise(1, 17, 9, 7, 3, 3, Conv2dOptions.defaults()),
            depthwise(3, 32, 14, 14, 3, 3, Conv2dOptions.defaults().withPadding(Padding.of(1, 1))),
            depthwise(2, 5, 6, 12, 3, 3, Conv2dOptions.defaults().withPadding(Padding.of(2, 1))),
            depthwise(1, 40, 3, 20, 3, 3, Conv2dOptions.defaults().withPadding(Padding.of(1, 1))),
            depthwise(2, 24, 5, 5, 3, 3, Conv2dOptions.defaults().withPadding(Padding.of(0, 1))),
            depthwise(1, 16, 4, 9, 3, 3, Conv2dOptions.defaults()));

    private static ConvCase depthwise(int n, int c, int h, int w, int r, int s, Conv2dOptions options) {
        return new ConvCase(new int[] {n, c, h, w}, new int[] {c, 1, r, s}, options.withGroups(c));
    }

    /** Every case with both implementations; the layouts cycle through the combinations by place. */
    static List<Run> runs() {
        List<ConvCase> cases = new ArrayList<>(ConvCase.randomWide(31L, 60, 2_000_000));
        cases.addAll(ConvCase.random(32L, 30, 400_000));
        cases.addAll(ConvCase.randomPointwise(33L, 20, 3_000_000));
        cases.addAll(DEPTHWISE);
        Choice[][] pairs = {{Choice.PREFERRED, Choice.PREFERRED}, {Choice.PREFERRED, Choice.PLAIN},
            {Choice.PLAIN, Choice.PREFERRED}, {Choice.FOREIGN, Choice.FOREIGN}, {Choice.FOREIGN, Choice.PREFERRED}};
        List<Run> runs = new ArrayList<>();
        for (int i = 0; i < cases.size(); i++) {
            Choice[] pair = pairs[i % pairs.length];
            runs.add(new Run(cases.get(i), Implementation.SIMD, pair[0], pair[1]));
            if (i % 3 == 0) {
                runs.add(new Run(cases.get(i), Implementation.SCALAR, pair[0], pair[1]));
            }
        }
        return runs;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("runs")
    void everyLayoutGivesThePlainResults(Run run) {
        Conv2dGeometry g = run.problem().geometry();
        Conv2d conv = Conv2d.create(run.problem().options()).withImplementation(run.implementation())
                .withParallelism(Parallelism.on(twoThreads));
        Layout in = run.input().of(conv, g.c()), out = run.output().of(conv, g.k());
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());
            Tensor xl = TestData.copy(arena, x, in), dzl = TestData.copy(arena, dz, out);
            assertEquals(in, xl.layout());

            Tensor y = TestData.poisoned(arena, out, g.outputShape());
            conv.forward(xl, w, b, y);
            assertSameValues("forward " + g, conv.forward(arena, x, w, b).toArray(), y.toArray());
            TestData.assertPaddingIsZero("forward " + g, y);

            for (Accumulation mode : Accumulation.values()) {
                Tensor start = TestData.smallIntegers(arena, random, g.inputShape());
                Tensor dx = TestData.copy(arena, start);
                conv.backwardData(dz, w, dx, mode);
                Tensor dxl = mode == Accumulation.ACCUMULATE ? TestData.copy(arena, start, in)
                        : TestData.poisoned(arena, in, g.inputShape());
                conv.backwardData(dzl, w, dxl, mode);
                assertSameValues("backward-data " + mode + " " + g, dx.toArray(), dxl.toArray());
                TestData.assertPaddingIsZero("backward-data " + mode + " " + g, dxl);

                Tensor startW = TestData.smallIntegers(arena, random, g.weightShape());
                Tensor startB = TestData.smallIntegers(arena, random, g.biasShape());
                Tensor dw = TestData.copy(arena, startW), db = TestData.copy(arena, startB);
                conv.backwardWeights(x, dz, dw, db, mode);
                Tensor dwl = TestData.copy(arena, startW), dbl = TestData.copy(arena, startB);
                conv.backwardWeights(xl, dzl, dwl, dbl, mode);
                assertSameValues("backward-weights " + mode + " " + g, dw.toArray(), dwl.toArray());
                assertSameValues("backward-bias " + mode + " " + g, db.toArray(), dbl.toArray());
            }
        }
    }

    @Test
    void thePreferredLayoutIsBlockedFromHalfABlockOfChannels() {
        Conv2d simd = Conv2d.create(Conv2dOptions.defaults()).withImplementation(Implementation.SIMD);
        int lanes = ConvCase.LANES;
        assertEquals(Layout.plain(), simd.preferredLayout(1));
        assertEquals(Layout.plain(), simd.preferredLayout(Math.ceilDiv(lanes, 2) - 1));
        assertEquals(Layout.channelBlocked(lanes), simd.preferredLayout(Math.ceilDiv(lanes, 2)));
        assertEquals(Layout.channelBlocked(lanes), simd.preferredLayout(1000));
        Conv2d scalar = Conv2d.create(Conv2dOptions.defaults()).withImplementation(Implementation.SCALAR);
        assertEquals(Layout.plain(), scalar.preferredLayout(1000), "the oracle computes on plain tensors");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> simd.preferredLayout(0));
        assertEquals("channels must be >= 1, got 0", e.getMessage());
    }

    @Test
    void forwardIntoANewTensorKeepsTheInputsLayoutFamily() {
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults().withPadding(Padding.of(1)))
                .withImplementation(Implementation.SIMD);
        try (Arena arena = Arena.ofShared()) {
            Tensor w = TestData.smallIntegers(arena, new Random(3), 32, 32, 3, 3);
            Tensor plain = TestData.smallIntegers(arena, new Random(4), 2, 32, 6, 7);
            Tensor blocked = TestData.copy(arena, plain, conv.preferredLayout(32));
            assertEquals(Layout.plain(), conv.forward(arena, plain, w, null).layout());
            Tensor y = conv.forward(arena, blocked, w, null);
            assertEquals(conv.preferredLayout(32), y.layout());
            assertSameValues("blocked forward", conv.forward(arena, plain, w, null).toArray(), y.toArray());
        }
    }

    @Test
    void weightsAndBiasesMustBePlainAndActivationsDense() {
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults()).withImplementation(Implementation.SIMD);
        try (Arena arena = Arena.ofShared()) {
            Tensor x = Tensor.allocate(arena, 1, 4, 5, 5);
            Tensor y = Tensor.allocate(arena, 1, 8, 3, 3).fill(7f);
            Tensor blockedW = Tensor.allocate(arena, Layout.channelBlocked(4), 8, 4, 3, 3);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> conv.forward(x, blockedW, null, y));
            assertEquals("weight: weights and biases are plain (OIHW, K), got layout nChw4c", e.getMessage());
            Tensor w = Tensor.allocate(arena, 8, 4, 3, 3);
            Tensor strided = Tensor.view(arena.allocate(4L * 2 * 100 * 4), 0, new int[] {1, 4, 5, 5},
                    new long[] {200, 50, 10, 2});
            e = assertThrows(IllegalArgumentException.class, () -> conv.forward(strided, w, null, y));
            assertTrue(e.getMessage().startsWith("input: the kernels need a dense (contiguous) tensor"), e.getMessage());
            for (float v : y.toArray()) {
                assertEquals(7f, v, "a rejected call writes nothing");
            }
        }
    }
}
