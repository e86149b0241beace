package org.simdconv.jmh;

import org.simdconv.jmh.report.BenchCommand;
import org.simdconv.jmh.report.ErrorHandler;
import org.simdconv.jmh.report.PeakCommand;
import org.simdconv.jmh.report.VersionProvider;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The benchmark commands of the {@code simdconv} launcher, which hands them here:
 * {@code simdconv bench} ({@link BenchCommand}) and {@code simdconv peak} ({@link PeakCommand}). They
 * live in the JMH module so that neither the library nor its command line depends on JMH. Run with
 * {@code java --add-modules jdk.incubator.vector -cp jmh/target/benchmarks.jar org.simdconv.jmh.BenchCli}.
 *
 * <p>Exit codes: 0 success; 1 a benchmark failed or a file could not be written; 2 bad usage or
 * input (unknown option, bad pass name, missing or malformed shapes or peer file), with one line on
 * standard error.
 */
@Command(name = "simdconv",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        description = "Benchmarks of simdconv (JMH): the convolution passes and the machine's FMA peak.",
        subcommands = {BenchCommand.class, PeakCommand.class, CommandLine.HelpCommand.class})
public final class BenchCli implements Runnable {

    @Spec
    CommandSpec spec;

    /** Without a subcommand there is nothing to do: a usage error. */
    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "Missing required subcommand (bench or peak)");
    }

    /** The command line with its error handling; tests may set its output and error writers. */
    public static CommandLine commandLine() {
        return new CommandLine(new BenchCli()).setExecutionExceptionHandler(new ErrorHandler())
                .setParameterExceptionHandler(org.simdconv.cli.ErrorHandler::handleUsageError);
    }

    public static void main(String[] args) {
        System.exit(org.simdconv.cli.ErrorHandler.execute(commandLine(), args));
    }
}
