package org.simdconv.jmh.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ProgressOutputTest {

    @Test
    void failuresAreTheExceptionLinesAfterJmhsMarkers() {
        String output = """
                # Fork: 1 of 1
                <failure>

                java.io.UncheckedIOException: java.nio.file.NoSuchFileException: /tmp/gone.csv
                \tat org.simdconv.jmh.ConvShape.all(ConvShape.java:54)
                Caused by: java.nio.file.NoSuchFileException: /tmp/gone.csv
                # Fork: 1 of 1
                <failure>

                java.io.UncheckedIOException: java.nio.file.NoSuchFileException: /tmp/gone.csv
                <forked VM failed with exit code 1>
                """;
        assertEquals(List.of("java.io.UncheckedIOException: java.nio.file.NoSuchFileException: /tmp/gone.csv",
                "<forked VM failed with exit code 1>"), ProgressOutput.failures(output));
    }

    @Test
    void withoutMarkersTheLastLinesAreTheReason() {
        assertEquals(List.of("b", "c"), ProgressOutput.failures("b\nc\n"));
    }
}
