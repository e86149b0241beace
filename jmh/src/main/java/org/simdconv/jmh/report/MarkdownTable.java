package org.simdconv.jmh.report;

import java.util.ArrayList;
import java.util.List;

/**
 * A GitHub-flavoured markdown table whose columns are also aligned in plain text: every cell padded
 * to its column's width, numbers right-aligned ({@code ---:}). A {@code |} in a cell is escaped.
 */
public final class MarkdownTable {

    public enum Align { LEFT, RIGHT }

    private final List<String> headers;
    private final List<Align> aligns;
    private final List<List<String>> rows = new ArrayList<>();

    public MarkdownTable(List<String> headers, List<Align> aligns) {
        if (headers.isEmpty() || headers.size() != aligns.size()) {
            throw new IllegalArgumentException("need one alignment per header, got " + headers.size() + " headers and "
                    + aligns.size() + " alignments");
        }
        this.headers = List.copyOf(headers);
        this.aligns = List.copyOf(aligns);
    }

    public MarkdownTable addRow(List<String> cells) {
        if (cells.size() != headers.size()) {
            throw new IllegalArgumentException("the table has " + headers.size() + " columns, the row " + cells.size());
        }
        rows.add(cells.stream().map(MarkdownTable::escape).toList());
        return this;
    }

    public int rowCount() {
        return rows.size();
    }

    /** The table, one line per row, each ending with a line break. */
    public String render() {
        List<String> head = headers.stream().map(MarkdownTable::escape).toList();
        int[] widths = new int[head.size()];
        for (int c = 0; c < widths.length; c++) {
            widths[c] = Math.max(3, head.get(c).length());
            for (List<String> row : rows) {
                widths[c] = Math.max(widths[c], row.get(c).length());
            }
        }
        StringBuilder out = new StringBuilder();
        line(out, head, widths);
        out.append('|');
        for (int c = 0; c < widths.length; c++) {
            out.append(' ');
            out.append(aligns.get(c) == Align.RIGHT ? "-".repeat(widths[c] - 1) + ":" : "-".repeat(widths[c]));
            out.append(" |");
        }
        out.append('\n');
        for (List<String> row : rows) {
            line(out, row, widths);
        }
        return out.toString();
    }

    private void line(StringBuilder out, List<String> cells, int[] widths) {
        out.append('|');
        for (int c = 0; c < widths.length; c++) {
            String cell = cells.get(c);
            String pad = " ".repeat(widths[c] - cell.length());
            out.append(' ').append(aligns.get(c) == Align.RIGHT ? pad + cell : cell + pad).append(" |");
        }
        out.append('\n');
    }

    private static String escape(String cell) {
        return cell.replace("\r", " ").replace("\n", " ").replace("|", "\\|");
    }
}
