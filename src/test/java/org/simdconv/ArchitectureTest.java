package org.simdconv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The shape of the code, as rules on which package may use which (read from the sources: imports
 * and fully qualified names):
 * <ul>
 *   <li>the oracle ({@code internal.reference}) uses no Vector API code;</li>
 *   <li>kernel families ({@code internal.simd.<family>}) meet only in {@code internal.simd.common}:
 *       none uses another, nor the list that orders them; they implement the contracts of
 *       {@code internal.conv} and {@code internal.nn};</li>
 *   <li>the API packages reach the kernels only through the backend contract, never a family, and
 *       the internals use only the lowest API packages (tensors, threads);</li>
 *   <li>only the Vector API path touches {@code jdk.incubator.vector};</li>
 *   <li>no two packages depend on each other, directly or around a cycle.</li>
 * </ul>
 */
class ArchitectureTest {

    private static final Path SOURCES = Path.of("src/main/java");
    private static final String ROOT = "org.simdconv";
    private static final String SIMD = ROOT + ".internal.simd";
    private static final Pattern QUALIFIED = Pattern.compile("\\b(org\\.simdconv(?:\\.[a-z]\\w*)+)\\.[A-Z]\\w*");

    /** Package to the packages (of simdconv, and jdk.incubator.vector) its classes use. */
    private static final Map<String, Set<String>> USES = new TreeMap<>();

    @BeforeAll
    static void readSources() throws IOException {
        assertTrue(Files.isDirectory(SOURCES.resolve("org/simdconv")), "run from the project directory");
        try (Stream<Path> files = Files.walk(SOURCES)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String name = file.getFileName().toString();
                if (name.equals("module-info.java") || name.equals("package-info.java")) {
                    continue;
                }
                String text = Files.readString(file);
                String pkg = packageOf(text);
                Set<String> used = USES.computeIfAbsent(pkg, k -> new TreeSet<>());
                Matcher m = QUALIFIED.matcher(withoutComments(text));
                while (m.find()) {
                    if (!m.group(1).equals(pkg)) {
                        used.add(m.group(1));
                    }
                }
                if (text.contains("import jdk.incubator.vector") || text.contains("jdk.incubator.vector.")) {
                    used.add("jdk.incubator.vector");
                }
            }
        }
    }

    @Test
    void theOracleUsesNoVectorCode() {
        Set<String> used = USES.get(ROOT + ".internal.reference");
        assertTrue(used.stream().noneMatch(p -> p.startsWith(SIMD) || p.equals("jdk.incubator.vector")),
                "internal.reference uses " + used);
    }

    @Test
    void kernelFamiliesMeetOnlyInTheCommonGroup() {
        List<String> families = families();
        assertTrue(families.size() >= 5, "families " + families);
        List<String> broken = new ArrayList<>();
        for (String family : families) {
            for (String used : USES.get(family)) {
                boolean allowed = used.equals(SIMD + ".common") || used.equals(ROOT + ".internal.conv")
                        || used.equals(ROOT + ".internal.nn") || used.equals(ROOT + ".tensor") || used.equals(ROOT + ".parallel")
                        || used.equals("jdk.incubator.vector");
                if (!allowed) {
                    broken.add(family + " uses " + used);
                }
            }
        }
        for (String used : USES.get(SIMD + ".common")) {
            if (families.contains(used) || used.equals(SIMD)) {
                broken.add("internal.simd.common uses " + used);
            }
        }
        assertEquals(List.of(), broken);
    }

    @Test
    void theApiReachesKernelsOnlyThroughTheBackend() {
        List<String> broken = new ArrayList<>();
        for (var e : USES.entrySet()) {
            if (e.getKey().startsWith(ROOT + ".internal")) {
                continue;
            }
            for (String used : e.getValue()) {
                if (used.startsWith(SIMD) || (e.getKey().equals(ROOT + ".cli") && used.startsWith(ROOT + ".internal"))) {
                    broken.add(e.getKey() + " uses " + used);
                }
            }
        }
        assertEquals(List.of(), broken);
    }

    /**
     * The internals know of the API only its lowest layer (tensors, threads and workspaces): they get a
     * checked problem ({@code internal.conv.ConvProblem}), never the public convolution classes.
     */
    @Test
    void theInternalsUseOnlyTheLowestApiPackages() {
        List<String> broken = new ArrayList<>();
        for (var e : USES.entrySet()) {
            if (!e.getKey().startsWith(ROOT + ".internal")) {
                continue;
            }
            for (String used : e.getValue()) {
                boolean api = used.startsWith(ROOT) && !used.startsWith(ROOT + ".internal");
                if (api && !used.equals(ROOT + ".tensor") && !used.equals(ROOT + ".parallel")) {
                    broken.add(e.getKey() + " uses " + used);
                }
            }
        }
        assertEquals(List.of(), broken);
    }

    @Test
    void onlyTheVectorPathUsesTheIncubatorModule() {
        List<String> users = USES.entrySet().stream().filter(e -> e.getValue().contains("jdk.incubator.vector"))
                .map(Map.Entry::getKey).filter(p -> !p.startsWith(SIMD)).toList();
        assertEquals(List.of(), users, "outside internal.simd, these use jdk.incubator.vector");
    }

    /** Depth-first search for a cycle in the package graph; none may exist. */
    @Test
    void packagesFormNoCycle() {
        List<String> cycle = new ArrayList<>();
        Map<String, Integer> state = new TreeMap<>(); // 1 on the path, 2 done
        for (String pkg : USES.keySet()) {
            if (cycle.isEmpty()) {
                findCycle(pkg, state, new ArrayList<>(), cycle);
            }
        }
        assertEquals(List.of(), cycle, "packages that depend on each other around a cycle");
    }

    private static boolean findCycle(String pkg, Map<String, Integer> state, List<String> path, List<String> cycle) {
        Integer s = state.get(pkg);
        if (s != null && s == 2) {
            return false;
        }
        if (s != null) {
            cycle.addAll(path.subList(path.indexOf(pkg), path.size()));
            cycle.add(pkg);
            return true;
        }
        state.put(pkg, 1);
        path.add(pkg);
        for (String next : USES.getOrDefault(pkg, Set.of())) {
            if (USES.containsKey(next) && findCycle(next, state, path, cycle)) {
                return true;
            }
        }
        path.remove(path.size() - 1);
        state.put(pkg, 2);
        return false;
    }

    private static List<String> families() {
        return USES.keySet().stream().filter(p -> p.startsWith(SIMD + ".") && !p.equals(SIMD + ".common")).toList();
    }

    private static String packageOf(String text) {
        Matcher m = Pattern.compile("(?m)^package ([\\w.]+);").matcher(text);
        if (!m.find()) {
            throw new IllegalStateException("a source without a package");
        }
        return m.group(1);
    }

    /**
     * The source without its comments and string literals: a Javadoc link to another family's class
     * is no dependency, nor is the name of the class the backend chooser loads reflectively.
     */
    private static String withoutComments(String text) {
        return text.replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\\n]*", "").replaceAll("\"[^\"\\n]*\"", "\"\"");
    }

    static {
        if (!Files.isDirectory(SOURCES)) {
            throw new UncheckedIOException(new IOException("no " + SOURCES.toAbsolutePath()));
        }
    }
}
