package org.simdconv.cli;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.List;
import picocli.CommandLine;
import picocli.CommandLine.ExitCode;
import picocli.CommandLine.IExecutionExceptionHandler;
import picocli.CommandLine.ParseResult;

/**
 * Turns whatever a command throws into one line on standard error and exit code {@value #FAILED},
 * without a stack trace: {@code simdconv conv2d: error: <message>}.
 * <ul>
 *   <li>{@link IllegalArgumentException} (bad value, mismatched shapes, unreadable input: the
 *       library's checks and the commands' own) and {@link UnsupportedOperationException} (an
 *       implementation this JVM cannot run): their message.</li>
 *   <li>{@link IOException} (a file that cannot be read or written): the file and the reason.</li>
 *   <li>{@link OutOfMemoryError}, {@link StackOverflowError}: what ran out, and the advice to give
 *       the JVM more ({@code JAVA_OPTS}).</li>
 *   <li>Anything else is a bug: {@code internal error: <exception>}.</li>
 * </ul>
 * A user's shell sees one code for every failure, as with a usage error, so that a script can tell
 * "did not run" (2) from "ran, and the result says no" (1: the demo did not learn its kernel).
 */
public class ErrorHandler implements IExecutionExceptionHandler {

    /** The exit code of every failure. */
    public static final int FAILED = ExitCode.USAGE;

    @Override
    public int handleExecutionException(Exception ex, CommandLine commandLine, ParseResult parseResult) {
        Throwable cause = ex instanceof CommandLine.ExecutionException && ex.getCause() != null ? ex.getCause() : ex;
        print(commandLine, describeThrowable(cause));
        return FAILED;
    }

    /**
     * A usage error (unknown option, missing or malformed value): the same first line as every
     * failure, with picocli's suggestion on it when it has one, then the command's synopsis and
     * where to read more; exit code {@value #FAILED}.
     */
    public static int handleUsageError(CommandLine.ParameterException ex, String[] args) {
        CommandLine command = ex.getCommandLine();
        String message = messageOf(ex);
        if (ex instanceof CommandLine.UnmatchedArgumentException unmatched && !unmatched.getSuggestions().isEmpty()) {
            message += " (did you mean " + String.join(" or ", unmatched.getSuggestions()) + "?)";
        }
        print(command, message);
        CommandLine.Help help = command.getHelp();
        command.getErr().print("Usage: " + help.synopsis("Usage: ".length())); // the help command's heading starts with a blank line
        command.getErr().println("Try '" + command.getCommandSpec().qualifiedName() + " --help' for more.");
        command.getErr().flush();
        return FAILED;
    }

    /**
     * Runs the command line: what escapes picocli's own handling (an {@link Error} of the JVM in a
     * command, or a failure of the handler itself) is one line and {@value #FAILED} as well.
     */
    public static int execute(CommandLine commandLine, String... args) {
        try {
            return commandLine.execute(args);
        } catch (Throwable t) {
            CommandLine failed = commandLine;
            if (commandLine.getParseResult() != null) { // the subcommand that ran, for the message's prefix
                List<CommandLine> ran = commandLine.getParseResult().asCommandLineList();
                failed = ran.get(ran.size() - 1);
            }
            ErrorHandler words = commandLine.getExecutionExceptionHandler() instanceof ErrorHandler own
                    ? own : new ErrorHandler();
            print(failed, words.describeThrowable(t));
            return FAILED;
        }
    }

    private static void print(CommandLine commandLine, String message) {
        commandLine.getErr().println(commandLine.getCommandSpec().qualifiedName() + ": error: " + oneLine(message));
        commandLine.getErr().flush();
    }

    /** Any failure in words, as {@link #handleExecutionException} prints it. */
    String describeThrowable(Throwable t) {
        if (t instanceof IllegalArgumentException || t instanceof UnsupportedOperationException) {
            return messageOf(t);
        } else if (t instanceof IOException io) {
            return describe(io);
        } else if (t instanceof UncheckedIOException io) {
            return describe(io.getCause());
        } else if (t instanceof OutOfMemoryError oom) {
            return "out of memory (" + messageOf(oom) + "); give the JVM more with JAVA_OPTS=-Xmx... or "
                    + "-XX:MaxDirectMemorySize=..., or use smaller inputs";
        } else if (t instanceof StackOverflowError) {
            return "stack overflow: the input nests too deeply";
        } else if (t instanceof Exception e) {
            return describeOther(e);
        }
        return "internal error: " + t;
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
