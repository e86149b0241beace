package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.simdconv.conv.TestData.assertSameValues;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * The channel-blocked entry points give exactly what the NCHW ones give, converted: on random
 * problems with small-integer data (so every result is exact), for both implementations, every
 * pass and both accumulation modes; and they reject tensors of the wrong shape before touching
 * anything.
 */
class BlockedEntryPointTest {

    private static ForkJoinPool twoThreads;

    @BeforeAll
    static void startPool() {
        twoThreads = new ForkJoinPool(2);
    }

    @AfterAll
    static void stopPool() {
        twoThreads.close();
    }

    /** Depthwise layers, which have their own blocked kernel: channel tails, strides, dilation, padding. */
    private static final List<ConvCase> DEPTHWISE = List.of(
            depthwise(2, 20, 11, 13, 3, 3, Conv2dOptions.defaults().withPadding(Padding.of(1, 1))),
            depthwise(1, 8, 9, 9, 3, 3, Conv2dOptions.defaults().withStride(2, 2).withPadding(Padding.of(1, 1))),
            depthwise(3, 13, 12, 17, 5, 5, Conv2dOptions.defaults().withDilation(2, 2).withPadding(Padding.same())),
            depthwise(2, 33, 7, 6, 3, 1, Conv2dOptions.defaults().withStride(3, 2).withPadding(Padding.of(2, 0))),
            // 3x3 at stride 1, read in place and swept two output rows at a time: even and odd
            // numbers of interior rows, none or one interior row, clipped rows at top and bottom.
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

    static Stream<Arguments> cases() {
        List<ConvCase> cases = new ArrayList<>(ConvCase.randomWide(31L, 60, 2_000_000));
        cases.addAll(ConvCase.random(32L, 30, 400_000));
        cases.addAll(ConvCase.randomPointwise(33L, 20, 3_000_000));
        cases.addAll(DEPTHWISE);
        return cases.stream().flatMap(c -> Stream.of(Arguments.of(c, Implementation.SIMD),
                Arguments.of(c, Implementation.SCALAR)));
    }

    @ParameterizedTest
    @MethodSource("cases")
    void blockedPassesMatchTheNchwPasses(ConvCase c, Implementation impl) {
        Conv2dGeometry g = c.geometry();
        Conv2d conv = Conv2d.create(c.options()).withImplementation(impl).withParallelism(Parallelism.on(twoThreads));
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());
            Tensor xb = blocked(conv, arena, x), dzb = blocked(conv, arena, dz);

            Tensor yb = Tensor.allocate(arena, conv.blockedShape(g.outputShape()));
            conv.forwardBlocked(xb, w, b, yb);
            assertSameValues("forward " + g, conv.forward(arena, x, w, b).toArray(), nchw(conv, arena, yb, g.outputShape()));
            assertPaddingIsZero(yb, g.k());

            for (Accumulation mode : Accumulation.values()) {
                Tensor start = TestData.smallIntegers(arena, random, g.inputShape());
                Tensor dx = TestData.copy(arena, start);
                conv.backwardData(dz, w, dx, mode);
                Tensor dxb = blocked(conv, arena, start);
                conv.backwardDataBlocked(dzb, w, dxb, mode);
                assertSameValues("backward-data " + mode + " " + g, dx.toArray(), nchw(conv, arena, dxb, g.inputShape()));
                assertPaddingIsZero(dxb, g.c());

                Tensor startW = TestData.smallIntegers(arena, random, g.weightShape());
                Tensor startB = TestData.smallIntegers(arena, random, g.biasShape());
                Tensor dw = TestData.copy(arena, startW), db = TestData.copy(arena, startB);
                conv.backwardWeights(x, dz, dw, db, mode);
                Tensor dwb = TestData.copy(arena, startW), dbb = TestData.copy(arena, startB);
                conv.backwardWeightsBlocked(xb, dzb, dwb, dbb, mode);
                assertSameValues("backward-weights " + mode + " " + g, dw.toArray(), dwb.toArray());
                assertSameValues("backward-bias " + mode + " " + g, db.toArray(), dbb.toArray());
            }
        }
    }

    @Test
    void theBlockIsTheVectorWidthForEveryImplementation() {
        int simd = Conv2d.create(Conv2dOptions.defaults()).withImplementation(Implementation.SIMD).channelBlock();
        int scalar = Conv2d.create(Conv2dOptions.defaults()).withImplementation(Implementation.SCALAR).channelBlock();
        assertEquals(simd, scalar);
        assertTrue(simd >= 4, "block " + simd);
        assertArrayEquals(new int[] {2, Math.ceilDiv(13, simd), 5, 7, simd},
                Conv2d.create(Conv2dOptions.defaults()).blockedShape(new int[] {2, 13, 5, 7}));
    }

    @Test
    void tensorsOfFewChannelsStayPlain() {
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults());
        int block = conv.channelBlock();
        int plain = Math.ceilDiv(block, 2) - 1, blocked = Math.ceilDiv(block, 2);
        assertEquals(1, conv.channelBlock(1));
        assertEquals(1, conv.channelBlock(plain));
        assertEquals(block, conv.channelBlock(blocked));
        assertArrayEquals(new int[] {2, plain, 5, 7, 1}, conv.blockedShape(new int[] {2, plain, 5, 7}));
        assertArrayEquals(new int[] {2, 1, 5, 7, block}, conv.blockedShape(new int[] {2, blocked, 5, 7}));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> conv.channelBlock(0));
        assertEquals("channels must be >= 1, got 0", e.getMessage());
        try (Arena arena = Arena.ofShared()) {
            Tensor nchw = TestData.smallIntegers(arena, new Random(5), 2, plain, 5, 7);
            Tensor b = Tensor.allocate(arena, conv.blockedShape(nchw.shape()));
            conv.toBlocked(nchw, b);
            assertArrayEquals(nchw.toArray(), b.toArray(), "a plain blocked tensor holds the NCHW values in order");
            // A plain tensor where a blocked one is due, and the other way round, are refused.
            Tensor w = Tensor.allocate(arena, blocked, plain, 3, 3);
            Tensor out = Tensor.allocate(arena, conv.blockedShape(new int[] {2, blocked, 3, 5}));
            Tensor paddedIn = Tensor.allocate(arena, 2, 1, 5, 7, block);
            e = assertThrows(IllegalArgumentException.class, () -> conv.forwardBlocked(paddedIn, w, null, out));
            assertTrue(e.getMessage().contains("does not match [2, " + plain + ", 5, 7, 1]"), e.getMessage());
            Tensor plainOut = Tensor.allocate(arena, 2, blocked, 3, 5, 1);
            e = assertThrows(IllegalArgumentException.class, () -> conv.forwardBlocked(b, w, null, plainOut));
            assertTrue(e.getMessage().startsWith("output: shape [2, " + blocked + ", 3, 5, 1] does not match"),
                    e.getMessage());
        }
    }

    @Test
    void wrongBlockedShapesAreRejectedBeforeAnythingIsWritten() {
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults().withPadding(Padding.of(1)));
        int block = conv.channelBlock();
        try (Arena arena = Arena.ofShared()) {
            Tensor w = Tensor.allocate(arena, 2 * block, block + 1, 3, 3);
            Tensor goodIn = Tensor.allocate(arena, 1, 2, 6, 6, block);
            Tensor out = Tensor.allocate(arena, 1, 2, 6, 6, block).fill(7f);

            Tensor notBlocked = Tensor.allocate(arena, 1, block + 1, 6, 6);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> conv.forwardBlocked(notBlocked, w, null, out));
            assertTrue(e.getMessage().startsWith("input: a blocked tensor has shape (N, ceil(C/b), H, W, b) with b = "
                    + block), e.getMessage());

            Tensor wrongBlocks = Tensor.allocate(arena, 1, 3, 6, 6, block);
            e = assertThrows(IllegalArgumentException.class, () -> conv.forwardBlocked(wrongBlocks, w, null, out));
            assertTrue(e.getMessage().contains("input: shape [1, 3, 6, 6, " + block + "] does not match [1, 2, 6, 6, "
                    + block + "]"), e.getMessage());

            Tensor smallOut = Tensor.allocate(arena, 1, 2, 5, 6, block).fill(7f);
            e = assertThrows(IllegalArgumentException.class, () -> conv.forwardBlocked(goodIn, w, null, smallOut));
            assertTrue(e.getMessage().startsWith("output: shape [1, 2, 5, 6, " + block + "]"), e.getMessage());

            e = assertThrows(IllegalArgumentException.class, () -> conv.toBlocked(notBlocked, smallOut));
            assertTrue(e.getMessage().startsWith("blocked: shape"), e.getMessage());

            for (float v : out.toArray()) {
                assertEquals(7f, v);
            }
            for (float v : smallOut.toArray()) {
                assertEquals(7f, v);
            }
        }
    }

    @Test
    void closedMemoryNullsAndBadShapesAreNamed() {
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults());
        int block = conv.channelBlock();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> conv.blockedShape(new int[] {2, 0, 5, 5}));
        assertEquals("nchwShape dimension C must be >= 1, got [2, 0, 5, 5]", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> conv.blockedShape(new int[] {2, 3, 5}));
        assertTrue(e.getMessage().startsWith("nchwShape must be 4-D"), e.getMessage());

        Tensor w, out;
        Tensor closedIn;
        try (Arena closed = Arena.ofConfined()) {
            closedIn = Tensor.allocate(closed, 1, 1, 4, 4, block);
        }
        try (Arena arena = Arena.ofShared()) {
            w = Tensor.allocate(arena, block, block, 3, 3);
            out = Tensor.allocate(arena, 1, 1, 2, 2, block).fill(3f);
            IllegalStateException closedError = assertThrows(IllegalStateException.class,
                    () -> conv.forwardBlocked(closedIn, w, null, out));
            assertTrue(closedError.getMessage().contains("input"), closedError.getMessage());
            NullPointerException nullError = assertThrows(NullPointerException.class,
                    () -> conv.backwardDataBlocked(out, w, null, Accumulation.OVERWRITE));
            assertTrue(String.valueOf(nullError.getMessage()).contains("gradInput"), nullError.getMessage());
            Tensor grad = Tensor.allocate(arena, 1, 1, 4, 4, block);
            assertThrows(NullPointerException.class, () -> conv.backwardDataBlocked(out, w, grad, null));
            for (float v : out.toArray()) {
                assertEquals(3f, v);
            }
        }
    }

    /** {@code nchw} in {@code conv}'s channel-blocked layout, in a new tensor of {@code arena}. */
    static Tensor blocked(Conv2d conv, Arena arena, Tensor nchw) {
        Tensor b = Tensor.allocate(arena, conv.blockedShape(nchw.shape()));
        conv.toBlocked(nchw, b);
        return b;
    }

    /** The values of the blocked tensor {@code blocked} in NCHW order, {@code shape}. */
    static float[] nchw(Conv2d conv, Arena arena, Tensor blocked, int[] shape) {
        Tensor t = Tensor.allocate(arena, shape);
        conv.toNchw(blocked, t);
        return t.toArray();
    }

    /** The lanes past the last channel of a blocked result hold zeros. */
    private static void assertPaddingIsZero(Tensor blocked, int channels) {
        int[] s = blocked.shape();
        float[] v = blocked.toArray();
        for (int i = 0; i < v.length; i++) {
            int lane = i % s[4], block = (i / (s[4] * s[3] * s[2])) % s[1];
            if (block * s[4] + lane >= channels) {
                assertEquals(0f, v[i], "padding lane " + lane + " of block " + block);
            }
        }
    }
}
