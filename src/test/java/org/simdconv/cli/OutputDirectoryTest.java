package org.simdconv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A run's files appear together or not at all, and never beside an earlier run's. */
class OutputDirectoryTest {

    @TempDir
    Path dir;

    private final Set<String> names = Set.of("a.npy", "b.npy");

    private List<String> listing(Path directory) throws IOException {
        try (Stream<Path> files = Files.list(directory)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aWriteThatFailsHalfwayLeavesTheEarlierRunWholeAndNoTemporaryFolder() throws IOException {
        Path out = dir.resolve("out");
        OutputDirectory outputs = new OutputDirectory("--out", out, names);
        outputs.replaceWith(d -> {
            Files.writeString(d.resolve("a.npy"), "first a");
            Files.writeString(d.resolve("b.npy"), "first b");
        });
        IOException full = new IOException("disk full");
        assertThrows(IOException.class, () -> outputs.replaceWith(d -> {
            Files.writeString(d.resolve("a.npy"), "second a");
            throw full;
        }));
        assertEquals(List.of("a.npy", "b.npy"), listing(out));
        assertEquals("first a", Files.readString(out.resolve("a.npy")));
        assertEquals(List.of("out"), listing(dir), "no temporary folder left beside it");
    }

    @Test
    void aFirstWriteThatFailsLeavesNoDirectory() {
        Path out = dir.resolve("new");
        assertThrows(IOException.class, () -> new OutputDirectory("--out", out, names).replaceWith(d -> {
            Files.writeString(d.resolve("a.npy"), "a");
            throw new IOException("disk full");
        }));
        assertFalse(Files.exists(out));
    }

    @Test
    void anotherFileInTheDirectoryIsRefusedAndKept() throws IOException {
        Path out = Files.createDirectory(dir.resolve("out"));
        Files.writeString(out.resolve("notes.txt"), "mine");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new OutputDirectory("--out", out, names).replaceWith(d -> Files.writeString(d.resolve("a.npy"), "a")));
        assertEquals(true, e.getMessage().startsWith("--out " + out + " holds notes.txt"), e.getMessage());
        assertEquals(List.of("notes.txt"), listing(out));
    }
}
