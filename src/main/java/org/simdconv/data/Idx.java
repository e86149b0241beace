package org.simdconv.data;

import java.io.BufferedInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * Reads IDX files, the format of MNIST and Fashion-MNIST, plain or gzipped (told apart by the gzip
 * magic number, not the name):
 * <pre>
 *   0x00 0x00, a type byte (0x08: unsigned bytes), the rank r
 *   r dimensions, each a 32-bit big-endian integer
 *   the data: the product of the dimensions, one byte each, row-major
 * </pre>
 * Strict: the magic, the type (unsigned bytes only: the images and labels of both data sets), the
 * rank (1 to 4), every dimension (at least 1) and the length, which must be exactly what the
 * dimensions say. A truncated or longer file is an {@link IOException} naming the file, never a
 * short read.
 */
public final class Idx {

    /** The type byte of unsigned 8-bit data. */
    public static final int UNSIGNED_BYTE = 0x08;

    /** The first allocation for the data, doubled while more arrives: 1 MiB, a 1,300-image batch. */
    private static final int FIRST_CHUNK = 1 << 20;

    private Idx() {
    }

    /** An IDX file's content: its dimensions and its bytes (unsigned, to be read with {@code & 0xFF}). */
    public record Content(int[] dims, byte[] data) {
        public Content {
            dims = dims.clone();
        }

        @Override
        public int[] dims() {
            return dims.clone();
        }

        public int dim(int axis) {
            return dims[axis];
        }

        public int rank() {
            return dims.length;
        }
    }

    /** Reads {@code file}. */
    public static Content read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            raw.mark(2);
            int b0 = raw.read(), b1 = raw.read();
            raw.reset();
            boolean gzipped = b0 == 0x1f && b1 == 0x8b;
            try (InputStream in = gzipped ? new GZIPInputStream(raw, 1 << 16) : raw) {
                return read(file, in);
            } catch (EOFException | ZipException e) {
                throw error(file, "damaged gzip data (" + e.getMessage() + ")");
            }
        }
    }

    private static Content read(Path file, InputStream in) throws IOException {
        byte[] magic = readExactly(file, in, 4, "the magic number");
        if (magic[0] != 0 || magic[1] != 0) {
            throw error(file, "not an IDX file (it starts with " + hex(magic) + ", not 00 00)");
        }
        if ((magic[2] & 0xFF) != UNSIGNED_BYTE) {
            throw error(file, String.format("data type 0x%02x is not supported (0x08, unsigned bytes, only)",
                    magic[2] & 0xFF));
        }
        int rank = magic[3] & 0xFF;
        if (rank < 1 || rank > 4) {
            throw error(file, "rank " + rank + " is not between 1 and 4");
        }
        byte[] header = readExactly(file, in, 4 * rank, "the " + rank + " dimensions");
        int[] dims = new int[rank];
        long size = 1;
        for (int i = 0; i < rank; i++) {
            dims[i] = ((header[4 * i] & 0xFF) << 24) | ((header[4 * i + 1] & 0xFF) << 16)
                    | ((header[4 * i + 2] & 0xFF) << 8) | (header[4 * i + 3] & 0xFF);
            if (dims[i] < 1) {
                throw error(file, "dimension " + i + " is " + dims[i] + ", must be >= 1");
            }
            size *= dims[i];
            if (size > Integer.MAX_VALUE - 8) {
                throw error(file, "dimensions " + Arrays.toString(Arrays.copyOf(dims, i + 1))
                        + " hold more than 2^31 bytes");
            }
        }
        byte[] data = readExactly(file, in, (int) size, "the data of dimensions " + Arrays.toString(dims));
        if (in.read() != -1) {
            throw error(file, "has bytes after the " + size + " data bytes its dimensions " + Arrays.toString(dims)
                    + " announce");
        }
        return new Content(dims, data);
    }

    /**
     * Reads {@code n} bytes, growing the array as they arrive: a header that announces more than the
     * file holds costs at most twice what it does hold, never the announced size up front.
     */
    private static byte[] readExactly(Path file, InputStream in, int n, String what) throws IOException {
        byte[] out = new byte[Math.min(n, FIRST_CHUNK)];
        int done = 0;
        while (done < n) {
            if (done == out.length) {
                out = Arrays.copyOf(out, (int) Math.min(n, 2L * out.length));
            }
            int read = in.read(out, done, out.length - done);
            if (read < 0) {
                throw error(file, "ends early: " + done + " of " + n + " bytes of " + what);
            }
            done += read;
        }
        return out;
    }

    private static String hex(byte[] bytes) {
        StringBuilder s = new StringBuilder();
        for (byte b : bytes) {
            s.append(s.isEmpty() ? "" : " ").append(String.format("%02x", b & 0xFF));
        }
        return s.toString();
    }

    private static IOException error(Path file, String problem) {
        return new IOException(file + ": " + problem);
    }
}
