package org.simdconv.jmh;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Padding;

/**
 * One line of the benchmark shapes file: {@code name,N,C,H,W,K,R,S,stride,pad,groups[,pad_h,pad_w]}.
 * The file is {@code conv-shapes.csv} on the class path (a copy of the project's shared list), or
 * the one named by the system property {@code simdconv.shapes}.
 */
record ConvShape(String name, int n, int c, int h, int w, int k, int r, int s, int stride, int padH, int padW,
                 int groups) {

    Conv2dOptions options() {
        return Conv2dOptions.defaults().withStride(stride).withPadding(Padding.of(padH, padW)).withGroups(groups);
    }

    Conv2dGeometry geometry() {
        return Conv2dGeometry.of(new int[] {n, c, h, w}, new int[] {k, c / groups, r, s}, options());
    }

    static ConvShape named(String name) {
        return all().stream().filter(s -> s.name().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no shape named '" + name + "' in the shapes file"));
    }

    static List<ConvShape> all() {
        String file = System.getProperty("simdconv.shapes");
        try (BufferedReader in = file != null ? Files.newBufferedReader(Path.of(file))
                : new BufferedReader(new InputStreamReader(
                        ConvShape.class.getResourceAsStream("/conv-shapes.csv"), StandardCharsets.UTF_8))) {
            List<ConvShape> shapes = new ArrayList<>();
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                String t = line.strip();
                if (t.isEmpty() || t.startsWith("#") || t.startsWith("name,")) {
                    continue;
                }
                shapes.add(parse(t));
            }
            return shapes;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static ConvShape parse(String line) {
        String[] f = line.split(",");
        if (f.length != 11 && f.length != 13) {
            throw new IllegalArgumentException("shape line needs 11 or 13 fields: " + line);
        }
        int[] v = new int[f.length - 1];
        for (int i = 1; i < f.length; i++) {
            v[i - 1] = Integer.parseInt(f[i].strip());
        }
        int padH = f.length == 13 ? v[10] : v[8];
        int padW = f.length == 13 ? v[11] : v[8];
        return new ConvShape(f[0].strip(), v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], padH, padW, v[9]);
    }
}
