package org.simdconv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The library that users embed depends on nothing but the JDK: outside {@code org.simdconv.cli}
 * (the command line, which uses picocli), every import is from {@code java.*}, {@code jdk.*} or
 * simdconv itself, and nothing imports the command line.
 */
class CoreDependsOnlyOnTheJdkTest {

    private static final Path SOURCES = Path.of("src/main/java/org/simdconv");

    @Test
    void theCoreImportsOnlyTheJdkAndItself() throws IOException {
        List<String> foreign;
        try (Stream<Path> files = Files.walk(SOURCES)) {
            foreign = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> !p.startsWith(SOURCES.resolve("cli")))
                    .flatMap(file -> imports(file)
                            .filter(i -> !(i.startsWith("java.") || i.startsWith("jdk.")
                                    || (i.startsWith("org.simdconv.") && !i.startsWith("org.simdconv.cli"))))
                            .map(i -> file.getFileName() + " imports " + i))
                    .toList();
        }
        assertTrue(Files.isDirectory(SOURCES.resolve("conv")), "run from the project directory");
        assertEquals(List.of(), foreign, "imports outside the JDK in the library core");
    }

    private static Stream<String> imports(Path file) {
        try {
            return Files.readAllLines(file).stream()
                    .map(String::strip)
                    .filter(line -> line.startsWith("import "))
                    .map(line -> line.substring("import ".length()).replace("static ", "").replace(";", "").strip());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
