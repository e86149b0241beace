package org.simdconv.testing;

import java.lang.management.ManagementFactory;
import java.util.Set;
import org.simdconv.parallel.Parallelism;

/**
 * Counts the bytes allocated by the calling thread and by the threads of {@code par}'s pool
 * (found by running tasks on them), less what counting itself allocates: exactly what a call
 * on {@code par} allocates.
 */
public final class AllocationCounter {
    private final com.sun.management.ThreadMXBean threads =
            (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
    private final long[] ids;
    private final long overhead;

    public AllocationCounter(Parallelism par) {
        Set<Long> found = java.util.concurrent.ConcurrentHashMap.newKeySet();
        found.add(Thread.currentThread().threadId());
        for (int i = 0; i < 200 && found.size() < par.threads(); i++) {
            par.forEach(64, (task, worker) -> {
                found.add(Thread.currentThread().threadId());
                long spin = System.nanoTime() + 20_000;
                while (System.nanoTime() < spin) {
                    Thread.onSpinWait();
                }
            });
        }
        ids = found.stream().mapToLong(Long::longValue).toArray();
        long a = total(), b = total();
        overhead = b - a;
    }

    /** Bytes allocated so far by the counted threads, counting included. */
    public long total() {
        long sum = 0;
        for (long bytes : threads.getThreadAllocatedBytes(ids)) {
            sum += Math.max(0, bytes);
        }
        return sum;
    }

    /** Bytes allocated since {@code before} (a {@link #total}), less one count's own. */
    public long since(long before) {
        return total() - before - overhead;
    }

    /**
     * Where {@code action}, run {@code repeats} times, allocates: the innermost simdconv frame of each
     * allocation JFR samples, with its count, most frequent first. For the message of a failed check.
     */
    public static String sites(Runnable action, int repeats) {
        try (jdk.jfr.Recording recording = new jdk.jfr.Recording()) {
            recording.enable("jdk.ObjectAllocationSample").with("throttle", "100000/s").withStackTrace();
            recording.start();
            for (int i = 0; i < repeats; i++) {
                action.run();
            }
            recording.stop();
            java.nio.file.Path file = java.nio.file.Files.createTempFile("allocations", ".jfr");
            try {
                recording.dump(file);
                java.util.Map<String, Integer> counts = new java.util.TreeMap<>();
                for (jdk.jfr.consumer.RecordedEvent e : jdk.jfr.consumer.RecordingFile.readAllEvents(file)) {
                    String site = e.getStackTrace() == null ? "?" : e.getStackTrace().getFrames().stream()
                            .filter(f -> f.getMethod().getType().getName().startsWith("org.simdconv"))
                            .findFirst().map(f -> f.getMethod().getType().getName() + "." + f.getMethod().getName()
                                    + ":" + f.getLineNumber()).orElse("outside simdconv");
                    counts.merge(site, 1, Integer::sum);
                }
                return counts.entrySet().stream().sorted(java.util.Map.Entry.comparingByValue(
                        java.util.Comparator.reverseOrder())).limit(5).map(en -> en.getKey() + " x" + en.getValue())
                        .toList().toString();
            } finally {
                java.nio.file.Files.deleteIfExists(file);
            }
        } catch (java.io.IOException e) {
            return "(no JFR recording: " + e + ")";
        }
    }
}
