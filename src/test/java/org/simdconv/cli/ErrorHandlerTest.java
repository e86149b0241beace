package org.simdconv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.NoSuchFileException;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * Whatever a command throws, an {@link Error} of the JVM included, ends as one line on standard
 * error and exit code 2, never a stack trace.
 */
class ErrorHandlerTest {

    /** A command that throws what it is given. */
    @Command(name = "fail")
    private static final class Failing implements Callable<Integer> {
        private final Throwable thrown;

        Failing(Throwable thrown) {
            this.thrown = thrown;
        }

        @Override
        public Integer call() throws Exception {
            if (thrown instanceof Exception e) {
                throw e;
            }
            throw (Error) thrown;
        }
    }

    static Stream<Arguments> failures() {
        return Stream.of(
                Arguments.of(new OutOfMemoryError("Java heap space"), "out of memory (Java heap space)"),
                Arguments.of(new StackOverflowError(), "stack overflow"),
                Arguments.of(new InternalError("broken"), "internal error: java.lang.InternalError: broken"),
                Arguments.of(new NoSuchFileException("x.npy"), "no such file: x.npy"),
                Arguments.of(new IOException("disk full"), "disk full"),
                Arguments.of(new IllegalArgumentException("--threads must be >= 1, got 0"), "--threads must be >= 1, got 0"),
                Arguments.of(new NullPointerException(), "internal error: java.lang.NullPointerException"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("failures")
    void everyThrowableIsOneLineAndExitCodeTwo(Throwable thrown, String message) {
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = SimdconvCli.commandLine().addSubcommand("fail", new Failing(thrown));
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));

        int exitCode = ErrorHandler.execute(cli, "fail");

        assertEquals(2, exitCode, err.toString());
        assertEquals(1, err.toString().lines().count(), "one line: " + err);
        assertTrue(err.toString().startsWith("simdconv fail: error: "), err.toString());
        assertTrue(err.toString().contains(message), "\"" + message + "\" in " + err);
        assertEquals("", out.toString());
    }
}
