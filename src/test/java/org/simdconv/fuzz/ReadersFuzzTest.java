package org.simdconv.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.simdconv.data.Idx;
import org.simdconv.io.Npy;
import org.simdconv.io.Safetensors;
import org.simdconv.tensor.Tensor;
import org.simdconv.testing.IdxFiles;

/**
 * The file readers against arbitrary bytes: every input loads, or fails with the reader's own
 * exception ({@link IOException}: a format error naming the file). Anything else that escapes (an
 * {@link Error}, another exception), an allocation larger than what the file holds, or a hang is a
 * finding. In the test run these replay the committed seed corpus
 * ({@code src/test/resources/org/simdconv/fuzz/ReadersFuzzTestInputs/<target>}); {@code .ci/fuzz}
 * fuzzes each target for a bounded time (coverage-guided, Jazzer).
 */
class ReadersFuzzTest {

    private static Path dir;

    @BeforeAll
    static void makeDirectory() throws IOException {
        dir = Files.createTempDirectory("simdconv-fuzz");
        // The first reads load and initialise classes, which allocates: not the inputs' doing.
        for (byte[] warmUp : List.of(new byte[0], IdxFiles.idx(new int[] {2, 2}, new byte[4]),
                IdxFiles.gzip(IdxFiles.idx(new int[] {3}, new byte[3])), new byte[] {0x1f, (byte) 0x8b, 1})) {
            for (int i = 0; i < 3; i++) {
                try {
                    Idx.read(file("warm-up", warmUp));
                } catch (IOException expected) {
                    // the damaged ones
                }
                present(warmUp);
                allocated();
            }
        }
    }

    @AfterAll
    static void removeDirectory() throws IOException {
        try (var files = Files.list(dir)) {
            for (Path f : files.toList()) {
                Files.deleteIfExists(f);
            }
        }
        Files.deleteIfExists(dir);
    }

    private static Path file(String name, byte[] bytes) throws IOException {
        return Files.write(dir.resolve(name), bytes);
    }

    @FuzzTest
    void npy(byte[] input) throws IOException {
        Path file = file("input.npy", input);
        try (Arena arena = Arena.ofConfined()) {
            Tensor t = Npy.read(file, arena);
            assertTrue(t.elementCount() * Float.BYTES <= input.length, "a tensor larger than its file");
        } catch (Npy.FormatException expected) {
            // refused, as it should be
        }
    }

    /** Heap bytes this thread has allocated so far. */
    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }

    /** The bytes an IDX reader really has: the file's, or what its gzip stream holds. */
    private static long present(byte[] input) {
        if (input.length < 2 || (input[0] & 0xFF) != 0x1f || (input[1] & 0xFF) != 0x8b) {
            return input.length;
        }
        long total = 0;
        try (InputStream in = new GZIPInputStream(new ByteArrayInputStream(input))) {
            byte[] chunk = new byte[8192];
            for (int n; (n = in.read(chunk)) > 0; ) {
                total += n;
            }
        } catch (IOException damaged) {
            // what came before the damage is what the reader can have read
        }
        return total;
    }

    @FuzzTest
    void idx(byte[] input) throws IOException {
        Path file = file("input-idx", input);
        long before = allocated();
        try {
            Idx.Content content = Idx.read(file);
            long product = 1;
            for (int d : content.dims()) {
                product *= d;
            }
            assertTrue(product == content.data().length, "data and dimensions disagree");
        } catch (IOException expected) {
            assertTrue(expected.getMessage().startsWith(file + ": "), "names the file: " + expected.getMessage());
        }
        // Twice what is there (the array grows by doubling), its first 1 MiB, and the streams' buffers.
        long bound = 2 * present(input) + (1 << 20) + (1 << 18);
        long used = allocated() - before;
        assertTrue(used <= bound, "allocated " + used + " bytes for " + present(input) + " bytes of data");
    }

    @FuzzTest
    void safetensors(byte[] input) throws IOException {
        Path file = file("input.safetensors", input);
        try (Arena arena = Arena.ofConfined()) {
            Safetensors.Contents contents = Safetensors.read(file, arena);
            long floats = 0;
            for (Tensor t : contents.tensors().values()) {
                floats += t.elementCount();
            }
            assertTrue(floats * Float.BYTES <= input.length, "tensors larger than their file");
        } catch (Safetensors.FormatException expected) {
            // refused, as it should be
        }
    }
}
