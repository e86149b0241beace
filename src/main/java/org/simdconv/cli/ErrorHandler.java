package org.simdconv.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import picocli.CommandLine;
import picocli.CommandLine.ExitCode;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns an exception from a command into one line on standard error and an exit code, without a
 * stack trace: {@code simdconv conv2d: error: <message>}.
 * <ul>
 *   <li>{@link IllegalArgumentException} (bad value, mismatched shapes, unreadable input: the
 *       library's checks and the commands' own) and {@link UnsupportedOperationException} (an
 *       implementation this JVM cannot run): {@value ExitCode#USAGE}.</li>
 *   <li>{@link IOException} (an output that cannot be written): {@value ExitCode#SOFTWARE}.</li>
 *   <li>Anything else is a bug: {@code internal error: <exception>}, {@value ExitCode#SOFTWARE}.</li>
 * </ul>
 */
public class ErrorHandler implements IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception ex, CommandLine commandLine, ParseResult parseResult) {
        int exitCode;
        String message;
        if (ex instanceof IllegalArgumentException || ex instanceof UnsupportedOperationException) {
            exitCode = ExitCode.USAGE;
            message = messageOf(ex);
        } else if (ex instanceof IOException io) {
            exitCode = ExitCode.SOFTWARE;
            message = describe(io);
        } else if (ex instanceof UncheckedIOException io) {
            exitCode = ExitCode.SOFTWARE;
            message = describe(io.getCause());
        } else {
            exitCode = ExitCode.SOFTWARE;
            message = describeOther(ex);
        }
        commandLine.getErr().println(commandLine.getCommandSpec().qualifiedName() + ": error: " + oneLine(message));
        commandLine.getErr().flush();
        return exitCode;
    }

    /** Any other failure; a tool with failures of its own (the benchmarks' JMH runs) words them here. */
    protected String describeOther(Exception ex) {
        return "internal error: " + ex;
    }

    /** A file-system failure in words: {@code no such file: x.npy} rather than {@code x.npy}. */
    public static String describe(IOException e) {
        if (e instanceof NoSuchFileException f) {
            return "no such file: " + f.getFile();
        }
        if (e instanceof AccessDeniedException f) {
            return "permission denied: " + f.getFile();
        }
        if (e instanceof FileSystemException f && f.getReason() != null) {
            return f.getFile() + ": " + f.getReason();
        }
        return messageOf(e);
    }

    public static String messageOf(Throwable e) {
        return e.getMessage() == null || e.getMessage().isBlank() ? e.toString() : e.getMessage();
    }

    private static String oneLine(String message) {
        return message.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
