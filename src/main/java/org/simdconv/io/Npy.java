package org.simdconv.io;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import org.simdconv.tensor.Tensor;

/**
 * Reads and writes NumPy {@code .npy} files as {@link Tensor}s.
 *
 * <p>The format, as NumPy defines it:
 * <ol>
 *   <li>the magic string {@code \x93NUMPY} (6 bytes);</li>
 *   <li>the version: one byte major, one byte minor (1.0, 2.0 or 3.0);</li>
 *   <li>the header length, little-endian: an unsigned 16-bit integer in version 1.0, an unsigned
 *       32-bit integer in 2.0 and 3.0;</li>
 *   <li>the header: a Python dict literal, Latin-1 (1.0, 2.0) or UTF-8 (3.0) text, padded with spaces
 *       and ended by {@code '\n'} so that the data starts at a multiple of 64 bytes, for example
 *       {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }};</li>
 *   <li>the data: the elements back to back, here in C (row-major) order.</li>
 * </ol>
 *
 * <p><b>Reading</b> accepts versions 1.0, 2.0 and 3.0; dtype {@code '<f4'} (float32) and {@code '<f8'}
 * (float64, rounded to the nearest float32), and {@code '=f4'}/{@code '=f8'} on little-endian machines;
 * C order only; any rank, a 0-d array {@code ()} giving a rank-0 tensor of one element; every
 * dimension positive. The file size must match the shape exactly; it is checked before any memory
 * is allocated.
 *
 * <p><b>Writing</b> produces what {@code numpy.save} writes for the same float32 (or float64) array,
 * byte for byte: version 1.0, dtype {@code '<f4'} ({@code '<f8'} for {@link #writeFloat64}), the
 * elements in row-major order whatever the tensor's strides. The file is written under a temporary
 * name in the same directory and then renamed, so a failed write never leaves a partial file, and
 * an existing file is either kept or replaced whole.
 *
 * <p><b>Errors.</b> A file that is not a supported {@code .npy} file fails with
 * {@link FormatException}, an {@link IOException}, whose message is {@code "<file>: <problem>"}, for
 * example {@code "x.npy: dtype '>f4' is not supported (need little-endian float32 '<f4' or float64
 * '<f8')"}. Failures of the file system itself (missing file, full disk) are the usual
 * {@link IOException}s of {@code java.nio.file}.
 */
public final class Npy {

    /** A file that is not a {@code .npy} file this class supports. The message names the file. */
    public static final class FormatException extends IOException {
        FormatException(Path file, String problem) {
            super(file + ": " + problem);
        }
    }

    /** The element types this class reads and writes. */
    private enum DType {
        F4("<f4", 4),
        F8("<f8", 8);

        final String descr;
        final int bytes;

        DType(String descr, int bytes) {
            this.descr = descr;
            this.bytes = bytes;
        }
    }

    /** What the reader needs from a header: where the data starts and how to interpret it. */
    private record Header(DType dtype, int[] shape, long dataOffset) {
    }

    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    /** NumPy aligns the start of the data to this many bytes, so the file can be memory-mapped. */
    private static final int ALIGNMENT = 64;
    /** numpy.save pads the header so the first dimension can grow to this many digits in place. */
    private static final int GROWTH_AXIS_MAX_DIGITS = 21;
    /**
     * Far above any header we accept (about 25 bytes per dimension); it stops a corrupt length
     * field from making us read gigabytes as text.
     */
    private static final long MAX_HEADER_BYTES = 1 << 20;
    /** Chunk size for reading straight into a tensor: a ByteBuffer view is limited to 2 GiB. */
    private static final long DIRECT_CHUNK_BYTES = 1L << 30;
    /** Size of the buffer used where elements must be converted one by one. */
    private static final int STAGING_BYTES = 1 << 20;

    private static final ValueLayout.OfFloat LE_FLOAT =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfDouble LE_DOUBLE =
            ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final boolean NATIVE_IS_LITTLE_ENDIAN = ByteOrder.nativeOrder() == ByteOrder.LITTLE_ENDIAN;

    private Npy() {
    }

    // ---------------------------------------------------------------- reading

    /**
     * Reads a float32 or float64 {@code .npy} file into a new contiguous tensor allocated in
     * {@code arena}.
     *
     * @throws FormatException if the file is not a {@code .npy} file or has a dtype, order or shape
     *                         this class does not support, or its size does not match its shape
     * @throws IOException     if the file cannot be read
     */
    public static Tensor read(Path file, Arena arena) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(arena, "arena");
        try (FileChannel channel = FileChannel.open(file, StandardOpenOption.READ)) {
            Header header = readHeader(file, channel);
            checkDataSize(file, header, channel.size());
            Tensor tensor;
            try {
                tensor = Tensor.allocate(arena, header.shape());
            } catch (IllegalArgumentException tooLarge) { // memory the machine cannot give
                throw new FormatException(file, tooLarge.getMessage());
            }
            if (header.dtype() == DType.F4) {
                readFloat32(file, channel, header.dataOffset(), tensor);
            } else {
                readFloat64(file, channel, header.dataOffset(), tensor);
            }
            return tensor;
        }
    }

    private static Header readHeader(Path file, FileChannel channel) throws IOException {
        long fileSize = channel.size();
        int major = readPreamble(file, channel, fileSize);
        // Version 1.0 stores the header length in 2 bytes; 2.0 and 3.0 need 4 for bigger headers.
        int lengthBytes = major == 1 ? 2 : 4;
        ByteBuffer lengthField = ByteBuffer.allocate(lengthBytes).order(ByteOrder.LITTLE_ENDIAN);
        readFully(file, channel, lengthField, MAGIC.length + 2, "header");
        long headerBytes = lengthBytes == 2
                ? Short.toUnsignedLong(lengthField.getShort(0))
                : Integer.toUnsignedLong(lengthField.getInt(0));
        long headerStart = MAGIC.length + 2 + lengthBytes;
        if (headerStart + headerBytes > fileSize) {
            throw new FormatException(file, "truncated header: it should be " + headerBytes
                    + " bytes, but the file ends after " + (fileSize - headerStart));
        }
        if (headerBytes > MAX_HEADER_BYTES) {
            throw new FormatException(file, "header length " + headerBytes + " is implausibly large (corrupt file?)");
        }
        ByteBuffer text = ByteBuffer.allocate((int) headerBytes);
        readFully(file, channel, text, headerStart, "header");
        // Version 3.0 exists only to allow UTF-8 (in structured dtype field names).
        Charset charset = major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1;
        String headerText = new String(text.array(), charset);
        return interpretHeader(file, headerText, headerStart + headerBytes);
    }

    /** Checks the magic string and version, and returns the major version (1, 2 or 3). */
    private static int readPreamble(Path file, FileChannel channel, long fileSize) throws IOException {
        if (fileSize < MAGIC.length) {
            throw notNpy(file);
        }
        ByteBuffer preamble = ByteBuffer.allocate((int) Math.min(fileSize, MAGIC.length + 2));
        readFully(file, channel, preamble, 0, "header");
        if (!Arrays.equals(preamble.array(), 0, MAGIC.length, MAGIC, 0, MAGIC.length)) {
            throw notNpy(file);
        }
        if (preamble.capacity() < MAGIC.length + 2) {
            throw new FormatException(file, "truncated header: the file ends inside the version bytes");
        }
        int major = Byte.toUnsignedInt(preamble.get(MAGIC.length));
        int minor = Byte.toUnsignedInt(preamble.get(MAGIC.length + 1));
        if (major < 1 || major > 3 || minor != 0) {
            throw new FormatException(file, ".npy format version " + major + "." + minor
                    + " is not supported (need 1.0, 2.0 or 3.0)");
        }
        return major;
    }

    private static FormatException notNpy(Path file) {
        return new FormatException(file, "not a .npy file (bad magic: it does not start with \\x93NUMPY)");
    }

    private static Header interpretHeader(Path file, String text, long dataOffset) throws FormatException {
        Object parsed = new LiteralParser(file, text).parseWhole();
        if (!(parsed instanceof Map<?, ?> dict)) {
            throw new FormatException(file, "header is not a dict: " + repr(parsed));
        }
        checkKeys(file, dict);
        DType dtype = dtypeOf(file, dict.get("descr"));
        checkCOrder(file, dict.get("fortran_order"));
        int[] shape = shapeOf(file, dict.get("shape"));
        return new Header(dtype, shape, dataOffset);
    }

    /** Like NumPy, requires exactly the three keys: anything else means a format we do not know. */
    private static void checkKeys(Path file, Map<?, ?> dict) throws FormatException {
        Set<String> expected = Set.of("descr", "fortran_order", "shape");
        for (String key : expected) {
            if (!dict.containsKey(key)) {
                throw new FormatException(file, "header has no '" + key + "' key: " + repr(dict));
            }
        }
        for (Object key : dict.keySet()) {
            if (!expected.contains(key)) {
                throw new FormatException(file, "header has an unexpected key " + repr(key)
                        + " (expected only 'descr', 'fortran_order' and 'shape')");
            }
        }
    }

    private static DType dtypeOf(Path file, Object descr) throws FormatException {
        if (descr instanceof String s) {
            // '=' means native byte order, which is '<' on a little-endian machine.
            String explicit = NATIVE_IS_LITTLE_ENDIAN && s.startsWith("=") ? "<" + s.substring(1) : s;
            for (DType dtype : DType.values()) {
                if (dtype.descr.equals(explicit)) {
                    return dtype;
                }
            }
        }
        throw new FormatException(file, "dtype " + repr(descr)
                + " is not supported (need little-endian float32 '<f4' or float64 '<f8')");
    }

    private static void checkCOrder(Path file, Object fortranOrder) throws FormatException {
        if (!(fortranOrder instanceof Boolean fortran)) {
            throw new FormatException(file, "fortran_order must be True or False, got " + repr(fortranOrder));
        }
        if (fortran) {
            throw new FormatException(file, "fortran_order: True is not supported (only C order;"
                    + " save the array with numpy.ascontiguousarray(a))");
        }
    }

    private static int[] shapeOf(Path file, Object value) throws FormatException {
        if (!(value instanceof Tuple tuple) || !tuple.items().stream().allMatch(Long.class::isInstance)) {
            throw new FormatException(file, "shape must be a tuple of integers, got " + repr(value));
        }
        int[] shape = new int[tuple.items().size()];
        for (int d = 0; d < shape.length; d++) {
            long dim = (Long) tuple.items().get(d);
            if (dim <= 0) {
                // A Tensor has at least one element along every axis, so an empty array has no Tensor.
                throw new FormatException(file, "shape " + repr(tuple) + " has a "
                        + (dim == 0 ? "zero-sized" : "negative") + " dimension; a Tensor needs every dimension >= 1");
            }
            if (dim > Integer.MAX_VALUE) {
                throw new FormatException(file, "shape " + repr(tuple) + " has a dimension too large for a Tensor (max "
                        + Integer.MAX_VALUE + ")");
            }
            shape[d] = (int) dim;
        }
        return shape;
    }

    /** Rejects a file whose data part is not exactly the size its header promises. */
    private static void checkDataSize(Path file, Header header, long fileSize) throws FormatException {
        long expected;
        try {
            long count = 1;
            for (int dim : header.shape()) {
                count = Math.multiplyExact(count, dim);
            }
            expected = Math.multiplyExact(count, header.dtype().bytes);
        } catch (ArithmeticException e) {
            throw new FormatException(file, "shape " + shapeRepr(header.shape()) + " is too large");
        }
        long actual = fileSize - header.dataOffset();
        String what = "shape " + shapeRepr(header.shape()) + " of '" + header.dtype().descr + "' needs "
                + expected + " data bytes";
        if (actual < expected) {
            throw new FormatException(file, "truncated data: " + what + ", the file has " + actual);
        }
        if (actual > expected) {
            throw new FormatException(file, (actual - expected) + " extra bytes after the data: " + what
                    + ", the file has " + actual);
        }
    }

    /** float32 needs no conversion: read the bytes straight into the tensor's memory. */
    private static void readFloat32(Path file, FileChannel channel, long dataOffset, Tensor tensor)
            throws IOException {
        // A freshly allocated tensor is contiguous from byte 0 of its segment.
        MemorySegment memory = tensor.segment();
        long total = tensor.elementCount() * Float.BYTES;
        for (long done = 0; done < total; done += DIRECT_CHUNK_BYTES) {
            long chunk = Math.min(DIRECT_CHUNK_BYTES, total - done);
            readFully(file, channel, memory.asSlice(done, chunk).asByteBuffer(), dataOffset + done, "data");
        }
        if (!NATIVE_IS_LITTLE_ENDIAN) {
            // The file is little-endian and Tensor.FLOAT is native: swap in place (copy allows overlap).
            MemorySegment.copy(memory, LE_FLOAT, 0, memory, Tensor.FLOAT, 0, tensor.elementCount());
        }
    }

    /** float64 must be narrowed element by element, so it goes through a small buffer. */
    private static void readFloat64(Path file, FileChannel channel, long dataOffset, Tensor tensor)
            throws IOException {
        MemorySegment memory = tensor.segment();
        byte[] staging = new byte[STAGING_BYTES];
        MemorySegment doubles = MemorySegment.ofArray(staging);
        long count = tensor.elementCount();
        int perChunk = STAGING_BYTES / Double.BYTES;
        for (long first = 0; first < count; first += perChunk) {
            int n = (int) Math.min(perChunk, count - first);
            readFully(file, channel, ByteBuffer.wrap(staging, 0, n * Double.BYTES),
                    dataOffset + first * Double.BYTES, "data");
            for (int i = 0; i < n; i++) {
                memory.setAtIndex(Tensor.FLOAT, first + i, (float) doubles.getAtIndex(LE_DOUBLE, i));
            }
        }
    }

    /** Fills {@code buffer} from {@code position}; the file ending first means it was truncated. */
    private static void readFully(Path file, FileChannel channel, ByteBuffer buffer, long position, String part)
            throws IOException {
        while (buffer.hasRemaining()) {
            int n = channel.read(buffer, position);
            if (n < 0) {
                throw new FormatException(file, "truncated " + part + ": the file ends at byte " + position);
            }
            position += n;
        }
    }

    // ---------------------------------------------------------------- writing

    /**
     * Writes {@code tensor} as a float32 ({@code '<f4'}) {@code .npy} file, replacing {@code file}
     * if it exists.
     *
     * @throws IllegalStateException if the tensor's arena is closed
     * @throws IOException           if the file cannot be written (then {@code file} is unchanged)
     */
    public static void write(Path file, Tensor tensor) throws IOException {
        write(file, tensor, DType.F4);
    }

    /**
     * Writes {@code tensor} as a float64 ({@code '<f8'}) {@code .npy} file, for tools that want
     * doubles; the values are exactly the float32 values widened.
     *
     * @see #write(Path, Tensor)
     */
    public static void writeFloat64(Path file, Tensor tensor) throws IOException {
        write(file, tensor, DType.F8);
    }

    private static void write(Path file, Tensor tensor, DType dtype) throws IOException {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(tensor, "tensor");
        tensor.requireAlive("tensor");
        byte[] header = encodeHeader(dtype, tensor.shape());
        AtomicFile.write(file, channel -> {
            AtomicFile.writeFully(channel, ByteBuffer.wrap(header));
            writeData(channel, tensor, dtype);
        });
    }

    /** The preamble and padded header, exactly as numpy.save (version 1.0) writes them. */
    private static byte[] encodeHeader(DType dtype, int[] shape) {
        String text = headerText(dtype, shape);
        if (text.length() > 0xFFFF) {
            throw new IllegalArgumentException("a tensor of rank " + shape.length
                    + " does not fit in a version 1.0 .npy header");
        }
        ByteBuffer out = ByteBuffer.allocate(MAGIC.length + 4 + text.length()).order(ByteOrder.LITTLE_ENDIAN);
        out.put(MAGIC).put((byte) 1).put((byte) 0).putShort((short) text.length());
        out.put(text.getBytes(StandardCharsets.ISO_8859_1));
        return out.array();
    }

    private static String headerText(DType dtype, int[] shape) {
        // NumPy writes the keys sorted, each as "'key': repr(value), ".
        String dict = "{'descr': '" + dtype.descr + "', 'fortran_order': False, 'shape': " + shapeRepr(shape) + ", }";
        if (shape.length > 0) {
            // Room for the first dimension to grow in place when data is appended.
            dict += " ".repeat(GROWTH_AXIS_MAX_DIGITS - Integer.toString(shape[0]).length());
        }
        int preamble = MAGIC.length + 2 + 2;
        int withNewline = dict.length() + 1;
        // NumPy's formula: it pads a full ALIGNMENT even when the header is already aligned.
        int padding = ALIGNMENT - (preamble + withNewline) % ALIGNMENT;
        return dict + " ".repeat(padding) + "\n";
    }

    /** Python's repr of a tuple of ints: {@code ()}, {@code (7,)}, {@code (2, 3)}. */
    private static String shapeRepr(int[] shape) {
        if (shape.length == 1) {
            return "(" + shape[0] + ",)";
        }
        StringBuilder out = new StringBuilder("(");
        for (int d = 0; d < shape.length; d++) {
            out.append(d == 0 ? "" : ", ").append(shape[d]);
        }
        return out.append(')').toString();
    }

    /** Writes the elements in row-major order, converted to little-endian {@code dtype}. */
    private static void writeData(FileChannel channel, Tensor tensor, DType dtype) throws IOException {
        byte[] staging = new byte[STAGING_BYTES];
        MemorySegment stage = MemorySegment.ofArray(staging);
        long count = tensor.elementCount();
        int perChunk = STAGING_BYTES / dtype.bytes;
        for (long first = 0; first < count; first += perChunk) {
            int n = (int) Math.min(perChunk, count - first);
            encode(tensor, dtype, first, n, stage);
            AtomicFile.writeFully(channel, ByteBuffer.wrap(staging, 0, n * dtype.bytes));
        }
    }

    /** Puts elements {@code first .. first+n-1} (row-major) of {@code tensor} into {@code stage}. */
    private static void encode(Tensor tensor, DType dtype, long first, int n, MemorySegment stage) {
        if (dtype == DType.F4 && tensor.isContiguous()) {
            // One bulk copy; it also swaps bytes if the machine is big-endian.
            MemorySegment.copy(tensor.segment(), Tensor.FLOAT, tensor.byteOffset() + first * Float.BYTES,
                    stage, LE_FLOAT, 0, n);
            return;
        }
        for (int i = 0; i < n; i++) {
            float value = tensor.getFlat(first + i);
            if (dtype == DType.F4) {
                stage.setAtIndex(LE_FLOAT, i, value);
            } else {
                stage.setAtIndex(LE_DOUBLE, i, value);
            }
        }
    }

    // ---------------------------------------------------------------- header parsing

    /** A Python tuple, kept apart from a list because the shape must be a tuple. */
    private record Tuple(List<Object> items) {
    }

    /** Python's None (a Java null would be ambiguous with "key absent"). */
    private static final Object NONE = new Object();

    /**
     * Parses the Python literals a header can hold: dicts, tuples, lists, strings, integers (with
     * Python 2's optional {@code L} suffix), True, False and None. Never evaluates anything.
     */
    private static final class LiteralParser {
        /** Deeper than any header (a dict holding a tuple: 2); it keeps a hostile header off the stack's end. */
        private static final int MAX_NESTING = 16;

        private final Path file;
        private final String text;
        private int pos;
        private int nesting;

        LiteralParser(Path file, String text) {
            this.file = file;
            this.text = text;
        }

        /** The single literal that makes up the text, surrounded by whitespace only. */
        Object parseWhole() throws FormatException {
            Object value = parseValue();
            skipSpace();
            if (pos < text.length()) {
                throw malformed("unexpected text after the dict");
            }
            return value;
        }

        private Object parseValue() throws FormatException {
            skipSpace();
            if (pos >= text.length()) {
                throw malformed("unexpected end");
            }
            char c = text.charAt(pos);
            if ((c == '{' || c == '(' || c == '[') && nesting == MAX_NESTING) {
                throw malformed("literals nested more than " + MAX_NESTING + " deep");
            }
            return switch (c) {
                case '{' -> nested(this::parseDict);
                case '(' -> nested(this::parseParenthesized);
                case '[' -> nested(this::parseList);
                case '\'', '"' -> parseString();
                default -> {
                    if (c == '-' || c == '+' || isAsciiDigit(c)) {
                        yield parseInteger();
                    }
                    if (Character.isLetter(c) || c == '_') {
                        yield parseName();
                    }
                    throw malformed("unexpected character '" + c + "'");
                }
            };
        }

        private interface Container {
            Object parse() throws FormatException;
        }

        private Object nested(Container container) throws FormatException {
            nesting++;
            try {
                return container.parse();
            } finally {
                nesting--;
            }
        }

        private Map<Object, Object> parseDict() throws FormatException {
            Map<Object, Object> dict = new LinkedHashMap<>();
            expect('{');
            while (!tryConsume('}')) {
                Object key = parseValue();
                expect(':');
                if (dict.put(key, parseValue()) != null) {
                    throw malformed("duplicate key " + repr(key));
                }
                if (!tryConsume(',')) {
                    expect('}');
                    break;
                }
            }
            return dict;
        }

        /** {@code (x)} is just x in Python; a comma, or nothing at all, makes a tuple. */
        private Object parseParenthesized() throws FormatException {
            expect('(');
            List<Object> items = new ArrayList<>();
            boolean sawComma = false;
            while (!tryConsume(')')) {
                items.add(parseValue());
                if (tryConsume(',')) {
                    sawComma = true;
                } else {
                    expect(')');
                    break;
                }
            }
            return items.size() == 1 && !sawComma ? items.get(0) : new Tuple(items);
        }

        private List<Object> parseList() throws FormatException {
            List<Object> items = new ArrayList<>();
            expect('[');
            while (!tryConsume(']')) {
                items.add(parseValue());
                if (!tryConsume(',')) {
                    expect(']');
                    break;
                }
            }
            return items;
        }

        private String parseString() throws FormatException {
            char quote = text.charAt(pos++);
            StringBuilder out = new StringBuilder();
            while (pos < text.length()) {
                char c = text.charAt(pos++);
                if (c == quote) {
                    return out.toString();
                }
                if (c == '\\' && pos < text.length()) {
                    c = text.charAt(pos++); // good enough for \' \" \\ ; dtype strings have no others
                }
                out.append(c);
            }
            throw malformed("unterminated string");
        }

        private Long parseInteger() throws FormatException {
            int start = pos;
            if (text.charAt(pos) == '-' || text.charAt(pos) == '+') {
                pos++;
            }
            while (pos < text.length() && isAsciiDigit(text.charAt(pos))) {
                pos++;
            }
            String digits = text.substring(start, pos);
            if (pos < text.length() && (text.charAt(pos) == 'L' || text.charAt(pos) == 'l')) {
                pos++; // Python 2 long, found in old version 1.0 files
            }
            try {
                return Long.parseLong(digits);
            } catch (NumberFormatException e) {
                throw malformed("bad integer '" + digits + "'");
            }
        }

        private Object parseName() throws FormatException {
            int start = pos;
            while (pos < text.length() && (Character.isLetterOrDigit(text.charAt(pos)) || text.charAt(pos) == '_')) {
                pos++;
            }
            String name = text.substring(start, pos);
            return switch (name) {
                case "True" -> Boolean.TRUE;
                case "False" -> Boolean.FALSE;
                case "None" -> NONE;
                default -> throw malformed("unexpected name '" + name + "'");
            };
        }

        private void expect(char c) throws FormatException {
            if (!tryConsume(c)) {
                throw malformed("expected '" + c + "'");
            }
        }

        private boolean tryConsume(char c) {
            skipSpace();
            if (pos < text.length() && text.charAt(pos) == c) {
                pos++;
                return true;
            }
            return false;
        }

        private static boolean isAsciiDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private void skipSpace() {
            while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
                pos++;
            }
        }

        private FormatException malformed(String problem) {
            String shown = text.strip();
            if (shown.length() > 200) {
                shown = shown.substring(0, 200) + "...";
            }
            return new FormatException(file, "malformed header: " + problem + " at character " + pos
                    + " of \"" + shown + "\"");
        }
    }

    /** Python-style rendering of a parsed value, for error messages. */
    private static String repr(Object value) {
        if (value instanceof String s) {
            return "'" + s + "'";
        }
        if (value instanceof Boolean b) {
            return b ? "True" : "False";
        }
        if (value instanceof Tuple t) {
            List<String> items = t.items().stream().map(Npy::repr).toList();
            return items.size() == 1 ? "(" + items.get(0) + ",)" : "(" + String.join(", ", items) + ")";
        }
        if (value instanceof List<?> list) {
            return "[" + String.join(", ", list.stream().map(Npy::repr).toList()) + "]";
        }
        if (value instanceof Map<?, ?> map) {
            List<String> entries = map.entrySet().stream()
                    .map(e -> repr(e.getKey()) + ": " + repr(e.getValue())).toList();
            return "{" + String.join(", ", entries) + "}";
        }
        return value == NONE ? "None" : String.valueOf(value);
    }
}
