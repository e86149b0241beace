package org.simdconv.jmh.report;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.VerboseMode;
import org.simdconv.jmh.ConvPassBenchmark;
import org.simdconv.jmh.ConvShape;
import org.simdconv.jmh.FmaPeakBenchmark;

/**
 * Runs the JMH benchmarks of this module in forked JVMs through JMH's {@link Runner}, with the
 * given {@link RunSettings}, reporting to a {@link ProgressOutput}. A benchmark that fails does not
 * stop the others ({@code failOnError} is off): its result is simply missing.
 */
final class JmhRuns {

    /** The forked JVMs need the incubator module (the benchmarks' own {@code @Fork} says so too). */
    static final String VECTOR_MODULE = "--add-modules=jdk.incubator.vector";

    private JmhRuns() {
    }

    /**
     * The FMA peak at each thread count ({@link FmaPeakBenchmark} with that many JMH threads); a
     * thread count whose run failed is missing from the map.
     */
    static Map<Integer, Peak> peaks(List<Integer> threads, RunSettings settings, int lanes, ProgressOutput progress)
            throws RunnerException {
        progress.labelWith(p -> "FMA peak, " + Formats.threads(p.getThreads()));
        Map<Integer, Peak> peaks = new TreeMap<>();
        for (int t : threads) {
            ChainedOptionsBuilder options = new OptionsBuilder()
                    .include(exactly(FmaPeakBenchmark.class, "fma"))
                    .mode(Mode.Throughput)
                    .timeUnit(TimeUnit.MICROSECONDS)
                    .threads(t)
                    .jvmArgsAppend(VECTOR_MODULE)
                    .shouldFailOnError(false)
                    .verbosity(VerboseMode.NORMAL);
            for (RunResult result : run(settings.applyTo(options).build(), progress)) {
                var score = result.getPrimaryResult();
                peaks.put(t, new Peak(t, score.getScore(), score.getScoreError(), lanes));
            }
        }
        return peaks;
    }

    /**
     * Every (shape, pass, impl, threads) of {@link ConvPassBenchmark}, every call timed
     * ({@code Mode.SampleTime}: the report takes the median, as oneDNN's harness does), in milliseconds per
     * pass. {@code shapesFiles} (or none for the built-in list) are handed to the forked JVMs.
     */
    static Collection<RunResult> passes(List<ConvShape> shapes, List<Path> shapesFiles, List<Pass> passes,
                                        List<Integer> threads, List<String> impls, RunSettings settings,
                                        ProgressOutput progress) throws RunnerException {
        progress.labelWith(JmhRuns::passLabel);
        List<String> jvmArgs = new ArrayList<>(List.of(VECTOR_MODULE, "-Xmx4g"));
        if (!shapesFiles.isEmpty()) {
            jvmArgs.add("-D" + ConvShape.PROPERTY + "=" + ConvShape.propertyValue(shapesFiles));
        }
        ChainedOptionsBuilder options = new OptionsBuilder()
                .include(exactly(ConvPassBenchmark.class, "run"))
                .mode(Mode.SampleTime)
                .timeUnit(TimeUnit.MILLISECONDS)
                .threads(1)
                .param("shape", shapes.stream().map(ConvShape::name).toArray(String[]::new))
                .param("pass", passes.stream().map(Pass::id).toArray(String[]::new))
                .param("impl", impls.toArray(String[]::new))
                .param("threads", threads.stream().map(String::valueOf).toArray(String[]::new))
                .jvmArgsAppend(jvmArgs.toArray(String[]::new))
                .shouldFailOnError(false)
                .verbosity(VerboseMode.NORMAL);
        return run(settings.applyTo(options).build(), progress);
    }

    /** One JMH run, with what the forked JVMs print kept out of standard output and error. */
    private static Collection<RunResult> run(Options options, ProgressOutput progress) throws RunnerException {
        try (ProgressOutput.Capture capture = progress.captureStandardStreams()) {
            return new Runner(options, progress).run();
        }
    }

    /** The implementations {@link ConvPassBenchmark} runs by default: its {@code impl} parameter's values. */
    static List<String> defaultImpls() {
        try {
            return List.of(ConvPassBenchmark.class.getField("impl").getAnnotation(Param.class).value());
        } catch (NoSuchFieldException e) {
            throw new IllegalStateException("ConvPassBenchmark has no impl parameter", e);
        }
    }

    private static String passLabel(BenchmarkParams p) {
        String label = p.getParam("shape") + " " + p.getParam("pass") + ", "
                + Formats.threads(Integer.parseInt(p.getParam("threads")));
        String impl = p.getParam("impl");
        return "simd".equals(impl) ? label : label + " [" + impl + "]";
    }

    private static String exactly(Class<?> benchmark, String method) {
        return "^" + Pattern.quote(benchmark.getName() + "." + method) + "$";
    }
}
