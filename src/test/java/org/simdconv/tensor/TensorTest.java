package org.simdconv.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** {@link Tensor}: allocation, wrapping without copies, strided views, and use after release. */
class TensorTest {

    // ---------------------------------------------------------------------------------------------
    // allocate
    // ---------------------------------------------------------------------------------------------

    static Stream<int[]> shapes() {
        return Stream.of(new int[] {1}, new int[] {3}, new int[] {17}, new int[] {2, 3, 5}, new int[] {1, 1, 7, 7},
                new int[] {2, 3, 4, 5});
    }

    @ParameterizedTest
    @MethodSource("shapes")
    void allocateGivesZeroedRowMajorMemoryOnACacheLine(int[] shape) {
        try (Arena arena = Arena.ofConfined()) {
            // a few allocations of odd sizes first, so that alignment is not luck
            arena.allocate(3);
            Tensor.allocate(arena, 5);
            Tensor t = Tensor.allocate(arena, shape);
            long count = product(shape);
            assertEquals(0, t.segment().address() % 64, "64-byte aligned");
            assertEquals(64, Tensor.ALIGNMENT);
            assertTrue(t.segment().byteSize() >= count * Float.BYTES, "room for every element");
            assertEquals(count, t.elementCount());
            assertArrayEquals(new float[(int) count], t.toArray(), 0f, "zero-filled");
            assertArrayEquals(shape, t.shape());
            assertEquals(shape.length, t.rank());
            assertEquals(shape[shape.length - 1], t.dim(shape.length - 1));
            long[] strides = t.strides();
            assertEquals(1, strides[shape.length - 1], "row-major: the last axis is dense");
            for (int d = 0; d + 1 < shape.length; d++) {
                assertEquals(strides[d + 1] * shape[d + 1], strides[d], "row-major stride of axis " + d);
            }
            assertEquals(0, t.byteOffset());
            assertTrue(t.isContiguous());
            assertTrue(t.isAlive());
        }
    }

    @Test
    void elementsAreRowMajor() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Tensor.allocate(arena, 2, 3, 4);
            t.set(7f, 1, 2, 3);
            t.set(5f, 0, 1, 0);
            float[] values = t.toArray();
            assertEquals(7f, values[(1 * 3 + 2) * 4 + 3]);
            assertEquals(5f, values[4]);
            assertEquals(7f, t.getFlat(23));
            assertEquals(7f, t.segment().get(Tensor.FLOAT, 23L * Float.BYTES));
        }
    }

    @Test
    void shapeAndStridesAreDefensiveCopies() {
        try (Arena arena = Arena.ofConfined()) {
            int[] shape = {2, 3};
            Tensor t = Tensor.allocate(arena, shape);
            shape[0] = 99;
            t.shape()[1] = 99;
            t.strides()[0] = 99;
            assertArrayEquals(new int[] {2, 3}, t.shape());
            assertArrayEquals(new long[] {3, 1}, t.strides());
            assertTrue(t.hasShape(2, 3));
            assertFalse(t.hasShape(3, 2));
            assertEquals("Tensor[2, 3]", t.toString());
        }
    }

    // ---------------------------------------------------------------------------------------------
    // wrap
    // ---------------------------------------------------------------------------------------------

    @Test
    void wrappedArrayIsSharedNotCopied() {
        float[] data = {1, 2, 3, 4, 5, 6};
        Tensor t = Tensor.wrap(data, 2, 3);
        assertSame(data, t.segment().heapBase().orElseThrow(), "the tensor's memory is the array itself");
        t.set(42f, 1, 2);
        assertEquals(42f, data[5], "a write through the tensor shows in the array");
        data[0] = -7f;
        assertEquals(-7f, t.get(0, 0), "a write to the array shows in the tensor");
        t.fill(3f);
        assertArrayEquals(new float[] {3, 3, 3, 3, 3, 3}, data, 0f);
        t.copyFrom(new float[] {6, 5, 4, 3, 2, 1});
        assertArrayEquals(new float[] {6, 5, 4, 3, 2, 1}, data, 0f);
        float[] copy = t.toArray();
        copy[0] = 100f;
        assertEquals(6f, data[0], "toArray is a copy");
        assertTrue(t.isContiguous());
        assertTrue(t.isAlive(), "heap memory never goes away");
    }

    @Test
    void wrappedSegmentIsSharedNotCopied() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(6 * Float.BYTES);
            Tensor t = Tensor.wrap(segment, 3, 2);
            t.set(9f, 2, 1);
            assertEquals(9f, segment.get(Tensor.FLOAT, 5L * Float.BYTES));
            segment.set(Tensor.FLOAT, 2L * Float.BYTES, -1f);
            assertEquals(-1f, t.get(1, 0));
            assertSame(segment, t.segment());
            // a larger segment is fine: the tensor uses its start
            Tensor small = Tensor.wrap(arena.allocate(100 * Float.BYTES), 2, 2);
            assertEquals(4, small.elementCount());
        }
    }

    @Test
    void wrapRejectsMismatchedSizes() {
        IllegalArgumentException array = assertThrows(IllegalArgumentException.class,
                () -> Tensor.wrap(new float[7], 2, 3));
        assertMentions(array, "7 floats", "[2, 3]", "6 elements");
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(20);
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(segment, 2, 3));
            assertMentions(small, "20 bytes", "[2, 3]", "24 bytes");
        }
        assertEquals("data", assertThrows(NullPointerException.class, () -> Tensor.wrap((float[]) null, 1))
                .getMessage());
        assertEquals("segment", assertThrows(NullPointerException.class, () -> Tensor.wrap((MemorySegment) null, 1))
                .getMessage());
    }

    // ---------------------------------------------------------------------------------------------
    // strided views
    // ---------------------------------------------------------------------------------------------

    /** A 3x4 matrix 0..11 in row-major order, on the heap so the test can watch every float. */
    static float[] matrix3x4() {
        float[] m = new float[12];
        for (int i = 0; i < 12; i++) {
            m[i] = i;
        }
        return m;
    }

    @Test
    void transposedViewReadsAndWritesThroughItsStrides() {
        float[] data = matrix3x4();
        Tensor t = Tensor.view(MemorySegment.ofArray(data), 0, new int[] {4, 3}, new long[] {1, 4});
        for (int i = 0; i < 4; i++) {
            for (int j = 0; j < 3; j++) {
                assertEquals(data[j * 4 + i], t.get(i, j), "element (" + i + "," + j + ")");
            }
        }
        assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, t.toArray(), 0f, "row-major copy");
        assertEquals(9f, t.getFlat(5));
        t.set(100f, 3, 2);
        assertEquals(100f, data[2 * 4 + 3]);
        t.setFlat(0, -1f);
        assertEquals(-1f, data[0]);
        assertFalse(t.isContiguous());
        t.copyFrom(new float[] {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11});
        assertArrayEquals(new float[] {0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11}, data, 0f, "copyFrom follows the strides");
    }

    @Test
    void columnViewWithAnOffsetTouchesOnlyItsElements() {
        float[] data = matrix3x4();
        Tensor column = Tensor.view(MemorySegment.ofArray(data), 1, new int[] {3}, new long[] {4});
        assertArrayEquals(new float[] {1, 5, 9}, column.toArray(), 0f);
        assertEquals(4, column.byteOffset());
        assertFalse(column.isContiguous());
        column.fill(-2f);
        assertArrayEquals(new float[] {0, -2, 2, 3, 4, -2, 6, 7, 8, -2, 10, 11}, data, 0f, "only column 1 changed");
    }

    @Test
    void rowMajorViewWithAnOffsetIsContiguous() {
        float[] data = matrix3x4();
        Tensor rows = Tensor.view(MemorySegment.ofArray(data), 4, new int[] {2, 4}, new long[] {4, 1});
        assertTrue(rows.isContiguous());
        assertArrayEquals(new float[] {4, 5, 6, 7, 8, 9, 10, 11}, rows.toArray(), 0f);
        rows.copyFrom(new float[] {0, 0, 0, 0, 0, 0, 0, 1});
        assertArrayEquals(new float[] {0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 1}, data, 0f);
        assertEquals(1f, rows.get(1, 3));
    }

    @Test
    void reshapeViewsTheSameElementsWithoutCopying() {
        float[] data = matrix3x4();
        Tensor rows = Tensor.view(MemorySegment.ofArray(data), 4, new int[] {2, 4}, new long[] {4, 1});
        Tensor cube = rows.reshape(2, 2, 2, 1);
        assertArrayEquals(new int[] {2, 2, 2, 1}, cube.shape());
        assertEquals(11f, cube.get(1, 1, 1, 0));
        cube.set(-1f, 0, 1, 0, 0);
        assertEquals(-1f, data[6]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> rows.reshape(3, 3));
        assertEquals("shape [3, 3] cannot view the tensor of shape [2, 4]", e.getMessage());
        Tensor column = Tensor.view(MemorySegment.ofArray(data), 0, new int[] {3}, new long[] {4});
        e = assertThrows(IllegalArgumentException.class, () -> column.reshape(3, 1));
        assertEquals("shape [3, 1] cannot view the non-contiguous tensor of shape [3]", e.getMessage());
    }

    @Test
    void broadcastViewRepeatsARow() {
        float[] data = {1, 2};
        Tensor t = Tensor.view(MemorySegment.ofArray(data), 0, new int[] {3, 2}, new long[] {0, 1});
        assertArrayEquals(new float[] {1, 2, 1, 2, 1, 2}, t.toArray(), 0f);
        assertFalse(t.isContiguous());
    }

    @Test
    void contiguityFollowsTheStrides() {
        MemorySegment segment = MemorySegment.ofArray(new float[24]);
        assertTrue(Tensor.view(segment, 0, new int[] {2, 3, 4}, new long[] {12, 4, 1}).isContiguous());
        assertTrue(Tensor.view(segment, 5, new int[] {1}, new long[] {7}).isContiguous(), "one element");
        assertFalse(Tensor.view(segment, 0, new int[] {2, 3, 4}, new long[] {12, 1, 3}).isContiguous());
        assertFalse(Tensor.view(segment, 0, new int[] {2, 3}, new long[] {6, 2}).isContiguous(), "every other one");
    }

    static Stream<Arguments> badViews() {
        return Stream.of(
                Arguments.of("rank of strides", 0L, new int[] {2, 2}, new long[] {1}, List.of("[1]", "[2, 2]", "rank")),
                Arguments.of("negative offset", -1L, new int[] {2}, new long[] {1}, List.of("offset", "-1")),
                Arguments.of("negative stride", 0L, new int[] {2}, new long[] {-1}, List.of("strides", "[-1]")),
                Arguments.of("past the end", 1L, new int[] {3, 4}, new long[] {4, 1},
                        List.of("offset 1", "[3, 4]", "[4, 1]", "48 bytes")),
                Arguments.of("past the end by a stride", 0L, new int[] {2, 2}, new long[] {12, 1},
                        List.of("[12, 1]", "48 bytes")),
                Arguments.of("strides that overflow a long", 0L, new int[] {2, 2},
                        new long[] {Long.MAX_VALUE / 2, 1}, List.of("reaches past", "48 bytes")),
                Arguments.of("zero dimension", 0L, new int[] {0, 2}, new long[] {2, 1},
                        List.of("[0, 2]", "non-positive")));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("badViews")
    void viewRejectsBadLayouts(String what, long offset, int[] shape, long[] strides, List<String> says) {
        MemorySegment segment = MemorySegment.ofArray(new float[12]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> Tensor.view(segment, offset, shape, strides));
        assertMentions(e, says.toArray(String[]::new));
    }

    // ---------------------------------------------------------------------------------------------
    // use after close
    // ---------------------------------------------------------------------------------------------

    @Test
    void everyUseAfterTheArenaClosesFailsWithAClearMessage() {
        Arena arena = Arena.ofConfined();
        Tensor t = Tensor.allocate(arena, 2, 3);
        Tensor view = Tensor.view(t.segment(), 1, new int[] {2}, new long[] {3});
        arena.close();
        assertFalse(t.isAlive());
        assertFalse(view.isAlive());
        List<Executable> uses = List.of(
                () -> t.get(0, 0),
                () -> t.set(1f, 0, 0),
                () -> t.getFlat(0),
                () -> t.setFlat(0, 1f),
                t::toArray,
                () -> t.copyFrom(new float[6]),
                () -> t.fill(0f),
                view::toArray,
                () -> view.fill(1f));
        for (Executable use : uses) {
            IllegalStateException e = assertThrows(IllegalStateException.class, use);
            assertMentions(e, "released", "Arena is closed");
        }
        IllegalStateException named = assertThrows(IllegalStateException.class, () -> t.requireAlive("gradInput"));
        assertTrue(named.getMessage().startsWith("gradInput: "), named.getMessage());
        // what needs no memory still works
        assertArrayEquals(new int[] {2, 3}, t.shape());
        assertEquals(6, t.elementCount());
    }

    @Test
    void aTensorOnAnAlreadyClosedSegmentFailsOnFirstUse() {
        Arena arena = Arena.ofConfined();
        MemorySegment segment = arena.allocate(4 * Float.BYTES);
        arena.close();
        Tensor t = Tensor.wrap(segment, 2, 2);
        assertMentions(assertThrows(IllegalStateException.class, () -> t.get(1, 1)), "released");
    }

    // ---------------------------------------------------------------------------------------------
    // bad shapes and indices
    // ---------------------------------------------------------------------------------------------

    static Stream<int[]> nonPositiveShapes() {
        return Stream.of(new int[] {0}, new int[] {2, 0, 3}, new int[] {-1, 4}, new int[] {1, 1, 1, -5});
    }

    @ParameterizedTest
    @MethodSource("nonPositiveShapes")
    void nonPositiveDimensionsAreRejected(int[] shape) {
        String printed = java.util.Arrays.toString(shape);
        try (Arena arena = Arena.ofConfined()) {
            for (Executable create : List.<Executable>of(
                    () -> Tensor.allocate(arena, shape),
                    () -> Tensor.wrap(new float[4], shape),
                    () -> Tensor.wrap(arena.allocate(64), shape))) {
                assertMentions(assertThrows(IllegalArgumentException.class, create), printed, "non-positive");
            }
        }
    }

    /** Shapes whose size overflows: rejected up front, not a 0-byte tensor or an ArithmeticException. */
    @Test
    void shapesTooLargeForMemoryAreRejected() {
        try (Arena arena = Arena.ofConfined()) {
            int big = 1 << 30;
            // 2^62 elements: the element count fits in a long, the byte count does not
            assertMentions(assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena, big, big, 4)),
                    "[1073741824, 1073741824, 4]");
            assertMentions(assertThrows(IllegalArgumentException.class,
                    () -> Tensor.wrap(arena.allocate(16), big, big, 4)), "[1073741824, 1073741824, 4]");
            // the element count itself overflows
            int max = Integer.MAX_VALUE;
            assertMentions(assertThrows(IllegalArgumentException.class, () -> Tensor.allocate(arena, max, max, max)),
                    "[2147483647, 2147483647, 2147483647]");
        }
    }

    @Test
    void nullShapeAndArenaAreRejected() {
        assertEquals("shape", assertThrows(NullPointerException.class, () -> Tensor.wrap(new float[1], (int[]) null))
                .getMessage());
        assertEquals("arena", assertThrows(NullPointerException.class, () -> Tensor.allocate(null, 1)).getMessage());
    }

    @Test
    void badIndicesAreRejectedWithTheIndexAndShape() {
        Tensor t = Tensor.wrap(new float[6], 2, 3);
        assertMentions(assertThrows(IndexOutOfBoundsException.class, () -> t.get(2, 0)), "[2, 0]", "[2, 3]");
        assertMentions(assertThrows(IndexOutOfBoundsException.class, () -> t.set(1f, 0, -1)), "[0, -1]", "[2, 3]");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> t.get(1)), "[1]", "rank 1", "[2, 3]");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> t.copyFrom(new float[5])), "5 floats",
                "[2, 3]");
    }

    // ---------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------

    static void assertMentions(Throwable e, String... fragments) {
        String message = e.getMessage();
        assertNotNull(message, e + " has no message");
        for (String fragment : fragments) {
            assertTrue(message.contains(fragment), "message should mention \"" + fragment + "\": " + message);
        }
    }

    static long product(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

}
