package org.simdconv.jmh.report;

import java.util.ArrayList;
import java.util.List;

/** The {@code --threads} lists of the commands. */
final class ThreadCounts {

    private ThreadCounts() {
    }

    /** 1 and the number of cores (just 1 on a single core). */
    static List<Integer> oneAndAll(int cores) {
        return cores > 1 ? List.of(1, cores) : List.of(1);
    }

    /** A comma-separated list of thread counts, each >= 1, in the given order, each once; null gives {@code defaults}. */
    static List<Integer> parse(String text, List<Integer> defaults) {
        if (text == null) {
            return defaults;
        }
        List<Integer> threads = new ArrayList<>();
        for (String part : text.split(",", -1)) {
            int t;
            try {
                t = Integer.parseInt(part.strip());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--threads '" + text + "': expected thread counts like 1,2");
            }
            if (t < 1) {
                throw new IllegalArgumentException("--threads must be >= 1, got " + t);
            }
            if (!threads.contains(t)) {
                threads.add(t);
            }
        }
        return List.copyOf(threads);
    }
}
