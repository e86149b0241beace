package org.simdconv.jmh.report;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.openjdk.jmh.runner.RunnerException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code simdconv peak}: this machine's FMA peak through the Vector API
 * ({@link org.simdconv.jmh.FmaPeakBenchmark}) at 1 thread and at all threads, in vector FMAs per
 * microsecond and GFLOP/s ({@code score * 2 * lanes / 1000}, the lane count of
 * {@code FloatVector.SPECIES_PREFERRED} taken in this JVM). {@code simdconv bench} measures the same
 * peak and gives every figure as a fraction of it.
 */
@Command(name = "peak",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Measures this machine's FMA peak through the Vector API with JMH, at 1 thread and at all threads: "
                    + "twelve independent FMA chains per thread, registers only.",
            "GFLOP/s = vector FMAs per microsecond x 2 x lanes / 1000.",
        })
public final class PeakCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--threads", paramLabel = "T,...",
            description = "Thread counts (default: 1 and the number of cores).")
    String threads;

    @Option(names = "--quick",
            description = "1 fork, warmup 1 x 1 s, measurement 2 x 0.3 s (default: 2 forks, warmup 5 x 1 s, "
                    + "measurement 5 x 1 s).")
    boolean quick;

    @Option(names = "--verbose", description = "Show JMH's own output instead of the progress line.")
    boolean verbose;

    @Override
    public Integer call() throws RunnerException, java.io.IOException {
        List<Integer> threadList = ThreadCounts.parse(threads,
                ThreadCounts.oneAndAll(Runtime.getRuntime().availableProcessors()));
        RunSettings settings = quick ? RunSettings.QUICK : RunSettings.NORMAL;
        int lanes = Lanes.preferred();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        err.println("simdconv peak: " + threadList.size() + " thread count" + (threadList.size() == 1 ? "" : "s")
                + "; " + settings.describe() + " (" + settings.name() + ")");
        err.flush();

        ProgressOutput progress = new ProgressOutput(err, ProgressOutput.onTerminal(), verbose, threadList.size(),
                settings.nominalSeconds());
        Map<Integer, Peak> peaks;
        try {
            peaks = JmhRuns.peaks(threadList, settings, lanes, progress);
        } finally {
            progress.finish();
        }

        List<Peak> rows = new ArrayList<>();
        List<Integer> failed = new ArrayList<>();
        for (int t : threadList) {
            if (peaks.containsKey(t)) {
                rows.add(peaks.get(t));
            } else {
                failed.add(t);
            }
        }
        out.println();
        out.println(PeakReport.header(lanes, Lanes.bits()));
        if (!rows.isEmpty()) {
            out.println();
            out.print(PeakReport.table(rows));
        }
        out.flush();
        if (!failed.isEmpty()) {
            err.println("simdconv peak: the run failed at threads " + failed);
            progress.failures().forEach(line -> err.println("  " + line));
            err.println("simdconv peak: JMH's whole output is in " + progress.writeLog());
            err.flush();
            return 1;
        }
        return 0;
    }
}
