package org.simdconv.jmh.report;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ForkJoinPool;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.RunnerException;
import org.simdconv.conv.Conv2d;
import org.simdconv.conv.Implementation;
import org.simdconv.jmh.ConvShape;
import org.simdconv.parallel.Parallelism;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code simdconv bench}: times every pass of every shape with JMH ({@link org.simdconv.jmh.ConvPassBenchmark})
 * after measuring the FMA peak at each thread count ({@link org.simdconv.jmh.FmaPeakBenchmark}), and
 * prints a {@link BenchReport}: a markdown table with GFLOP/s, % of peak, the kernels used and, given
 * peer CSV files, the ratio to the peer; with {@code --csv}, also the CSV and an SVG chart beside it.
 *
 * <p>{@code fwd}, {@code bwd_data} and {@code bwd_weights} time the channel-blocked entry points,
 * {@code fwd_nchw} the NCHW forward pass with its conversions (see {@link Pass}).
 *
 * <p>Every input (shapes, passes, threads, peer files) is checked before anything runs. Exit code 0
 * when every benchmark ran, 1 when one failed (the others are still reported, and JMH's log is
 * written to a temporary file), 2 for bad usage.
 */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        versionProvider = VersionProvider.class,
        sortOptions = false,
        description = {
            "Times the convolution passes of every shape with JMH and prints a markdown table: shape, pass, threads, "
                    + "ms, GFLOP/s (2*N*K*(C/groups)*R*S*Ho*Wo / time), %% of the FMA peak at the same thread count "
                    + "(measured first), the kernels used and, with --peer, the peer's GFLOP/s and our ratio to it.",
            "Passes: fwd (forward on the channel-blocked entry point, activations converted once beforehand, as "
                    + "oneDNN's primitive on the layouts it chooses), fwd_nchw (the NCHW entry point, its layout "
                    + "conversions timed too), bwd_data, bwd_weights (both on the blocked entry point).",
            "The built-in shapes at 1 and 2 threads take about 25 minutes, or under 3 minutes with --quick (about "
                    + "2.5 s a benchmark); --shapes, --threads and --passes narrow it down.",
        })
public final class BenchCommand implements Callable<Integer> {

    @Spec
    CommandSpec spec;

    @Option(names = "--shapes", paramLabel = "FILE", split = ",",
            description = "Shapes CSV, lines name,N,C,H,W,K,R,S,stride,pad,groups[,pad_h,pad_w] "
                    + "(default: the built-in conv-shapes.csv, a copy of shared/conv-shapes.csv). Repeat it or "
                    + "give a comma list for several files; names must be unique across them.")
    List<Path> shapesFiles = new ArrayList<>();

    @Option(names = "--threads", paramLabel = "T,...",
            description = "Thread counts of the convolution's pool (default: 1 and the number of cores).")
    String threads;

    @Option(names = "--passes", paramLabel = "PASS,...", defaultValue = "fwd,fwd_nchw,bwd_data,bwd_weights",
            description = "Passes (default: ${DEFAULT-VALUE}).")
    String passes;

    @Option(names = "--csv", paramLabel = "OUT",
            description = "Also write OUT (columns name,pass,threads,ms,gflops,kernel) and a bar chart beside it, "
                    + "OUT with .svg for .csv.")
    Path csv;

    @Option(names = "--peer", paramLabel = "FILE", split = ",",
            description = "A peer's CSV (shape,threads,pass,ms,gflops,impl,...; the oneDNN harness of "
                    + "shared/peers/onednn writes them): adds its GFLOP/s and our ratio to it, rows matched by "
                    + "(shape, threads, pass), fwd_nchw = fwd_e2e, bwd_weights = bwd_wei. Repeat it or give a "
                    + "comma list to cover several thread counts.")
    List<Path> peers = new ArrayList<>();

    @Option(names = "--quick",
            description = "A first look: 1 fork, warmup 1 x 1 s, measurement 2 x 0.3 s, only impl simd "
                    + "(default: 2 forks, warmup 5 x 1 s, measurement 5 x 1 s).")
    boolean quick;

    @Option(names = "--verbose", description = "Show JMH's own output instead of the progress line.")
    boolean verbose;

    /** The kernels' name for a (shape, impl, threads): {@code Conv2d.kernelsName()} of a convolution set up like the benchmark's. */
    private record KernelKey(String shape, Pass pass, String impl, int threads) {
    }

    /** A (shape, pass, impl, threads) the benchmark is asked to run. */
    private record Combo(String shape, Pass pass, String impl, int threads) {
    }

    @Override
    public Integer call() throws IOException, RunnerException {
        // Check every input before running anything.
        List<ConvShape> shapes = readShapes(shapesFiles);
        List<Pass> passList = Pass.parseList(passes);
        List<Integer> threadList = ThreadCounts.parse(threads,
                ThreadCounts.oneAndAll(Runtime.getRuntime().availableProcessors()));
        PeerResults peer = peers.isEmpty() ? PeerResults.none() : PeerResults.read(peers);
        if (csv != null) {
            Path parent = csv.toAbsolutePath().getParent();
            if (Files.isDirectory(csv)) {
                throw new IllegalArgumentException("--csv " + csv + " is a directory");
            }
            if (parent != null && Files.isDirectory(parent) && !Files.isWritable(parent)) {
                throw new IllegalArgumentException("--csv " + csv + ": cannot write in " + parent);
            }
        }
        RunSettings settings = quick ? RunSettings.QUICK : RunSettings.NORMAL;
        List<String> impls = quick ? List.of("simd") : JmhRuns.defaultImpls();
        Map<KernelKey, String> kernels = kernelNames(shapes, impls, threadList);
        int lanes = Lanes.preferred();

        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        int combos = shapes.size() * passList.size() * impls.size() * threadList.size();
        err.println(String.format(Locale.ROOT, "simdconv bench: %d shape%s x %d pass%s x %d thread count%s (%s), "
                        + "after the FMA peak at each thread count; %s (%s)", shapes.size(), plural(shapes.size()),
                passList.size(), passList.size() == 1 ? "" : "es", threadList.size(), plural(threadList.size()),
                String.join(", ", impls), settings.describe(), settings.name()));
        err.flush();

        ProgressOutput progress = new ProgressOutput(err, ProgressOutput.onTerminal(), verbose,
                threadList.size() + combos, settings.nominalSeconds());
        Map<Integer, Peak> peaks;
        Collection<RunResult> results;
        try {
            peaks = JmhRuns.peaks(threadList, settings, lanes, progress);
            results = JmhRuns.passes(shapes, shapesFiles, passList, threadList, impls, settings, progress);
        } finally {
            progress.finish();
        }

        Map<Combo, RunResult> byCombo = new HashMap<>();
        for (RunResult result : results) {
            BenchmarkParams p = result.getParams();
            byCombo.put(new Combo(p.getParam("shape"), Pass.of(p.getParam("pass")), p.getParam("impl"),
                    Integer.parseInt(p.getParam("threads"))), result);
        }
        List<BenchRow> rows = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        for (int t : threadList) {
            if (!peaks.containsKey(t)) {
                failed.add("FMA peak, " + Formats.threads(t));
            }
        }
        for (ConvShape shape : shapes) {
            long flops = shape.geometry().flops();
            for (Pass pass : passList) {
                for (int t : threadList) {
                    for (String impl : impls) {
                        RunResult result = byCombo.get(new Combo(shape.name(), pass, impl, t));
                        if (result == null) {
                            failed.add(shape.name() + " " + pass.id() + ", " + Formats.threads(t) + ", " + impl);
                            continue;
                        }
                        double median = result.getPrimaryResult().getStatistics().getPercentile(50);
                        rows.add(new BenchRow(shape.name(), pass, t, impl, median, flops,
                                kernels.get(new KernelKey(shape.name(), pass, impl, t))));
                    }
                }
            }
        }

        BenchReport report = new BenchReport(rows, peaks, peer);
        out.println();
        if (rows.isEmpty()) {
            out.println("(no results: every benchmark failed)");
        } else {
            out.print(report.table());
            String summary = report.peerSummary();
            if (!summary.isEmpty()) {
                out.println();
                out.println("Ratio to the peer, by pass:");
                out.println();
                out.print(summary);
            }
            out.println();
            report.notes().forEach(out::println);
        }
        if (csv != null && !rows.isEmpty()) {
            Path svg = report.write(csv);
            out.println("wrote " + csv + " and " + svg);
        }
        out.flush();
        if (!failed.isEmpty()) {
            Path log = progress.writeLog();
            err.println("simdconv bench: " + failed.size() + " benchmark" + plural(failed.size()) + " failed: "
                    + String.join("; ", failed));
            progress.failures().forEach(line -> err.println("  " + line));
            err.println("simdconv bench: JMH's whole output is in " + log);
            err.flush();
            return 1;
        }
        return 0;
    }

    private static List<ConvShape> readShapes(List<Path> files) throws IOException {
        if (files.isEmpty()) {
            return ConvShape.builtIn();
        }
        try {
            return ConvShape.read(files);
        } catch (IOException e) {
            throw new IllegalArgumentException("--shapes: " + ErrorHandler.describe(e), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--shapes " + e.getMessage(), e);
        }
    }

    /**
     * {@code Conv2d.kernelName(pass, ...)} for every (shape, pass, impl, threads), on a convolution
     * set up as the benchmark sets up its own: the kernel that the ordered list picks for the problem.
     */
    private static Map<KernelKey, String> kernelNames(List<ConvShape> shapes, List<String> impls, List<Integer> threads) {
        Map<KernelKey, String> names = new HashMap<>();
        Set<Integer> distinct = new LinkedHashSet<>(threads);
        for (int t : distinct) {
            try (ForkJoinPool pool = new ForkJoinPool(t)) {
                Parallelism parallelism = Parallelism.on(pool);
                for (String impl : impls) {
                    Implementation implementation = implementation(impl);
                    for (ConvShape shape : shapes) {
                        Conv2d conv = Conv2d.create(shape.options()).withImplementation(implementation)
                                .withParallelism(parallelism);
                        for (Pass pass : Pass.values()) {
                            names.put(new KernelKey(shape.name(), pass, impl, t), conv.kernelName(pass.convPass(),
                                    shape.geometry().inputShape(), shape.geometry().weightShape()));
                        }
                    }
                }
            }
        }
        return names;
    }

    private static Implementation implementation(String impl) {
        return switch (impl) {
            case "simd" -> Implementation.SIMD;
            case "scalar" -> Implementation.SCALAR;
            default -> throw new IllegalStateException("ConvPassBenchmark has an impl '" + impl + "' that the report "
                    + "does not know (simd, scalar)");
        };
    }

    private static String plural(int n) {
        return n == 1 ? "" : "s";
    }
}
