package org.simdconv.jmh.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The bar chart of {@code simdconv bench}: one horizontal bar of GFLOP/s per row of the report,
 * grouped by shape and coloured by thread count, the peer's GFLOP/s as a thin grey bar under ours,
 * and the FMA peak of each thread count as a dashed line when it falls inside the axis (the
 * subtitle always gives it). Hand-written SVG 1.1: text is laid out by the viewer
 * ({@code text-anchor}), so nothing here needs fonts or AWT.
 */
final class SvgChart {

    private static final int WIDTH = 1000;
    private static final int PLOT_X0 = 290;
    private static final int PLOT_X1 = WIDTH - 190;
    private static final int ROW_PITCH = 18;
    private static final int BAR_HEIGHT = 12;
    private static final int GROUP_GAP = 8;
    private static final int ROWS_TOP = 104;
    private static final String[] COLOURS = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#b07aa1"};
    private static final String PEER_COLOUR = "#555555";

    private SvgChart() {
    }

    static String render(BenchReport report) {
        List<BenchRow> rows = report.rows();
        PeerResults peer = report.peer();
        Map<Integer, String> colours = coloursByThreads(rows);

        double largest = 0;
        for (BenchRow row : rows) {
            largest = Math.max(largest, finite(row.gflops()));
            largest = Math.max(largest, peer.match(row.shape(), row.threads(), row.pass())
                    .map(p -> finite(p.gflops())).orElse(0.0));
        }
        double step = niceStep(largest > 0 ? largest / 5 : 0.2);
        double axisMax = Math.max(step, Math.ceil(largest * 1.02 / step) * step);

        int groups = (int) rows.stream().map(BenchRow::shape).distinct().count();
        int rowsBottom = ROWS_TOP + rows.size() * ROW_PITCH + Math.max(0, groups - 1) * GROUP_GAP;
        int axisY = rowsBottom + 4;
        int height = axisY + 48;

        StringBuilder svg = new StringBuilder();
        svg.append("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        svg.append(String.format(Locale.ROOT, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
                + "height=\"%d\" viewBox=\"0 0 %d %d\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" "
                + "font-size=\"12\">\n", WIDTH, height, WIDTH, height));
        svg.append("<title>simdconv bench: GFLOP/s per shape, pass and thread count</title>\n");
        svg.append(String.format(Locale.ROOT, "<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n",
                WIDTH, height));

        // Title, subtitle, legend.
        text(svg, 12, 24, "start", "font-size=\"16\" font-weight=\"bold\"",
                "simdconv: GFLOP/s per pass (higher is better)");
        String subtitle = "FLOPs = 2·N·K·(C/groups)·R·S·Ho·Wo, the same for every pass";
        if (!report.peaks().isEmpty()) {
            subtitle += "; FMA peak (Vector API): " + report.peaksText();
        }
        text(svg, 12, 44, "start", "fill=\"#333333\"", subtitle);
        int x = 12;
        for (Map.Entry<Integer, String> entry : colours.entrySet()) {
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"56\" width=\"14\" height=\"%d\" fill=\"%s\"/>\n",
                    x, BAR_HEIGHT, entry.getValue()));
            String label = Formats.threads(entry.getKey());
            text(svg, x + 18, 66, "start", "", label);
            x += 18 + 8 * label.length() + 16;
        }
        if (!peer.isEmpty()) {
            svg.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"61\" width=\"14\" height=\"3\" fill=\"%s\"/>\n",
                    x, PEER_COLOUR));
            text(svg, x + 18, 66, "start", "", "peer (" + peerSources(peer) + ")");
            x += 18 + 8 * 30;
        }
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"62\" x2=\"%d\" y2=\"62\" stroke=\"#333333\" "
                + "stroke-dasharray=\"4,3\"/>\n", x, x + 14));
        text(svg, x + 18, 66, "start", "", "FMA peak");

        // Grid and axis.
        for (double tick = 0; tick <= axisMax * (1 + 1e-9); tick += step) {
            double tx = xOf(tick, axisMax);
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"%s\"/>\n",
                    tx, ROWS_TOP - 6, tx, axisY, tick == 0 ? "#333333" : "#e0e0e0"));
            text(svg, tx, axisY + 16, "middle", "fill=\"#333333\"", tickLabel(tick, step));
        }
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333333\"/>\n",
                PLOT_X0, axisY, PLOT_X1, axisY));
        text(svg, (PLOT_X0 + PLOT_X1) / 2.0, axisY + 36, "middle", "", "GFLOP/s");

        // Peaks inside the axis.
        for (Peak peak : new TreeMap<>(report.peaks()).values()) {
            if (peak.gflops() <= axisMax && colours.containsKey(peak.threads())) {
                double px = xOf(peak.gflops(), axisMax);
                svg.append(String.format(Locale.ROOT, "<line class=\"peak\" x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                        + "stroke=\"%s\" stroke-width=\"1.5\" stroke-dasharray=\"4,3\"/>\n",
                        px, ROWS_TOP - 14, px, axisY, colours.get(peak.threads())));
                text(svg, px, ROWS_TOP - 17, "middle", "fill=\"#333333\"", "peak, " + Formats.threads(peak.threads()));
            }
        }

        // The bars.
        int y = ROWS_TOP;
        String shape = null;
        for (BenchRow row : rows) {
            if (!row.shape().equals(shape)) {
                if (shape != null) {
                    y += GROUP_GAP;
                }
                shape = row.shape();
                text(svg, 12, y + BAR_HEIGHT - 2, "start", "font-weight=\"bold\"", shape);
            }
            text(svg, PLOT_X0 - 6, y + BAR_HEIGHT - 2, "end", "",
                    row.pass().id() + ", " + Formats.threads(row.threads()));
            double gflops = finite(row.gflops());
            double end = xOf(gflops, axisMax);
            Optional<PeerResults.Row> match = peer.match(row.shape(), row.threads(), row.pass());
            svg.append(String.format(Locale.ROOT, "<rect class=\"bar\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"%d\" "
                    + "fill=\"%s\"><title>%s</title></rect>\n", PLOT_X0, y, end - PLOT_X0, BAR_HEIGHT,
                    colours.get(row.threads()), escape(tooltip(report, row, match))));
            if (match.isPresent()) {
                double peerEnd = xOf(finite(match.get().gflops()), axisMax);
                svg.append(String.format(Locale.ROOT, "<rect class=\"peer\" x=\"%d\" y=\"%d\" width=\"%.1f\" height=\"3\" "
                        + "fill=\"%s\"/>\n", PLOT_X0, y + BAR_HEIGHT + 1, peerEnd - PLOT_X0, PEER_COLOUR));
                end = Math.max(end, peerEnd);
            }
            String value = Formats.gflops(row.gflops());
            double percent = report.percentOfPeak(row);
            if (Double.isFinite(percent)) {
                value += " (" + Formats.percent(percent) + ")";
            }
            if (match.isPresent()) {
                value += ", " + Formats.ratio(peer.ratio(row)) + " peer";
            }
            text(svg, end + 4, y + BAR_HEIGHT - 2, "start", "fill=\"#333333\" font-size=\"11\"", value);
            y += ROW_PITCH;
        }
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String tooltip(BenchReport report, BenchRow row, Optional<PeerResults.Row> match) {
        String text = row.shape() + " " + row.pass().id() + ", " + Formats.threads(row.threads()) + ": "
                + Formats.ms(row.ms()) + " ms, " + Formats.gflops(row.gflops()) + " GFLOP/s, "
                + Formats.percent(report.percentOfPeak(row)) + " of peak, kernel " + row.kernel();
        if (match.isPresent()) {
            PeerResults.Row p = match.get();
            text += "; peer " + p.pass() + " " + Formats.gflops(p.gflops()) + " GFLOP/s"
                    + (p.impl().isEmpty() ? "" : " (" + p.impl() + ")") + ", ratio " + Formats.ratio(report.peer().ratio(row));
        }
        return text;
    }

    private static String peerSources(PeerResults peer) {
        List<String> names = new ArrayList<>();
        for (String source : peer.sources()) {
            int slash = Math.max(source.lastIndexOf('/'), source.lastIndexOf('\\'));
            names.add(source.substring(slash + 1));
        }
        return String.join(", ", names);
    }

    private static Map<Integer, String> coloursByThreads(List<BenchRow> rows) {
        TreeMap<Integer, String> colours = new TreeMap<>();
        rows.forEach(r -> colours.put(r.threads(), ""));
        int i = 0;
        for (Map.Entry<Integer, String> entry : colours.entrySet()) {
            entry.setValue(COLOURS[i++ % COLOURS.length]);
        }
        return colours;
    }

    /** 1, 2 or 5 times a power of ten, at least {@code rough}. */
    static double niceStep(double rough) {
        double magnitude = Math.pow(10, Math.floor(Math.log10(rough)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * magnitude >= rough * (1 - 1e-9)) {
                return m * magnitude;
            }
        }
        return 10 * magnitude;
    }

    private static String tickLabel(double tick, double step) {
        return step >= 1 ? String.format(Locale.ROOT, "%.0f", tick) : Formats.significant(tick, 3);
    }

    private static double xOf(double gflops, double axisMax) {
        return PLOT_X0 + (PLOT_X1 - PLOT_X0) * Math.min(gflops, axisMax) / axisMax;
    }

    private static double finite(double value) {
        return Double.isFinite(value) && value > 0 ? value : 0;
    }

    private static void text(StringBuilder svg, double x, double y, String anchor, String attributes, String text) {
        svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s>%s</text>\n",
                x, y, anchor, attributes.isEmpty() ? "" : " " + attributes, escape(text)));
    }

    static String escape(String text) {
        StringBuilder out = new StringBuilder(text.length());
        for (int i = 0; i < text.length(); i++) {
            char ch = text.charAt(i);
            switch (ch) {
                case '&' -> out.append("&amp;");
                case '<' -> out.append("&lt;");
                case '>' -> out.append("&gt;");
                case '"' -> out.append("&quot;");
                case '\'' -> out.append("&apos;");
                default -> out.append(ch < 0x20 && ch != '\t' && ch != '\n' && ch != '\r' ? ' ' : ch);
            }
        }
        return out.toString();
    }
}
