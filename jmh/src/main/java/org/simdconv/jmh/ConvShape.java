package org.simdconv.jmh;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Padding;

/**
 * One line of the benchmark shapes file: {@code name,N,C,H,W,K,R,S,stride,pad,groups[,pad_h,pad_w]}.
 * {@code #} lines, blank lines and a header line starting {@code name,} are skipped. The file is
 * {@code conv-shapes.csv} on the class path (a copy of the project's shared list), or the files named by
 * the system property {@code simdconv.shapes}, separated by {@link File#pathSeparator} (which {@code
 * simdconv bench --shapes} sets in the benchmark JVMs).
 */
public record ConvShape(String name, int n, int c, int h, int w, int k, int r, int s, int stride, int padH,
                        int padW, int groups) {

    /** The system property naming the shapes files of the benchmark JVMs, separated by {@link File#pathSeparator}. */
    public static final String PROPERTY = "simdconv.shapes";

    private static final String RESOURCE = "/conv-shapes.csv";

    public Conv2dOptions options() {
        return Conv2dOptions.defaults().withStride(stride).withPadding(Padding.of(padH, padW)).withGroups(groups);
    }

    public Conv2dGeometry geometry() {
        return Conv2dGeometry.of(new int[] {n, c, h, w}, new int[] {k, c / groups, r, s}, options());
    }

    /** The shape of that name in the shapes file of this JVM ({@link #all()}). */
    public static ConvShape named(String name) {
        return all().stream().filter(s -> s.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no shape named '" + name + "' in the shapes file"));
    }

    /** The shapes of the files named by {@value #PROPERTY}, else of the built-in {@code conv-shapes.csv}. */
    public static List<ConvShape> all() {
        String files = System.getProperty(PROPERTY);
        try {
            return files != null ? read(Arrays.stream(files.split(File.pathSeparator)).map(Path::of).toList())
                    : builtIn();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** {@code files} joined as {@value #PROPERTY} expects them. */
    public static String propertyValue(List<Path> files) {
        return files.stream().map(f -> f.toAbsolutePath().toString()).collect(Collectors.joining(File.pathSeparator));
    }

    /**
     * The shapes of several files, in order, each checked as {@link #read(Path)} checks it; a name
     * that two files share is refused, naming both files, since results are matched by name.
     */
    public static List<ConvShape> read(List<Path> files) throws IOException {
        List<ConvShape> shapes = new ArrayList<>();
        Map<String, Path> seen = new HashMap<>();
        for (Path file : files) {
            for (ConvShape shape : read(file)) {
                Path earlier = seen.putIfAbsent(shape.name(), file);
                if (earlier != null) {
                    throw new IllegalArgumentException(file + ": shape '" + shape.name() + "' is also in " + earlier);
                }
                shapes.add(shape);
            }
        }
        return List.copyOf(shapes);
    }

    /** The built-in list, {@code conv-shapes.csv} on the class path. */
    public static List<ConvShape> builtIn() throws IOException {
        InputStream stream = ConvShape.class.getResourceAsStream(RESOURCE);
        if (stream == null) {
            throw new IOException("conv-shapes.csv is not on the class path");
        }
        try (BufferedReader in = new BufferedReader(new InputStreamReader(stream, StandardCharsets.UTF_8))) {
            return parse(in, "conv-shapes.csv");
        }
    }

    /**
     * The shapes of a file, checked: well-formed lines, unique names, at least one shape, and every
     * geometry one the library accepts. A bad file gives an {@link IllegalArgumentException} naming
     * the file and the line.
     */
    public static List<ConvShape> read(Path file) throws IOException {
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            return parse(in, file.toString());
        }
    }

    static List<ConvShape> parse(BufferedReader in, String source) throws IOException {
        List<ConvShape> shapes = new ArrayList<>();
        Set<String> names = new HashSet<>();
        int lineNumber = 0;
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            lineNumber++;
            String t = line.strip();
            if (t.isEmpty() || t.startsWith("#") || t.startsWith("name,")) {
                continue;
            }
            String where = source + " line " + lineNumber;
            ConvShape shape = parse(t, where);
            if (!names.add(shape.name())) {
                throw new IllegalArgumentException(where + ": shape '" + shape.name() + "' appears twice");
            }
            try {
                shape.geometry();
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(where + ": " + e.getMessage(), e);
            }
            shapes.add(shape);
        }
        if (shapes.isEmpty()) {
            throw new IllegalArgumentException(source + ": no shapes (expected lines name,N,C,H,W,K,R,S,stride,pad,groups)");
        }
        return List.copyOf(shapes);
    }

    private static ConvShape parse(String line, String where) {
        String[] f = line.split(",", -1);
        if (f.length != 11 && f.length != 13) {
            throw new IllegalArgumentException(where + ": expected 11 or 13 fields "
                    + "(name,N,C,H,W,K,R,S,stride,pad,groups[,pad_h,pad_w]), got " + f.length);
        }
        String name = f[0].strip();
        if (name.isEmpty()) {
            throw new IllegalArgumentException(where + ": the shape has no name");
        }
        int[] v = new int[f.length - 1];
        for (int i = 1; i < f.length; i++) {
            try {
                v[i - 1] = Integer.parseInt(f[i].strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException(where + ": field " + (i + 1) + " '" + f[i].strip()
                        + "' is not an integer");
            }
        }
        if (v[9] < 1 || v[1] % v[9] != 0) {
            throw new IllegalArgumentException(where + ": groups must be >= 1 and divide C, got C=" + v[1]
                    + " groups=" + v[9]);
        }
        int padH = f.length == 13 ? v[10] : v[8];
        int padW = f.length == 13 ? v[11] : v[8];
        return new ConvShape(name, v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], padH, padW, v[9]);
    }
}
