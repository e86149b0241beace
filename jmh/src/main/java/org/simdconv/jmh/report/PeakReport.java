package org.simdconv.jmh.report;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** What {@code simdconv peak} prints: the FMA peak per thread count as a markdown table. */
public final class PeakReport {

    private PeakReport() {
    }

    /** The line above the table: the vector width and what one FMA is worth. */
    public static String header(int lanes, int bits) {
        return String.format(Locale.ROOT, "FMA peak through the Vector API: FloatVector.SPECIES_PREFERRED has %d lanes "
                + "(%d bits), so one vector FMA is 2 x %d = %d FLOP; GFLOP/s = vector FMAs/us x %d / 1000.",
                lanes, bits, lanes, 2 * lanes, 2 * lanes);
    }

    /** threads, vector FMAs/us (with its 99.9% error), GFLOP/s, GFLOP/s per thread, and the speed-up over the first row (the fewest threads). */
    public static String table(List<Peak> peaks) {
        Peak first = peaks.isEmpty() ? null : peaks.getFirst();
        String versus = first == null ? "speed-up" : "vs " + Formats.threads(first.threads());
        MarkdownTable table = new MarkdownTable(
                List.of("threads", "vector FMAs/us", "± (99.9%)", "GFLOP/s", "GFLOP/s per thread", versus),
                List.of(MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT,
                        MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT, MarkdownTable.Align.RIGHT));
        for (Peak peak : peaks) {
            List<String> cells = new ArrayList<>();
            cells.add(Integer.toString(peak.threads()));
            cells.add(String.format(Locale.ROOT, "%.1f", peak.fmasPerUs()));
            cells.add(Double.isFinite(peak.fmasErrorPerUs())
                    ? String.format(Locale.ROOT, "%.1f", peak.fmasErrorPerUs()) : Formats.NONE);
            cells.add(Formats.gflops(peak.gflops()));
            cells.add(Formats.gflops(peak.gflopsPerThread()));
            cells.add(Formats.ratio(Flops.ratio(peak.gflops(), first.gflops())));
            table.addRow(cells);
        }
        return table.render();
    }
}
