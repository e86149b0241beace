package org.simdconv.parallel;

import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.function.IntConsumer;
import java.util.stream.IntStream;

/**
 * Where a kernel's tasks run: inline on the caller's thread, or as a parallel stream on a
 * {@link ForkJoinPool} the caller chooses (a parallel stream started inside a pool's task runs on
 * that pool). The thread count is the pool's parallelism; kernels split their work by it, so it
 * also fixes the summation order of reductions and makes results reproducible.
 */
public final class Parallelism {

    private static final Parallelism SERIAL = new Parallelism(null);

    private final ForkJoinPool pool;

    private Parallelism(ForkJoinPool pool) {
        this.pool = pool;
    }

    /** Everything on the calling thread. */
    public static Parallelism serial() {
        return SERIAL;
    }

    /** The JVM's common pool. */
    public static Parallelism commonPool() {
        return on(ForkJoinPool.commonPool());
    }

    /** The caller's pool; the caller keeps ownership and closes it. */
    public static Parallelism on(ForkJoinPool pool) {
        Objects.requireNonNull(pool, "pool");
        return pool.getParallelism() <= 1 ? SERIAL : new Parallelism(pool);
    }

    /** How many threads run tasks at once. */
    public int threads() {
        return pool == null ? 1 : pool.getParallelism();
    }

    /**
     * Runs {@code task.accept(i)} for every {@code i} in {@code [0, taskCount)}, in parallel, and
     * returns when all are done. Tasks must write disjoint memory.
     */
    public void forEach(int taskCount, IntConsumer task) {
        if (pool == null || taskCount <= 1) {
            for (int i = 0; i < taskCount; i++) {
                task.accept(i);
            }
            return;
        }
        pool.submit(() -> IntStream.range(0, taskCount).parallel().forEach(task)).join();
    }

    @Override
    public String toString() {
        return threads() + (threads() == 1 ? " thread" : " threads");
    }
}
