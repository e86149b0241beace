package org.simdconv.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/** The {@code .safetensors} reader and writer: the format byte for byte, and every malformed file refused. */
class SafetensorsTest {

    @TempDir
    Path dir;

    /** A file as the PyTorch peer writes it: compact JSON, metadata first, padded with spaces to 8 bytes. */
    static byte[] file(String header, float... data) {
        byte[] text = header.getBytes(StandardCharsets.UTF_8);
        int padded = (text.length + 7) / 8 * 8;
        ByteBuffer b = ByteBuffer.allocate(8 + padded + 4 * data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(padded).put(text);
        for (int i = text.length; i < padded; i++) {
            b.put((byte) ' ');
        }
        for (float f : data) {
            b.putFloat(f);
        }
        return b.array();
    }

    private Path write(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    @Test
    void readsWhatPyTorchWrites() throws IOException {
        Path f = write("m.safetensors", file("{\"__metadata__\":{\"model\":\"seed-cnn\"},"
                + "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                + "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}", 1, 2, 3, 4, 5, 6, -1, 0.5f));
        try (Arena arena = Arena.ofConfined()) {
            Safetensors.Contents c = Safetensors.read(f, arena);
            assertEquals(List.of("0.weight", "0.bias"), List.copyOf(c.tensors().keySet()));
            assertArrayEquals(new int[] {2, 3}, c.tensors().get("0.weight").shape());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, c.tensors().get("0.weight").toArray());
            assertArrayEquals(new float[] {-1, 0.5f}, c.tensors().get("0.bias").toArray());
            assertEquals(Map.of("model", "seed-cnn"), c.metadata());
        }
    }

    @Test
    void writesTheSameBytesAndReadsThemBack() throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            tensors.put("0.weight", Tensor.allocate(arena, 2, 3).copyFrom(new float[] {1, 2, 3, 4, 5, 6}));
            tensors.put("0.bias", Tensor.allocate(arena, 2).copyFrom(new float[] {-1, 0.5f}));
            Path f = dir.resolve("out.safetensors");
            Safetensors.write(f, tensors, Map.of("model", "seed-cnn"));
            byte[] expected = file("{\"__metadata__\":{\"model\":\"seed-cnn\"},"
                    + "\"0.weight\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
                    + "\"0.bias\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[24,32]}}", 1, 2, 3, 4, 5, 6, -1,
                    0.5f);
            assertArrayEquals(expected, Files.readAllBytes(f));

            // A channel-blocked tensor is written in logical (row-major) order.
            Tensor blocked = Tensor.allocate(arena, Layout.channelBlocked(4), 1, 3, 2, 1);
            Tensor.allocate(arena, 1, 3, 2, 1).copyFrom(new float[] {1, 2, 3, 4, 5, 6}).copyTo(blocked);
            Safetensors.write(f, Map.of("x", blocked), Map.of());
            assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, Safetensors.read(f, arena).tensors().get("x").toArray());
        }
    }

    static Stream<String[]> malformed() {
        String w = "\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";
        return Stream.of(
                new String[] {"{" + w.replace("F32", "F16") + "}", "tensor 'w': dtype F16 is not supported"},
                new String[] {"{" + w.replace("[2]", "[3]") + "}", "tensor 'w': shape [3] needs 12 bytes"},
                new String[] {"{" + w.replace("[0,8]", "[0,12]") + "}", "are not within the 8 bytes of data"},
                new String[] {"{" + w.replace("[0,8]", "[4,8]").replace("[2]", "[1]") + "}", "leaving bytes 0..4 unused"},
                new String[] {"{" + w + "," + w.replace("\"w\"", "\"v\"") + "}", "starts at data byte 0, inside"},
                new String[] {"{" + w + "," + w + "}", "appears twice"},
                new String[] {"{" + w.replace("\"dtype\":\"F32\",", "") + "}", "needs exactly the fields"},
                new String[] {"{" + w.replace("}", ",\"extra\":1}") + "}", "needs exactly the fields"},
                new String[] {"{" + w.replace("[2]", "[-2]") + "}", "not an int >= 1"},
                new String[] {"{" + w.replace("[2]", "[2.0]") + "}", "only integers"},
                new String[] {"[1,2]", "not a JSON object"},
                new String[] {"{" + w, "malformed JSON"},
                new String[] {"{\"__metadata__\":{\"a\":1}," + w + "}", "is not a string"});
    }

    @Test
    void refusesMalformedHeadersWithOneLineNamingTheProblem() throws IOException {
        List<String[]> cases = malformed().toList();
        for (String[] c : cases) {
            Path f = write("bad.safetensors", file(c[0], 1, 2));
            Safetensors.FormatException e = assertThrows(Safetensors.FormatException.class,
                    () -> read(f), c[0]);
            assertTrue(e.getMessage().contains(c[1]), c[0] + " -> " + e.getMessage());
            assertTrue(e.getMessage().startsWith(f.toString()), e.getMessage());
            assertEquals(-1, e.getMessage().indexOf('\n'), "one line");
        }
    }

    @Test
    void refusesTruncatedAndOversizedFiles() throws IOException {
        byte[] good = file("{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 1, 2);
        assertMessage(write("a", new byte[5]), "cannot hold the 8-byte header size");
        assertMessage(write("b", java.util.Arrays.copyOf(good, 20)), "runs past the end of the file");
        assertMessage(write("c", java.util.Arrays.copyOf(good, good.length - 1)), "are not within the 7 bytes of data");
        assertMessage(write("d", java.util.Arrays.copyOf(good, good.length + 4)), "the file holds 12");
        byte[] huge = good.clone();
        ByteBuffer.wrap(huge).order(ByteOrder.LITTLE_ENDIAN).putLong(0, Long.MAX_VALUE);
        assertMessage(write("e", huge), "header size 9223372036854775807 is not between 2 and 100000000");
        byte[] notUtf8 = file("{\"wX\":1}");
        notUtf8[8 + 3] = (byte) 0xff; // the X

        assertMessage(write("f", notUtf8), "not valid UTF-8");
    }

    private void assertMessage(Path f, String part) {
        Safetensors.FormatException e = assertThrows(Safetensors.FormatException.class, () -> read(f));
        assertTrue(e.getMessage().contains(part), e.getMessage());
    }

    private static void read(Path f) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Safetensors.read(f, arena);
        }
    }

    /** A write that fails leaves the old file as it was and no temporary file behind. */
    @Test
    void aFailedWriteLeavesTheOldFile() throws IOException {
        Path f = write("keep.safetensors", file("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 7));
        byte[] before = Files.readAllBytes(f);
        Arena arena = Arena.ofConfined();
        Tensor released = Tensor.allocate(arena, 4);
        // The header is written from a live tensor, then its memory is gone when the data is copied.
        Map<String, Tensor> failing = new LinkedHashMap<>(Map.of("w", released)) {
            @Override
            public java.util.Collection<Tensor> values() {
                arena.close();
                return super.values();
            }
        };
        assertThrows(IllegalStateException.class, () -> Safetensors.write(f, failing, Map.of()));
        assertArrayEquals(before, Files.readAllBytes(f));
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(f), files.toList(), "no temporary file left");
        }
    }
}
