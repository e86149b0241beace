package org.simdconv.jmh.report;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import org.openjdk.jmh.runner.RunnerException;
import picocli.CommandLine;
import picocli.CommandLine.ExitCode;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * One line on standard error for a failed command, {@code simdconv bench: error: <message>}, and the
 * exit code: {@value ExitCode#USAGE} for bad options and inputs ({@link IllegalArgumentException},
 * {@link UnsupportedOperationException}), {@value ExitCode#SOFTWARE} for everything else (a file that
 * cannot be written, JMH failing to run).
 */
public final class ErrorHandler implements IExecutionExceptionHandler {

    @Override
    public int handleExecutionException(Exception ex, CommandLine commandLine, ParseResult parseResult) {
        int exitCode = ExitCode.SOFTWARE;
        String message;
        if (ex instanceof IllegalArgumentException || ex instanceof UnsupportedOperationException) {
            exitCode = ExitCode.USAGE;
            message = messageOf(ex);
        } else if (ex instanceof IOException io) {
            message = describe(io);
        } else if (ex instanceof UncheckedIOException io) {
            message = describe(io.getCause());
        } else if (ex instanceof RunnerException) {
            message = "JMH: " + messageOf(ex) + (ex.getCause() != null ? ": " + messageOf(ex.getCause()) : "");
        } else {
            message = "internal error: " + ex;
        }
        commandLine.getErr().println(commandLine.getCommandSpec().qualifiedName() + ": error: " + oneLine(message));
        commandLine.getErr().flush();
        return exitCode;
    }

    /** A file-system failure in words: {@code no such file: x.csv} rather than {@code x.csv}. */
    static String describe(IOException e) {
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

    private static String messageOf(Throwable e) {
        return e.getMessage() == null || e.getMessage().isBlank() ? e.toString() : e.getMessage();
    }

    private static String oneLine(String message) {
        return message.strip().replaceAll("\\s*\\R\\s*", " ");
    }
}
