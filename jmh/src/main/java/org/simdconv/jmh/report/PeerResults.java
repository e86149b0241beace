package org.simdconv.jmh.report;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * A peer's timings of the same shapes, read from the CSV files of the oneDNN harness
 * ({@code shared/peers/onednn}): a header line {@code shape,threads,pass,ms,gflops,impl,src_fmt,...}
 * then one record per (shape, threads, pass), the passes being {@code fwd}, {@code fwd_e2e},
 * {@code bwd_data} and {@code bwd_wei}. Columns are found by their header names, so their order and
 * extra columns do not matter; {@code shape}, {@code threads}, {@code pass} and {@code gflops} are
 * required, {@code ms} and {@code impl} optional. Several files (one per thread count, say) are
 * merged; a (shape, threads, pass) given twice is an error.
 *
 * <p>Our rows are matched by (shape, threads, {@link Pass#peerId()}): our {@code fwd} to the peer's
 * {@code fwd}, {@code fwd_nchw} to {@code fwd_e2e}, {@code bwd_data} to {@code bwd_data} and
 * {@code bwd_weights} to {@code bwd_wei}.
 */
public final class PeerResults {

    /** One record of a peer file. {@code ms} is NaN and {@code impl} empty when the file has no such column. */
    public record Row(String shape, int threads, String pass, double ms, double gflops, String impl, String source) {
    }

    private record Key(String shape, int threads, String pass) {
    }

    private static final PeerResults NONE = new PeerResults(List.of(), Map.of());

    private final List<String> sources;
    private final Map<Key, Row> rows;

    private PeerResults(List<String> sources, Map<Key, Row> rows) {
        this.sources = List.copyOf(sources);
        this.rows = rows;
    }

    /** No peer: nothing matches. */
    public static PeerResults none() {
        return NONE;
    }

    /** The records of these files, merged. A missing or malformed file is an {@link IllegalArgumentException}. */
    public static PeerResults read(List<Path> files) throws IOException {
        Map<String, List<String>> contents = new LinkedHashMap<>();
        for (Path file : files) {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("--peer " + file + ": no such file");
            }
            contents.put(file.toString(), Files.readAllLines(file, StandardCharsets.UTF_8));
        }
        return parse(contents);
    }

    /** The records of these files' lines, by file name. */
    static PeerResults parse(Map<String, List<String>> contents) {
        Map<Key, Row> rows = new LinkedHashMap<>();
        for (Map.Entry<String, List<String>> file : contents.entrySet()) {
            for (Row row : parseFile(file.getKey(), file.getValue())) {
                Key key = new Key(row.shape(), row.threads(), row.pass());
                Row before = rows.putIfAbsent(key, row);
                if (before != null) {
                    throw new IllegalArgumentException("--peer " + row.source() + ": shape " + row.shape() + ", "
                            + row.threads() + " threads, pass " + row.pass() + " is also in " + before.source());
                }
            }
        }
        return new PeerResults(List.copyOf(contents.keySet()), rows);
    }

    private static List<Row> parseFile(String source, List<String> lines) {
        Header header = null;
        List<Row> rows = new ArrayList<>();
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i).strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String where = "--peer " + source + " line " + (i + 1);
            List<String> fields = Csv.split(line);
            if (header == null) {
                header = header(fields, where);
                continue;
            }
            if (fields.size() < header.width()) {
                throw new IllegalArgumentException(where + ": expected at least " + header.width() + " fields, got "
                        + fields.size());
            }
            Map<String, Integer> columns = header.columns();
            String shape = fields.get(columns.get("shape")).strip();
            int threads = integer(fields.get(columns.get("threads")), "threads", where);
            String pass = fields.get(columns.get("pass")).strip().toLowerCase(Locale.ROOT);
            double gflops = number(fields.get(columns.get("gflops")), "gflops", where);
            double ms = columns.containsKey("ms") ? number(fields.get(columns.get("ms")), "ms", where) : Double.NaN;
            String impl = columns.containsKey("impl") ? fields.get(columns.get("impl")).strip() : "";
            rows.add(new Row(shape, threads, pass, ms, gflops, impl, source));
        }
        if (header == null) {
            throw new IllegalArgumentException("--peer " + source + ": empty file (expected a header "
                    + "shape,threads,pass,ms,gflops,impl,... and records)");
        }
        return rows;
    }

    /** The columns we read, by name, and how many fields a record needs to hold them all. */
    private record Header(Map<String, Integer> columns, int width) {
    }

    private static Header header(List<String> fields, String where) {
        Map<String, Integer> all = new HashMap<>();
        for (int i = 0; i < fields.size(); i++) {
            all.putIfAbsent(fields.get(i).strip().toLowerCase(Locale.ROOT), i);
        }
        for (String required : List.of("shape", "threads", "pass", "gflops")) {
            if (!all.containsKey(required)) {
                throw new IllegalArgumentException(where + ": the header has no column '" + required
                        + "' (expected shape,threads,pass,ms,gflops,impl,...)");
            }
        }
        Map<String, Integer> used = new HashMap<>();
        for (String name : List.of("shape", "threads", "pass", "gflops", "ms", "impl")) {
            if (all.containsKey(name)) {
                used.put(name, all.get(name));
            }
        }
        return new Header(used, used.values().stream().mapToInt(Integer::intValue).max().orElseThrow() + 1);
    }

    private static int integer(String text, String column, String where) {
        try {
            return Integer.parseInt(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": " + column + " '" + text.strip() + "' is not an integer");
        }
    }

    private static double number(String text, String column, String where) {
        try {
            return Double.parseDouble(text.strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(where + ": " + column + " '" + text.strip() + "' is not a number");
        }
    }

    /** The peer's record for our (shape, threads, pass), if it has one. */
    public Optional<Row> match(String shape, int threads, Pass pass) {
        return Optional.ofNullable(rows.get(new Key(shape, threads, pass.peerId())));
    }

    /** Our GFLOP/s over the peer's for the same (shape, threads, pass); NaN when it has no such record. */
    public double ratio(BenchRow ours) {
        return match(ours.shape(), ours.threads(), ours.pass()).map(p -> Flops.ratio(ours.gflops(), p.gflops()))
                .orElse(Double.NaN);
    }

    public boolean isEmpty() {
        return rows.isEmpty() && sources.isEmpty();
    }

    /** The files read, as given. */
    public List<String> sources() {
        return sources;
    }

    /** How many records were read. */
    public int size() {
        return rows.size();
    }
}
