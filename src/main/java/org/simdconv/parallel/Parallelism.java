package org.simdconv.parallel;

import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
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
        SharedTasks shared = SharedTasks.forThisThread();
        int helpers = Math.min(pool.getParallelism(), taskCount) - 1;
        shared.start(taskCount, task, helpers);
        try {
            for (int h = 0; h < helpers; h++) {
                pool.execute(shared.helper(h));
            }
            shared.work();
            shared.awaitAll();
        } finally {
            shared.finish();
        }
        shared.rethrow();
    }

    /**
     * The task indices of one {@link #forEach} call, shared by the threads that work on them, and
     * the pool tasks that bring helpers in. Each calling thread keeps one and reuses it from call
     * to call, so that a call allocates nothing but its task (a workspace rule of the kernels, which
     * JMH's {@code -prof gc} checks): it is reused only when every helper of the previous call ran
     * to its end, so no thread of an old call can still take an index of a new one. A helper that
     * never started (cancelled in its queue) or a nested call gets a fresh instance.
     */
    private static final class SharedTasks {
        /** Spins of the caller, once its share is done, before it parks: the others' last tasks are short. */
        private static final int SPINS = 20_000;
        private static final ThreadLocal<SharedTasks> OF_THREAD = new ThreadLocal<>();

        private final AtomicInteger next = new AtomicInteger();
        private final AtomicInteger remaining = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private Helper[] helpers = new Helper[0];
        private int helpersStarted;
        private volatile int count;
        private volatile IntConsumer task;
        private volatile Thread waiter;
        private boolean inUse;

        /** This thread's instance when it can be reused, else a new one (kept for the next call when this thread has none). */
        static SharedTasks forThisThread() {
            SharedTasks kept = OF_THREAD.get();
            if (kept != null && !kept.inUse && kept.helpersFinished()) {
                return kept;
            }
            SharedTasks fresh = new SharedTasks();
            if (kept == null || !kept.inUse) {
                OF_THREAD.set(fresh);
            }
            return fresh;
        }

        private boolean helpersFinished() {
            for (int h = 0; h < helpersStarted; h++) {
                if (!helpers[h].isCompletedNormally()) {
                    return false;
                }
            }
            return true;
        }

        void start(int count, IntConsumer task, int helperCount) {
            inUse = true;
            if (helpers.length < helperCount) {
                Helper[] grown = java.util.Arrays.copyOf(helpers, helperCount);
                for (int h = helpers.length; h < helperCount; h++) {
                    grown[h] = new Helper(this);
                }
                helpers = grown;
            }
            for (int h = 0; h < helperCount; h++) {
                helpers[h].reinitialize();
            }
            helpersStarted = helperCount;
            failure.set(null);
            waiter = null;
            this.task = task;
            this.count = count;
            remaining.set(count);
            next.set(0); // last: a helper that sees the new index sees the new task and count
        }

        Helper helper(int h) {
            return helpers[h];
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
                    if (remaining.decrementAndGet() == 0) {
                        Thread w = waiter;
                        if (w != null) {
                            LockSupport.unpark(w);
                        }
                    }
                }
            }
        }

        /** Waits until every task has ended; an interrupt is kept for the caller, the wait goes on. */
        void awaitAll() {
            for (int spin = 0; spin < SPINS && remaining.get() > 0; spin++) {
                Thread.onSpinWait();
            }
            if (remaining.get() == 0) {
                return;
            }
            waiter = Thread.currentThread();
            boolean interrupted = false;
            while (remaining.get() > 0) {
                LockSupport.park(this);
                interrupted |= Thread.interrupted();
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }

        /** Cancels the helpers that never started (they have nothing left to do) and drops the task. */
        void finish() {
            for (int h = 0; h < helpersStarted; h++) {
                helpers[h].cancel(false);
            }
            task = null;
            waiter = null;
            inUse = false;
        }

        void rethrow() {
            Throwable t = failure.getAndSet(null);
            if (t instanceof RuntimeException e) {
                throw e;
            } else if (t instanceof Error e) {
                throw e;
            } else if (t != null) {
                throw new IllegalStateException(t);
            }
        }
    }

    /** A pool task that works on the indices of its {@link SharedTasks}; reinitialised and resubmitted from call to call. */
    private static final class Helper extends ForkJoinTask<Void> {
        private final SharedTasks shared;

        Helper(SharedTasks shared) {
            this.shared = shared;
        }

        @Override
        protected boolean exec() {
            shared.work();
            return true;
        }

        @Override
        public Void getRawResult() {
            return null;
        }

        @Override
        protected void setRawResult(Void value) {
        }
    }

    @Override
    public String toString() {
        return threads() + (threads() == 1 ? " thread" : " threads");
    }
}
