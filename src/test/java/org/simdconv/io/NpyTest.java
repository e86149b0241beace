package org.simdconv.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.simdconv.tensor.Tensor;

class NpyTest {

    @TempDir
    Path dir;

    private Arena arena;

    @BeforeEach
    void openArena() {
        arena = Arena.ofConfined();
    }

    @AfterEach
    void closeArena() {
        arena.close();
    }

    // ------------------------------------------------------------ round trips

    @Test
    void roundTripShape1() throws IOException {
        assertRoundTrip(1);
    }

    @Test
    void roundTripShape7() throws IOException {
        assertRoundTrip(7);
    }

    @Test
    void roundTripShape2x3() throws IOException {
        assertRoundTrip(2, 3);
    }

    @Test
    void roundTripShape2x3x4x5() throws IOException {
        assertRoundTrip(2, 3, 4, 5);
    }

    @Test
    void roundTripRank0() throws IOException {
        Tensor scalar = Tensor.allocate(arena).fill(2.5f);
        Path file = dir.resolve("scalar.npy");
        Npy.write(file, scalar);

        assertTrue(headerOf(file).startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (), }"));
        Tensor back = Npy.read(file, arena);
        assertEquals(0, back.rank());
        assertArrayEquals(new float[] {2.5f}, back.toArray());
    }

    @Test
    void roundTripKeepsSpecialValuesBitForBit() throws IOException {
        float[] values = {Float.NaN, -0.0f, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
            Float.MIN_VALUE, Float.MAX_VALUE, Float.intBitsToFloat(0x7fc00001)};
        Path file = dir.resolve("special.npy");
        Npy.write(file, Tensor.wrap(values.clone(), values.length));

        float[] back = Npy.read(file, arena).toArray();
        for (int i = 0; i < values.length; i++) {
            assertEquals(Float.floatToRawIntBits(values[i]), Float.floatToRawIntBits(back[i]), "element " + i);
        }
    }

    @Test
    void heapBackedTensorIsWrittenLikeANativeOne() throws IOException {
        float[] values = {1, 2, 3, 4, 5, 6};
        Path fromHeap = dir.resolve("heap.npy");
        Path fromNative = dir.resolve("native.npy");
        Npy.write(fromHeap, Tensor.wrap(values, 2, 3));
        Npy.write(fromNative, Tensor.allocate(arena, 2, 3).copyFrom(values));

        assertArrayEquals(Files.readAllBytes(fromNative), Files.readAllBytes(fromHeap));
    }

    @Test
    void writeFloat64RoundTripsThroughTheFloat64Reader() throws IOException {
        float[] values = {0.1f, -3.25f, 1e-30f, 7f};
        Path file = dir.resolve("f8.npy");
        Npy.writeFloat64(file, Tensor.wrap(values.clone(), 2, 2));

        assertTrue(headerOf(file).startsWith("{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }"));
        assertEquals(128 + 4 * Double.BYTES, Files.size(file));
        Tensor back = Npy.read(file, arena);
        assertArrayEquals(new int[] {2, 2}, back.shape());
        assertArrayEquals(values, back.toArray());
    }

    // ------------------------------------------------------------ reading hand-made files

    @Test
    void readsFloat64AndRoundsToFloat32() throws IOException {
        double[] values = {0.1, -2.5, 1e300, 1.0 / 3};
        ByteBuffer data = ByteBuffer.allocate(values.length * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            data.putDouble(v);
        }
        Path file = npy("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 2), }", data.array());

        Tensor t = Npy.read(file, arena);

        assertArrayEquals(new int[] {2, 2}, t.shape());
        assertArrayEquals(new float[] {0.1f, -2.5f, Float.POSITIVE_INFINITY, (float) (1.0 / 3)}, t.toArray());
    }

    @Test
    void readsVersion2And3Headers() throws IOException {
        String header = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
        byte[] data = floats(1f, 2f, 3f);
        for (int major : new int[] {2, 3}) {
            Tensor t = Npy.read(npy("v" + major + ".npy", major, header, data), arena);
            assertArrayEquals(new float[] {1f, 2f, 3f}, t.toArray(), "version " + major);
        }
    }

    @Test
    void readsHeadersWrittenInOtherStyles() throws IOException {
        // Double quotes, another key order, no trailing comma, Python 2 longs, odd spacing.
        String header = "{ \"shape\" : (2L,3L) , \"descr\":\"<f4\",\"fortran_order\":False}";
        Tensor t = Npy.read(npy("style.npy", 1, header, floats(1, 2, 3, 4, 5, 6)), arena);

        assertArrayEquals(new int[] {2, 3}, t.shape());
        assertEquals(6f, t.get(1, 2));
    }

    @Test
    void readsNativeOrderDtypeOnLittleEndianMachines() throws IOException {
        assumeTrue(ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN);
        Path file = npy("native.npy", 1, "{'descr': '=f4', 'fortran_order': False, 'shape': (2,), }", floats(4, 5));

        assertArrayEquals(new float[] {4f, 5f}, Npy.read(file, arena).toArray());
    }

    // ------------------------------------------------------------ rejections

    @Test
    void rejectsBigEndian() throws IOException {
        assertRejected(npyWithDescr("'>f4'", 4), "dtype '>f4' is not supported");
    }

    @Test
    void rejectsOtherDtypes() throws IOException {
        assertRejected(npyWithDescr("'<i4'", 4), "'<i4'");
        assertRejected(npyWithDescr("'|u1'", 1), "'|u1'");
        assertRejected(npyWithDescr("'<f2'", 2), "'<f2'");
        assertRejected(npyWithDescr("'>f8'", 8), "'>f8'");
    }

    @Test
    void rejectsStructuredDtype() throws IOException {
        assertRejected(npyWithDescr("[('x', '<f4')]", 4), "dtype [('x', '<f4')] is not supported");
    }

    @Test
    void rejectsFortranOrder() throws IOException {
        Path file = npy("f.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", floats(new float[6]));
        assertRejected(file, "fortran_order");
    }

    @Test
    void rejectsBadMagic() throws IOException {
        Path file = dir.resolve("text.npy");
        Files.writeString(file, "just some text, not an array");
        assertRejected(file, "\\x93NUMPY");
    }

    @Test
    void rejectsEmptyFile() throws IOException {
        Path file = Files.createFile(dir.resolve("empty.npy"));
        assertRejected(file, "not a .npy file");
    }

    @Test
    void rejectsUnknownVersion() throws IOException {
        Path file = npy("v4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", floats(1));
        byte[] bytes = Files.readAllBytes(file);
        bytes[6] = 4;
        Files.write(file, bytes);
        assertRejected(file, "version 4.0");
    }

    @Test
    void rejectsTruncatedData() throws IOException {
        Path file = npy("short.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", floats(1, 2, 3, 4, 5));
        assertRejected(file, "truncated data");
    }

    @Test
    void rejectsTruncatedHeader() throws IOException {
        Path file = npy("cut.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", new byte[0]);
        byte[] bytes = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(bytes, 30));
        assertRejected(file, "truncated header");
    }

    @Test
    void rejectsExtraBytesAfterData() throws IOException {
        Path file = npy("long.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", floats(1, 2, 3));
        assertRejected(file, "4 extra bytes");
    }

    @Test
    void rejectsHugeShapeBeforeAllocating() throws IOException {
        // 4 * 10^15 bytes of data claimed, 4 bytes present: must fail on the size check, not on allocation.
        Path file = npy("huge.npy", 1,
                "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000, 100000), }", floats(1));
        assertRejected(file, "truncated data");
    }

    @Test
    void rejectsMalformedHeaders() throws IOException {
        assertRejected(npy("m1.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3}", floats(new float[6])),
                "malformed header");
        assertRejected(npy("m2.npy", 1, "{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}", floats(1, 2)),
                "malformed header");
        assertRejected(npy("m3.npy", 1, "{'descr': '<f4', 'fortran_order': false, 'shape': (2,)}", floats(1, 2)),
                "malformed header");
        assertRejected(npy("m4.npy", 1, "__import__('os').system('true')", floats(1, 2)), "malformed header");
    }

    @Test
    void rejectsHeaderThatIsNotADict() throws IOException {
        assertRejected(npy("list.npy", 1, "['<f4', False, (2,)]", floats(1, 2)), "header is not a dict");
    }

    @Test
    void rejectsMissingAndUnexpectedKeys() throws IOException {
        assertRejected(npy("k1.npy", 1, "{'descr': '<f4', 'fortran_order': False}", floats(1)), "no 'shape' key");
        assertRejected(npy("k2.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", floats(1)),
                "unexpected key 'x'");
    }

    @Test
    void rejectsZeroSizedAndNegativeDimensions() throws IOException {
        assertRejected(npy("zero.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", new byte[0]),
                "shape (0, 3) has a zero-sized dimension");
        assertRejected(npy("neg.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", new byte[0]),
                "negative dimension");
    }

    @Test
    void rejectsShapeThatIsNotATupleOfIntegers() throws IOException {
        // (3) is the integer 3 in Python, not a tuple.
        assertRejected(npy("s1.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3), }", floats(1, 2, 3)),
                "shape must be a tuple of integers, got 3");
        assertRejected(npy("s2.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': [3], }", floats(1, 2, 3)),
                "shape must be a tuple of integers, got [3]");
    }

    @Test
    void rejectsDimensionTooLargeForATensor() throws IOException {
        Path file = npy("big.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3000000000,), }", floats(1));
        assertRejected(file, "too large for a Tensor");
    }

    @Test
    void missingFileIsAPlainIoErrorNotAFormatError() {
        assertThrows(NoSuchFileException.class, () -> Npy.read(dir.resolve("absent.npy"), arena));
    }

    // ------------------------------------------------------------ writing

    @Test
    void headerMatchesNumpySaveAndAlignsDataTo64Bytes() throws IOException {
        Path file = dir.resolve("a.npy");
        Npy.write(file, Tensor.allocate(arena, 2, 3));
        byte[] bytes = Files.readAllBytes(file);

        assertArrayEquals(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0}, Arrays.copyOf(bytes, 8));
        int headerLength = ByteBuffer.wrap(bytes, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xFFFF;
        assertEquals(0, (10 + headerLength) % 64, "data offset must be a multiple of 64");
        assertEquals(10 + headerLength + 6 * Float.BYTES, bytes.length);
        // What numpy.save(f, np.zeros((2, 3), np.float32)) writes (NumPy 2.4), padding included.
        String numpyHeader = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
                + " ".repeat(58) + "\n";
        assertEquals(numpyHeader, headerOf(file));
    }

    @Test
    void oneDimensionalShapeIsWrittenAsAOneTuple() throws IOException {
        Path file = dir.resolve("v.npy");
        Npy.write(file, Tensor.allocate(arena, 7));

        assertTrue(headerOf(file).startsWith("{'descr': '<f4', 'fortran_order': False, 'shape': (7,), }"));
        assertTrue(headerOf(file).endsWith(" \n"));
    }

    @Test
    void headerStaysAlignedWhateverItsLength() throws IOException {
        // Ranks 1..24 of ones, and a long first dimension: the unpadded header length sweeps
        // across several multiples of 64.
        List<int[]> shapes = new ArrayList<>();
        for (int rank = 1; rank <= 24; rank++) {
            int[] ones = new int[rank];
            Arrays.fill(ones, 1);
            shapes.add(ones);
        }
        shapes.add(new int[] {1_000_000});
        for (int[] shape : shapes) {
            Path file = dir.resolve("s.npy");
            Npy.write(file, Tensor.allocate(arena, shape));

            String header = headerOf(file);
            assertEquals(0, (10 + header.length()) % 64, Arrays.toString(shape));
            assertTrue(header.endsWith(" \n"), Arrays.toString(shape));
            assertArrayEquals(shape, Npy.read(file, arena).shape());
        }
    }

    @Test
    void alreadyAlignedHeaderGetsAFullBlockOfPaddingLikeNumpy() throws IOException {
        // For 36 ones the unpadded header ends exactly on a 64-byte boundary; numpy.save still
        // adds 64 bytes of padding (header length 246, not 182). Checked against NumPy 2.4.
        int[] shape = new int[36];
        Arrays.fill(shape, 1);
        Path file = dir.resolve("ones.npy");
        Npy.write(file, Tensor.allocate(arena, shape));

        assertEquals(246, headerOf(file).length());
    }

    @Test
    void nonContiguousViewIsWrittenInRowMajorOrder() throws IOException {
        // [[0, 1, 2], [3, 4, 5]] seen transposed: [[0, 3], [1, 4], [2, 5]].
        Tensor base = Tensor.wrap(new float[] {0, 1, 2, 3, 4, 5}, 2, 3);
        Tensor transposed = Tensor.view(base.segment(), 0, new int[] {3, 2}, new long[] {1, 3});
        Path file = dir.resolve("t.npy");
        Npy.write(file, transposed);

        Tensor back = Npy.read(file, arena);
        assertArrayEquals(new int[] {3, 2}, back.shape());
        assertArrayEquals(new float[] {0, 3, 1, 4, 2, 5}, back.toArray());
    }

    @Test
    void strideViewWithOffsetIsWrittenInRowMajorOrder() throws IOException {
        // Column 1 of [[0, 1, 2], [3, 4, 5]].
        Tensor base = Tensor.allocate(arena, 2, 3).copyFrom(new float[] {0, 1, 2, 3, 4, 5});
        Tensor column = Tensor.view(base.segment(), 1, new int[] {2}, new long[] {3});
        Path file = dir.resolve("c.npy");
        Npy.writeFloat64(file, column);
        Npy.write(dir.resolve("c4.npy"), column);

        assertArrayEquals(new float[] {1, 4}, Npy.read(file, arena).toArray());
        assertArrayEquals(new float[] {1, 4}, Npy.read(dir.resolve("c4.npy"), arena).toArray());
    }

    @Test
    void writeReplacesAnExistingFileAndLeavesNoTemporaryFile() throws IOException {
        Path file = dir.resolve("r.npy");
        Npy.write(file, Tensor.wrap(new float[] {1, 2, 3}, 3));
        Npy.write(file, Tensor.wrap(new float[] {9, 8}, 2));

        assertArrayEquals(new float[] {9, 8}, Npy.read(file, arena).toArray());
        assertEquals(List.of(file), listDir());
    }

    @Test
    void failedWriteKeepsTheOldFile() throws IOException {
        Path file = dir.resolve("keep.npy");
        Npy.write(file, Tensor.wrap(new float[] {1, 2}, 2));
        Tensor dead;
        try (Arena closed = Arena.ofConfined()) {
            dead = Tensor.allocate(closed, 4);
        }

        assertThrows(IllegalStateException.class, () -> Npy.write(file, dead));
        assertArrayEquals(new float[] {1, 2}, Npy.read(file, arena).toArray());
        assertEquals(List.of(file), listDir());
    }

    @Test
    void writeIntoAMissingDirectoryFailsAndCreatesNothing() {
        Path file = dir.resolve("missing").resolve("x.npy");

        assertThrows(NoSuchFileException.class, () -> Npy.write(file, Tensor.wrap(new float[] {1}, 1)));
        assertFalse(Files.exists(dir.resolve("missing")));
    }

    // ------------------------------------------------------------ helpers

    private void assertRoundTrip(int... shape) throws IOException {
        Tensor original = Tensor.allocate(arena, shape);
        long count = original.elementCount();
        for (long i = 0; i < count; i++) {
            original.setFlat(i, (i % 2 == 0 ? 1 : -1) * (i * 0.37f + 0.5f));
        }
        Path file = dir.resolve("round.npy");
        Npy.write(file, original);

        Tensor back = Npy.read(file, arena);

        assertArrayEquals(shape, back.shape());
        assertTrue(back.isContiguous());
        assertArrayEquals(original.toArray(), back.toArray());
        assertEquals(128 + count * Float.BYTES, Files.size(file));
    }

    /** A header of deeply nested literals is refused before it reaches the end of the stack. */
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"(", "[", "{'a': "})
    void deeplyNestedHeadersAreRefused(String opener) throws IOException {
        String deep = opener.repeat(900_000 / opener.length()); // far past the stack of the old recursion
        Path file = npy("deep.npy", 2, "{'descr': '<f4', 'fortran_order': False, 'shape': " + deep, new byte[0]);
        assertRejected(file, "nested more than 16 deep");
    }

    /**
     * A file whose length really matches a header of 2^40 elements (a sparse file: 4 TiB that take
     * no disk) fails with the library's exception, naming the bytes, not with an OutOfMemoryError.
     */
    @Test
    void aTensorLargerThanTheMachineIsAClearError() throws IOException {
        Path file = npy("huge.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1048576, 1048576), }",
                new byte[0]);
        long dataOffset = Files.size(file);
        try (var raf = new java.io.RandomAccessFile(file.toFile(), "rw")) {
            raf.setLength(dataOffset + (1L << 42));
        } catch (IOException e) {
            assumeTrue(false, "this file system has no sparse 4 TiB files: " + e.getMessage());
        }
        assertRejected(file, "needs 4398046511104 bytes");
        Files.delete(file);
    }

    private void assertRejected(Path file, String problem) {
        Npy.FormatException e = assertThrows(Npy.FormatException.class, () -> Npy.read(file, arena));
        assertTrue(e.getMessage().startsWith(file + ": "), "message should name the file: " + e.getMessage());
        assertTrue(e.getMessage().contains(problem), "message should contain \"" + problem + "\": " + e.getMessage());
    }

    /** A hand-made file: magic, version, header length (u16 for 1.0, u32 after), header, data. */
    private Path npy(String name, int major, String header, byte[] data) throws IOException {
        byte[] headerBytes = (header + "\n").getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer length = ByteBuffer.allocate(major == 1 ? 2 : 4).order(ByteOrder.LITTLE_ENDIAN);
        if (major == 1) {
            length.putShort((short) headerBytes.length);
        } else {
            length.putInt(headerBytes.length);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
        out.write(length.array());
        out.write(headerBytes);
        out.write(data);
        Path file = dir.resolve(name);
        Files.write(file, out.toByteArray());
        return file;
    }

    /** A 1.0 file of shape (2,) with the given dtype literal and correctly sized data. */
    private Path npyWithDescr(String descr, int itemSize) throws IOException {
        String name = "d" + Integer.toHexString(descr.hashCode()) + ".npy";
        return npy(name, 1, "{'descr': " + descr + ", 'fortran_order': False, 'shape': (2,), }", new byte[2 * itemSize]);
    }

    private static byte[] floats(float... values) {
        ByteBuffer out = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            out.putFloat(v);
        }
        return out.array();
    }

    /** The header text of a version 1.0 file, padding and newline included. */
    private static String headerOf(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        int length = ByteBuffer.wrap(bytes, 8, 2).order(ByteOrder.LITTLE_ENDIAN).getShort() & 0xFFFF;
        return new String(bytes, 10, length, StandardCharsets.ISO_8859_1);
    }

    private List<Path> listDir() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.toList();
        }
    }
}
