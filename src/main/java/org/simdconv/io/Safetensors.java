package org.simdconv.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.simdconv.tensor.Tensor;

/**
 * Reads and writes {@code .safetensors} files, the weight format of the Hugging Face ecosystem,
 * which PyTorch reads and writes with the {@code safetensors} package:
 * <ol>
 *   <li>the header's size {@code n}, an unsigned 64-bit little-endian integer;</li>
 *   <li>the header, {@code n} bytes of UTF-8 JSON (padded with spaces): an object mapping each
 *       tensor's name to {@code {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}},
 *       and an optional {@code "__metadata__"} object of strings;</li>
 *   <li>the data: each tensor's elements, row-major, little-endian, at bytes {@code [begin, end)}
 *       counted from the end of the header, the tensors back to back with no gap.</li>
 * </ol>
 *
 * <p><b>Reading is strict</b>, and checks the whole header before it allocates anything: the size
 * field within the file and at most {@value #MAX_HEADER_BYTES} bytes (the {@code safetensors}
 * package's limit), well-formed UTF-8 and JSON, no repeated name, exactly the three fields per
 * tensor, dtype {@code F32} (the only one simdconv computes in), a shape whose size matches its
 * offsets, offsets inside the data, and the tensors covering the data exactly, without overlap or
 * hole. Any failure is a {@link FormatException} whose one-line message names the file and the
 * tensor. <b>Writing</b> goes through {@link AtomicFile}: a crash leaves the old file or the new one.
 */
public final class Safetensors {

    /** The {@code safetensors} package refuses larger headers; so does this reader. */
    public static final long MAX_HEADER_BYTES = 100_000_000;

    private static final String METADATA = "__metadata__";
    private static final String F32 = "F32";
    private static final Set<String> FIELDS = Set.of("dtype", "shape", "data_offsets");
    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** A file that is not a {@code .safetensors} file this class reads. The message names the file. */
    public static final class FormatException extends IOException {
        FormatException(Path file, String problem) {
            super(file + ": " + problem);
        }
    }

    /**
     * What a file holds.
     *
     * @param tensors  the tensors by name, in the order of the header
     * @param metadata the {@code __metadata__} strings (empty when there are none)
     */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {
        public Contents {
            tensors = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(tensors));
            metadata = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    /** One tensor's entry in the header. */
    private record Entry(String name, int[] shape, long begin, long end) {
    }

    private Safetensors() {
    }

    /**
     * Reads every tensor of {@code file} into new plain tensors allocated in {@code arena}.
     *
     * @throws FormatException if the file is not a well-formed {@code .safetensors} file of F32 tensors
     * @throws IOException     if the file cannot be read
     */
    public static Contents read(Path file, Arena arena) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(arena, "arena");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = channel.size();
            if (size < Long.BYTES) {
                throw new FormatException(file, "a file of " + size + " bytes cannot hold the 8-byte header size");
            }
            ByteBuffer sizeField = ByteBuffer.allocate(Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            readFully(channel, sizeField, 0, file);
            long headerBytes = sizeField.getLong(0);
            if (headerBytes < 2 || headerBytes > MAX_HEADER_BYTES) {
                throw new FormatException(file, "header size " + Long.toUnsignedString(headerBytes)
                        + " is not between 2 and " + MAX_HEADER_BYTES + " bytes");
            }
            if (headerBytes > size - Long.BYTES) {
                throw new FormatException(file, "header of " + headerBytes + " bytes runs past the end of the file ("
                        + size + " bytes)");
            }
            ByteBuffer headerBuffer = ByteBuffer.allocate((int) headerBytes);
            readFully(channel, headerBuffer, Long.BYTES, file);
            long dataStart = Long.BYTES + headerBytes, dataBytes = size - dataStart;
            Map<String, String> metadata = new LinkedHashMap<>();
            List<Entry> entries = parseHeader(file, decode(file, headerBuffer.flip()), dataBytes, metadata);

            Map<String, Tensor> tensors = new LinkedHashMap<>();
            try (Arena mapping = Arena.ofConfined()) {
                MemorySegment data = dataBytes == 0 ? MemorySegment.NULL
                        : channel.map(FileChannel.MapMode.READ_ONLY, dataStart, dataBytes, mapping);
                for (Entry e : entries) {
                    Tensor t = Tensor.allocate(arena, e.shape());
                    long count = (e.end() - e.begin()) / Float.BYTES;
                    if (count > 0) {
                        MemorySegment.copy(data, LE_FLOAT, e.begin(), t.segment(), Tensor.FLOAT, t.byteOffset(),
                                count);
                    }
                    tensors.put(e.name(), t);
                }
            }
            return new Contents(tensors, metadata);
        }
    }

    /**
     * Writes {@code tensors} (any layout: the elements go in logical row-major order) and {@code
     * metadata} to {@code file}, replacing it whole, or leaving it as it was on failure.
     */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata)
            throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensors, "tensors");
        Objects.requireNonNull(metadata, "metadata");
        StringBuilder header = new StringBuilder("{");
        if (!metadata.isEmpty()) {
            header.append(Json.quote(METADATA)).append(":{");
            boolean first = true;
            for (Map.Entry<String, String> m : metadata.entrySet()) {
                header.append(first ? "" : ",").append(Json.quote(m.getKey())).append(':')
                        .append(Json.quote(Objects.requireNonNull(m.getValue(), "metadata value")));
                first = false;
            }
            header.append('}');
        }
        long offset = 0;
        for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
            if (e.getKey().equals(METADATA)) {
                throw new IllegalArgumentException("a tensor cannot be named " + METADATA);
            }
            Tensor t = e.getValue();
            t.requireAlive("tensor " + e.getKey());
            long bytes = t.elementCount() * Float.BYTES;
            header.append(header.length() > 1 ? "," : "").append(Json.quote(e.getKey()))
                    .append(":{\"dtype\":\"F32\",\"shape\":").append(Arrays.toString(t.shape()).replace(" ", ""))
                    .append(",\"data_offsets\":[").append(offset).append(',').append(offset + bytes).append("]}");
            offset += bytes;
        }
        header.append('}');
        byte[] text = header.toString().getBytes(StandardCharsets.UTF_8);
        int padded = Math.ceilDiv(text.length, 8) * 8; // the safetensors package aligns the data to 8 bytes
        ByteBuffer head = ByteBuffer.allocate(Long.BYTES + padded).order(ByteOrder.LITTLE_ENDIAN);
        head.putLong(padded).put(text);
        while (head.hasRemaining()) {
            head.put((byte) ' ');
        }
        AtomicFile.write(file, channel -> {
            AtomicFile.writeFully(channel, head.flip());
            for (Tensor t : tensors.values()) {
                writeElements(channel, t);
            }
        });
    }

    private static void writeElements(FileChannel channel, Tensor t) throws IOException {
        int chunk = 1 << 18;
        ByteBuffer buffer = ByteBuffer.allocate(chunk * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        long count = t.elementCount();
        for (long first = 0; first < count; first += chunk) {
            int n = (int) Math.min(chunk, count - first);
            buffer.clear();
            if (t.layout().isPlain() && t.isContiguous()) {
                MemorySegment.copy(t.segment(), Tensor.FLOAT, t.byteOffset() + first * Float.BYTES,
                        MemorySegment.ofBuffer(buffer), LE_FLOAT, 0, n);
            } else {
                for (int i = 0; i < n; i++) {
                    buffer.putFloat(i * Float.BYTES, t.getFlat(first + i));
                }
            }
            buffer.limit(n * Float.BYTES);
            AtomicFile.writeFully(channel, buffer);
        }
    }

    private static String decode(Path file, ByteBuffer bytes) throws FormatException {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new FormatException(file, "the header is not valid UTF-8");
        }
    }

    /** Every entry of the header, checked, sorted by where its data starts. */
    private static List<Entry> parseHeader(Path file, String text, long dataBytes, Map<String, String> metadata)
            throws FormatException {
        Object root;
        try {
            root = Json.parse(text);
        } catch (IllegalArgumentException e) {
            throw new FormatException(file, "header: " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> top)) {
            throw new FormatException(file, "the header is not a JSON object");
        }
        List<Entry> entries = new ArrayList<>();
        for (Map.Entry<?, ?> item : top.entrySet()) {
            String name = (String) item.getKey();
            if (name.equals(METADATA)) {
                if (!(item.getValue() instanceof Map<?, ?> m)) {
                    throw new FormatException(file, METADATA + " is not an object");
                }
                for (Map.Entry<?, ?> kv : m.entrySet()) {
                    if (!(kv.getValue() instanceof String value)) {
                        throw new FormatException(file, METADATA + " value of " + kv.getKey() + " is not a string");
                    }
                    metadata.put((String) kv.getKey(), value);
                }
                continue;
            }
            entries.add(entry(file, name, item.getValue(), dataBytes));
        }
        entries.sort(Comparator.comparingLong(Entry::begin).thenComparingLong(Entry::end));
        long expected = 0;
        for (Entry e : entries) {
            if (e.begin() != expected) {
                throw new FormatException(file, "tensor '" + e.name() + "' starts at data byte " + e.begin()
                        + (e.begin() < expected ? ", inside the tensor before it (ending at " + expected + ")"
                        : ", leaving bytes " + expected + ".." + e.begin() + " unused"));
            }
            expected = e.end();
        }
        if (expected != dataBytes) {
            throw new FormatException(file, "the tensors cover " + expected + " bytes of data, but the file holds "
                    + dataBytes);
        }
        return entries;
    }

    private static Entry entry(Path file, String name, Object value, long dataBytes) throws FormatException {
        String what = "tensor '" + name + "'";
        if (!(value instanceof Map<?, ?> fields)) {
            throw new FormatException(file, what + ": its entry is not an object");
        }
        if (!fields.keySet().equals(FIELDS)) {
            throw new FormatException(file, what + ": needs exactly the fields " + FIELDS + ", has " + fields.keySet());
        }
        if (!F32.equals(fields.get("dtype"))) {
            throw new FormatException(file, what + ": dtype " + fields.get("dtype") + " is not supported (F32 only)");
        }
        if (!(fields.get("shape") instanceof List<?> dims)) {
            throw new FormatException(file, what + ": shape is not a list");
        }
        int[] shape = new int[dims.size()];
        long elements = 1;
        for (int i = 0; i < shape.length; i++) {
            if (!(dims.get(i) instanceof Long d) || d < 1 || d > Integer.MAX_VALUE) {
                throw new FormatException(file, what + ": shape " + dims + " has a dimension that is not an int >= 1");
            }
            shape[i] = (int) (long) d;
            if (elements > Long.MAX_VALUE / Float.BYTES / d) {
                throw new FormatException(file, what + ": shape " + dims + " has more elements than a file holds");
            }
            elements *= d;
        }
        if (!(fields.get("data_offsets") instanceof List<?> offsets) || offsets.size() != 2
                || !(offsets.get(0) instanceof Long begin) || !(offsets.get(1) instanceof Long end)) {
            throw new FormatException(file, what + ": data_offsets is not a list of two integers");
        }
        if (begin < 0 || end < begin || end > dataBytes) {
            throw new FormatException(file, what + ": data_offsets [" + begin + ", " + end
                    + "] are not within the " + dataBytes + " bytes of data");
        }
        if (end - begin != elements * Float.BYTES) {
            throw new FormatException(file, what + ": shape " + Arrays.toString(shape) + " needs "
                    + elements * Float.BYTES + " bytes, data_offsets give " + (end - begin));
        }
        return new Entry(name, shape, begin, end);
    }

    private static void readFully(FileChannel channel, ByteBuffer buffer, long position, Path file)
            throws IOException {
        long at = position;
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, at);
            if (n < 0) {
                throw new FormatException(file, "the file ends early");
            }
            at += n;
        }
    }
}
