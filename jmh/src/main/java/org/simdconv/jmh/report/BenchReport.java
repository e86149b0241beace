package org.simdconv.jmh.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;

/**
 * What {@code simdconv bench} prints and writes from its measurements: the markdown table, the notes
 * under it, the CSV ({@code name,pass,threads,ms,gflops,kernel}) and the SVG bar chart.
 *
 * <p>GFLOP/s = {@code 2 N K (C/groups) R S Ho Wo / time} ({@code Conv2dGeometry.flops()}), the same
 * nominal count for every pass; % of peak is of the FMA peak measured at the same thread count; the
 * ratio to the peer is our GFLOP/s over the peer's for the same (shape, threads, pass), our
 * {@code fwd_nchw} and {@code bwd_weights} being the peer's {@code fwd_e2e} and {@code bwd_wei}.
 */
public final class BenchReport {

    /** The columns of the CSV, exactly. */
    public static final String CSV_HEADER = "name,pass,threads,ms,gflops,kernel";

    private final List<BenchRow> rows;
    private final Map<Integer, Peak> peaks;
    private final PeerResults peer;

    /**
     * @param rows  the measurements, in the order to show them
     * @param peaks the FMA peak by thread count (may lack some, then % of peak is "-")
     * @param peer  the peer's timings, or {@link PeerResults#none()}
     */
    public BenchReport(List<BenchRow> rows, Map<Integer, Peak> peaks, PeerResults peer) {
        this.rows = List.copyOf(rows);
        this.peaks = Map.copyOf(peaks);
        this.peer = peer;
    }

    public List<BenchRow> rows() {
        return rows;
    }

    public Map<Integer, Peak> peaks() {
        return peaks;
    }

    public PeerResults peer() {
        return peer;
    }

    /** {@code row}'s GFLOP/s as a percentage of the peak at its thread count; NaN without that peak. */
    public double percentOfPeak(BenchRow row) {
        Peak peak = peaks.get(row.threads());
        return peak == null ? Double.NaN : peak.percent(row.gflops());
    }

    /** The markdown table: shape, pass, threads, ms, GFLOP/s, % of peak, kernel and, with a peer, its GFLOP/s and the ratio. */
    public String table() {
        boolean withPeer = !peer.isEmpty();
        List<String> headers = new ArrayList<>(List.of("shape", "pass", "threads", "ms", "GFLOP/s", "% of peak", "kernel"));
        List<MarkdownTable.Align> aligns = new ArrayList<>(List.of(MarkdownTable.Align.LEFT, MarkdownTable.Align.LEFT,
                MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT,
                MarkdownTable.Align.RIGHT, MarkdownTable.Align.LEFT));
        if (withPeer) {
            headers.addAll(List.of("peer GFLOP/s", "ratio to peer"));
            aligns.addAll(List.of(MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT));
        }
        MarkdownTable table = new MarkdownTable(headers, aligns);
        for (BenchRow row : rows) {
            List<String> cells = new ArrayList<>(List.of(row.shape(), row.pass().id(), Integer.toString(row.threads()),
                    Formats.ms(row.ms()), Formats.gflops(row.gflops()), Formats.percent(percentOfPeak(row)),
                    row.kernel()));
            if (withPeer) {
                var match = peer.match(row.shape(), row.threads(), row.pass());
                cells.add(match.map(p -> Formats.gflops(p.gflops())).orElse(Formats.NONE));
                cells.add(Formats.ratio(peer.ratio(row)));
            }
            table.addRow(cells);
        }
        return table.render();
    }

    /**
     * With a peer, one row per (pass, threads) that has matched rows: how many, the geometric mean of
     * our ratio to the peer, the worst row and its ratio, and how many rows are below 0.6x; without a
     * peer, or with nothing matched, an empty string. The geometric mean, because ratios multiply: a
     * layer at 2x and one at 0.5x average to 1x.
     */
    public String peerSummary() {
        record Key(Pass pass, int threads) {
        }
        Map<Key, List<BenchRow>> matched = new TreeMap<>(Comparator.comparing(Key::pass)
                .thenComparingInt(Key::threads));
        for (BenchRow row : rows) {
            if (Double.isFinite(peer.ratio(row))) {
                matched.computeIfAbsent(new Key(row.pass(), row.threads()), k -> new ArrayList<>()).add(row);
            }
        }
        if (matched.isEmpty()) {
            return "";
        }
        MarkdownTable table = new MarkdownTable(
                List.of("pass", "threads", "rows", "geomean ratio", "worst row", "worst ratio", "rows below 0.60x"),
                List.of(MarkdownTable.Align.LEFT, MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT,
                        MarkdownTable.Align.RIGHT, MarkdownTable.Align.LEFT, MarkdownTable.Align.RIGHT,
                        MarkdownTable.Align.RIGHT));
        matched.forEach((key, list) -> {
            double logSum = 0;
            BenchRow worst = list.get(0);
            int below = 0;
            for (BenchRow row : list) {
                double ratio = peer.ratio(row);
                logSum += Math.log(ratio);
                if (ratio < peer.ratio(worst)) {
                    worst = row;
                }
                if (ratio < 0.6) {
                    below++;
                }
            }
            table.addRow(List.of(key.pass().id(), Integer.toString(key.threads()), Integer.toString(list.size()),
                    Formats.ratio(Math.exp(logSum / list.size())), worst.shape(), Formats.ratio(peer.ratio(worst)),
                    Integer.toString(below)));
        });
        return table.render();
    }

    /** The lines under the table: what the columns mean, the peaks, the peer's files and what matched. */
    public List<String> notes() {
        List<String> notes = new ArrayList<>();
        notes.add("ms: the median time of a pass over every call JMH timed (sample mode), as oneDNN's harness reports"
                + " the median; GFLOP/s = 2*N*K*(C/groups)*R*S*Ho*Wo / ms, the same nominal count for every pass.");
        if (!peaks.isEmpty()) {
            notes.add("% of peak: of the FMA peak through the Vector API at the same thread count ("
                    + peaksText() + ").");
        }
        if (!rows.isEmpty()) {
            notes.add("fwd, bwd_data and bwd_weights time a Conv2dPlan on activations already in the layout it prefers "
                    + "(channel-blocked for enough channels; weights OIHW); fwd_nchw times the same plan on NCHW tensors, "
                    + "its reorders included.");
        }
        if (!peer.isEmpty()) {
            long matched = rows.stream().filter(r -> peer.match(r.shape(), r.threads(), r.pass()).isPresent()).count();
            notes.add("peer: " + String.join(", ", peer.sources()) + "; ratio = our GFLOP/s / peer GFLOP/s, rows "
                    + "matched by (shape, threads, pass) with fwd_nchw = fwd_e2e and bwd_weights = bwd_wei; "
                    + matched + " of " + rows.size() + " rows matched.");
        }
        return notes;
    }

    /** "1 thread 76.2 GFLOP/s, 2 threads 150.9 GFLOP/s". */
    String peaksText() {
        return new TreeMap<>(peaks).values().stream()
                .map(p -> Formats.threads(p.threads()) + " " + Formats.gflops(p.gflops()) + " GFLOP/s")
                .collect(Collectors.joining(", "));
    }

    /** The CSV: {@value #CSV_HEADER}, one record per row; ms to six significant digits, GFLOP/s to three decimals. */
    public String csv() {
        StringBuilder out = new StringBuilder(CSV_HEADER).append('\n');
        for (BenchRow row : rows) {
            out.append(Csv.field(row.shape())).append(',')
                    .append(row.pass().id()).append(',')
                    .append(row.threads()).append(',')
                    .append(Formats.significant(row.ms(), 6)).append(',')
                    .append(String.format(Locale.ROOT, "%.3f", row.gflops())).append(',')
                    .append(Csv.field(row.kernel())).append('\n');
        }
        return out.toString();
    }

    /** The SVG bar chart of GFLOP/s. */
    public String svg() {
        return SvgChart.render(this);
    }

    /** Writes the CSV to {@code csv} and the chart beside it ({@link #svgPathFor}); returns the chart's path. */
    public Path write(Path csv) throws IOException {
        Path svg = svgPathFor(csv);
        Path parent = csv.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        Files.writeString(csv, csv(), StandardCharsets.UTF_8);
        Files.writeString(svg, svg(), StandardCharsets.UTF_8);
        return svg;
    }

    /** The chart beside a CSV: the same name with .svg instead of .csv (or .svg added). */
    public static Path svgPathFor(Path csv) {
        String name = csv.getFileName().toString();
        String base = name.toLowerCase(Locale.ROOT).endsWith(".csv") ? name.substring(0, name.length() - 4) : name;
        return csv.resolveSibling(base + ".svg");
    }
}
