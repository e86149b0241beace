package org.simdconv.parallel;

import java.util.Objects;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.IntConsumer;

/**
 * Where a kernel's tasks run: inline on the caller's thread, or on the caller's thread together
 * with the threads of a {@link ForkJoinPool} the caller chooses. The thread count is the pool's
 * parallelism; kernels split their work by it, so it also fixes the summation order of reductions
 * and makes results reproducible.
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
     * returns when all are done; a task's exception is thrown here, after the other tasks ended.
     * Tasks must write disjoint memory.
     *
     * <p>The calling thread works too: it and up to {@code threads() - 1} of the pool's threads take
     * task indices from one shared counter until none is left, so a thread that is slow to wake up
     * (or a slower core, or a pool busy with other work) simply takes fewer, and the call never
     * waits for a pool thread that has not started. Handing everything to the pool and waiting cost
     * the wake-up of every worker on each call, which on the seed's small layers (0.1 ms a pass) was
     * as long as the work. Which thread runs a task never changes a result: tasks write disjoint
     * memory, and reductions are indexed by task, not by thread.
     */
    public void forEach(int taskCount, IntConsumer task) {
        if (pool == null || taskCount <= 1) {
            for (int i = 0; i < taskCount; i++) {
                task.accept(i);
            }
            return;
        }
        SharedTasks shared = new SharedTasks(taskCount, task);
        int helpers = Math.min(pool.getParallelism(), taskCount) - 1;
        ForkJoinTask<?>[] forked = new ForkJoinTask<?>[helpers];
        for (int h = 0; h < helpers; h++) {
            forked[h] = pool.submit(shared::work);
        }
        shared.work();
        shared.awaitAll();
        for (ForkJoinTask<?> f : forked) {
            f.cancel(false); // a helper that never started has nothing left to do
        }
        shared.rethrow();
    }

    /** The task indices of one {@link #forEach} call, shared by the threads that work on them. */
    private static final class SharedTasks {
        /** Spins of the caller, once its share is done, before it parks: the others' last tasks are short. */
        private static final int SPINS = 20_000;

        private final int count;
        private final IntConsumer task;
        private final AtomicInteger next = new AtomicInteger();
        private final CountDownLatch done;
        private final AtomicReference<Throwable> failure = new AtomicReference<>();

        SharedTasks(int count, IntConsumer task) {
            this.count = count;
            this.task = task;
            this.done = new CountDownLatch(count);
        }

        void work() {
            for (int i = next.getAndIncrement(); i < count; i = next.getAndIncrement()) {
                try {
                    task.accept(i);
                } catch (Throwable t) {
                    if (!failure.compareAndSet(null, t)) {
                        failure.get().addSuppressed(t);
                    }
                } finally {
                    done.countDown();
                }
            }
        }

        /** Waits until every task has ended; an interrupt is kept for the caller, the wait goes on. */
        void awaitAll() {
            for (int spin = 0; spin < SPINS && done.getCount() > 0; spin++) {
                Thread.onSpinWait();
            }
            boolean interrupted = false;
            while (true) {
                try {
                    done.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        void rethrow() {
            Throwable t = failure.get();
            if (t instanceof RuntimeException e) {
                throw e;
            } else if (t instanceof Error e) {
                throw e;
            } else if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }

    @Override
    public String toString() {
        return threads() + (threads() == 1 ? " thread" : " threads");
    }
}
