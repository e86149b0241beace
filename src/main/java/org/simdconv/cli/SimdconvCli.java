package org.simdconv.cli;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code simdconv} command line: {@code simdconv train} trains a CNN on Fashion-MNIST, {@code
 * simdconv evaluate} scores a saved one, {@code simdconv conv2d ...} runs one convolution on {@code
 * .npy} files, {@code simdconv learn-kernel} runs the kernel-learning demo of seed 001, 17.3.7. The
 * benchmark commands {@code simdconv bench} and {@code simdconv peak} are not here: the launcher runs
 * them from the JMH module ({@code org.simdconv.jmh.BenchCli}), and only the help mentions them.
 *
 * <p>Exit codes: 0 success; 1 a run that ended but failed its own check (the demo did not learn
 * its kernel); 2 any failure (unknown option, bad value, unreadable or mismatched file, a file that
 * cannot be written, the JVM out of memory, an internal error). Failures are one line on standard
 * error, {@code simdconv <command>: error: ...} ({@link ErrorHandler}); usage errors print the
 * command's synopsis after that line.
 */
@Command(name = "simdconv",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Convolutional neural networks on the CPU with the Java Vector API over off-heap memory.",
        // The benchmark commands live in the JMH module (org.simdconv.jmh.BenchCli); the ./simdconv
        // launcher hands them there, so this command line has no JMH dependency.
        footer = {"",
            "Data: ./simdconv install-data installs Fashion-MNIST (Debian's dataset-fashion-mnist).",
            "Benchmarks: simdconv bench, simdconv peak (run from the jmh module;",
            "see simdconv bench --help and simdconv peak --help)."},
        subcommands = {TrainCommand.class, EvaluateCommand.class, Conv2dCommand.class, LearnKernelCommand.class,
            CommandLine.HelpCommand.class})
public final class SimdconvCli implements Runnable {

    @Spec
    CommandSpec spec;

    /** Without a subcommand there is nothing to do: a usage error. */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing required subcommand");
    }

    /** The command line with its error handling; tests set its output and error writers. */
    public static CommandLine commandLine() {
        return new CommandLine(new SimdconvCli())
                .setCaseInsensitiveEnumValuesAllowed(true)
                .setExecutionExceptionHandler(new ErrorHandler())
                .setParameterExceptionHandler(ErrorHandler::handleUsageError);
    }

    public static void main(String[] args) {
        System.exit(ErrorHandler.execute(commandLine(), args));
    }
}
