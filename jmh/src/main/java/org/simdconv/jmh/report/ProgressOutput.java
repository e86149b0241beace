package org.simdconv.jmh.report;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.Locale;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.format.OutputFormat;
import org.openjdk.jmh.runner.format.OutputFormatFactory;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * JMH's output, replaced by one progress line on standard error: on a terminal a line rewritten in
 * place ({@code \r}) with the benchmark, the fork and the iteration, elsewhere (a pipe, a file, CI)
 * one plain line per benchmark, so logs stay readable. JMH's own text is kept in memory for the log
 * written when something fails; {@code verbose} shows JMH's usual text report on standard error
 * instead of the progress line.
 *
 * <p>JMH's host copies what the forked JVMs print ({@code # flops ...}, their stack traces) straight
 * to {@code System.out} and {@code System.err}: {@link #captureStandardStreams()} sends those to the
 * log too while JMH runs, so that standard output holds only the report.
 *
 * <p>JMH calls it from its main thread and from the thread that listens to the forked JVMs, so every
 * method is synchronized.
 *
 * <p>One instance spans several JMH runs (the FMA peaks, then the passes): {@code total} counts
 * the benchmarks of all of them. JMH closes its output format at the end of each run, so
 * {@link #close()} does nothing; {@link #finish()} ends the line.
 */
final class ProgressOutput implements OutputFormat {

    private static final Pattern FORK = Pattern.compile("^# (?:Warmup )?Fork: (\\d+) of (\\d+)");
    private static final int TERMINAL_WIDTH = 100;

    private final PrintWriter err;
    private final boolean terminal;
    private final boolean verbose;
    /** JMH's own text report, on the standard error this JVM started with; null unless verbose. */
    private final OutputFormat echo;
    private final int total;
    private final double nominalSeconds;
    private final long startNanos = System.nanoTime();
    private final ByteArrayOutputStream log = new ByteArrayOutputStream();

    private Function<BenchmarkParams, String> labeler = BenchmarkParams::getBenchmark;
    private int started;
    private int completed;
    private long completedNanos;
    private long currentStartNanos;
    private boolean running;
    private String label = "";
    private String fork = "";
    private String phase = "";
    private int shownLength;

    /**
     * @param err            where the line goes
     * @param terminal       rewrite the line in place (else one line per benchmark)
     * @param verbose        echo JMH's own output instead
     * @param total          benchmarks in all the runs to come
     * @param nominalSeconds a rough duration of one benchmark, for the estimate before the first ends
     */
    ProgressOutput(PrintWriter err, boolean terminal, boolean verbose, int total, double nominalSeconds) {
        this.err = err;
        this.terminal = terminal && !verbose;
        this.verbose = verbose;
        this.echo = verbose ? OutputFormatFactory.createFormatInstance(System.err, VerboseMode.NORMAL) : null;
        this.total = total;
        this.nominalSeconds = nominalSeconds;
    }

    /** Whether standard output and input are a terminal that can take a carriage return. */
    static boolean onTerminal() {
        var console = System.console();
        return console != null && console.isTerminal() && !"dumb".equals(System.getenv("TERM"));
    }

    /** What {@link #captureStandardStreams()} returns: closing it puts the streams back. */
    interface Capture extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Until the returned capture is closed, {@code System.out} and {@code System.err} go to the log
     * (and, when verbose, to the standard error this object was made with).
     */
    Capture captureStandardStreams() {
        PrintStream out = System.out;
        PrintStream errStream = System.err;
        PrintStream sink = new PrintStream(new OutputStream() {
            @Override
            public void write(int b) {
                ProgressOutput.this.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                ProgressOutput.this.write(java.util.Arrays.copyOfRange(b, off, off + len));
            }
        }, true, StandardCharsets.UTF_8);
        System.setOut(sink);
        System.setErr(sink);
        return () -> {
            sink.flush();
            System.setOut(out);
            System.setErr(errStream);
        };
    }

    /** How the next run's benchmarks are named in the line. */
    void labelWith(Function<BenchmarkParams, String> labeler) {
        this.labeler = labeler;
    }

    /** Ends the progress line and says how long it all took. */
    synchronized void finish() {
        endCurrent();
        if (terminal) {
            clear();
        }
        err.println(String.format(Locale.ROOT, "ran %d benchmark%s in %s", completed, completed == 1 ? "" : "s",
                Formats.duration(elapsedSeconds())));
        err.flush();
    }

    /** JMH's output so far, written to a temporary file; returns its path. */
    synchronized Path writeLog() throws IOException {
        Path file = Files.createTempFile("simdconv-bench-", ".log");
        Files.write(file, log.toByteArray());
        return file;
    }

    /** What went wrong, from JMH's output: see {@link #failures(String)}. */
    synchronized List<String> failures() {
        return failures(log.toString(StandardCharsets.UTF_8));
    }

    /**
     * The distinct reasons for failures in a JMH text output: the exception line after each
     * {@code <failure>} marker and any {@code <forked VM failed ...>} or {@code <binary link ...>}
     * line, at most five; the last ten lines when there is none of those.
     */
    static List<String> failures(String jmhOutput) {
        List<String> lines = jmhOutput.lines().toList();
        Set<String> reasons = new LinkedHashSet<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.equals("<failure>")) {
                for (int j = i + 1; j < lines.size(); j++) {
                    if (!lines.get(j).isBlank()) {
                        reasons.add(lines.get(j).strip());
                        break;
                    }
                }
            } else if (line.startsWith("<forked VM failed") || line.startsWith("<binary link")) {
                reasons.add(line);
            }
        }
        if (reasons.isEmpty()) {
            return lines.subList(Math.max(0, lines.size() - 10), lines.size());
        }
        return reasons.stream().limit(5).toList();
    }

    @Override
    public synchronized void startBenchmark(BenchmarkParams params) {
        if (echo != null) {
            echo.startBenchmark(params);
        }
        endCurrent();
        started++;
        running = true;
        currentStartNanos = System.nanoTime();
        label = labeler.apply(params);
        fork = "";
        phase = "";
        if (terminal) {
            show();
        } else if (!verbose) {
            err.println(line());
            err.flush();
        }
    }

    @Override
    public synchronized void iteration(BenchmarkParams benchParams, IterationParams params, int iteration) {
        if (echo != null) {
            echo.iteration(benchParams, params, iteration);
        }
        phase = (params.getType() == IterationType.WARMUP ? "warmup " : "measurement ") + iteration + "/"
                + params.getCount();
        if (terminal) {
            show();
        }
    }

    @Override
    public synchronized void iterationResult(BenchmarkParams benchParams, IterationParams params, int iteration,
                                IterationResult data) {
        if (echo != null) {
            echo.iterationResult(benchParams, params, iteration, data);
        }
    }

    @Override
    public synchronized void endBenchmark(BenchmarkResult result) {
        if (echo != null) {
            echo.endBenchmark(result);
        }
        endCurrent();
    }

    @Override
    public synchronized void startRun() {
        if (echo != null) {
            echo.startRun();
        }
    }

    @Override
    public synchronized void endRun(Collection<RunResult> result) {
        if (echo != null) {
            echo.endRun(result);
        }
    }

    @Override
    public synchronized void print(String s) {
        record(s);
        if (echo != null) {
            echo.print(s);
        }
    }

    @Override
    public synchronized void println(String s) {
        record(s + System.lineSeparator());
        if (echo != null) {
            echo.println(s);
        }
        Matcher m = FORK.matcher(s);
        if (m.find()) {
            fork = "fork " + m.group(1) + "/" + m.group(2);
            if (terminal) {
                show();
            }
        }
    }

    @Override
    public synchronized void verbosePrintln(String s) {
        record(s + System.lineSeparator());
        if (echo != null) {
            echo.verbosePrintln(s);
        }
    }

    @Override
    public synchronized void write(int b) {
        log.write(b);
        if (echo != null) {
            echo.write(b);
        }
    }

    @Override
    public synchronized void write(byte[] b) {
        log.writeBytes(b);
        if (echo != null) {
            try {
                echo.write(b);
            } catch (IOException e) {
                // the echo is a courtesy; the log has it
            }
        }
    }

    @Override
    public synchronized void flush() {
        err.flush();
        if (echo != null) {
            echo.flush();
        }
    }

    @Override
    public synchronized void close() {
        err.flush();
    }

    private void record(String s) {
        log.writeBytes(s.getBytes(StandardCharsets.UTF_8));
    }

    private void endCurrent() {
        if (running) {
            running = false;
            completed++;
            completedNanos += System.nanoTime() - currentStartNanos;
        }
    }

    private String line() {
        StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "[%" + Integer.toString(total).length()
                + "d/%d] %s", started, total, label));
        if (terminal && !fork.isEmpty()) {
            line.append(": ").append(fork);
            if (!phase.isEmpty()) {
                line.append(", ").append(phase);
            }
        }
        line.append("  (").append(Formats.duration(elapsedSeconds())).append(" elapsed");
        long left = secondsLeft();
        if (left >= 0) {
            line.append(", ~").append(Formats.duration(left)).append(" left");
        }
        return line.append(')').toString();
    }

    /** Remaining time: the mean duration of the benchmarks done so far (or the nominal one) times those left. */
    private long secondsLeft() {
        double mean = completed > 0 ? completedNanos / 1e9 / completed : nominalSeconds;
        double inCurrent = running ? (System.nanoTime() - currentStartNanos) / 1e9 : 0;
        double left = mean * (total - completed) - Math.min(inCurrent, mean);
        return Math.max(0, Math.round(left));
    }

    private long elapsedSeconds() {
        return (System.nanoTime() - startNanos) / 1_000_000_000L;
    }

    private void show() {
        String line = line();
        if (line.length() > TERMINAL_WIDTH - 1) {
            line = line.substring(0, TERMINAL_WIDTH - 2) + "…";
        }
        err.print("\r" + line + " ".repeat(Math.max(0, shownLength - line.length())));
        err.flush();
        shownLength = line.length();
    }

    private void clear() {
        if (shownLength > 0) {
            err.print("\r" + " ".repeat(shownLength) + "\r");
            err.flush();
            shownLength = 0;
        }
    }
}
