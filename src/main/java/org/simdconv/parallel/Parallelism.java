package org.simdconv.parallel;

import java.util.Objects;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Where a kernel's tasks run: inline on the caller's thread, or on the caller's thread together
 * with the threads of a {@link ForkJoinPool} the caller chooses. The thread count is the pool's
 * parallelism; kernels split their work by it, so it also fixes the summation order of reductions
 * and makes results reproducible.
 *
 * <p>Thread-safe: any number of threads may call {@link #forEach} at once, on one instance or on
 * several sharing a pool; each call has its own tasks and workers.
 */
public final class Parallelism {

    /**
     * One task of a {@link #forEach} call: {@code index} in {@code [0, taskCount)}, run by
     * {@code worker} in {@code [0, threads())}, a number that no other thread of the same call
     * has (the caller is worker 0), as OpenMP's thread number: a task may use the per-worker part
     * of a workspace ({@link Workspace.Lease#floats(int, int, int)}) without locking.
     */
    @FunctionalInterface
    public interface Task {
        void run(int index, int worker);
    }

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

    /**
     * Every core, on one daemon pool of as many threads that this method always returns: the
     * default of every convolution and model that is not given another.
     */
    public static Parallelism allCores() {
        return AllCores.PARALLELISM;
    }

    /** A pool of daemon threads named {@code simdconv-<i>}, which never keep the JVM alive. */
    private static ForkJoinPool daemonPool(int threads) {
        return new ForkJoinPool(threads, pool -> {
            var thread = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            thread.setDaemon(true);
            thread.setName("simdconv-" + thread.getPoolIndex());
            return thread;
        }, null, false);
    }

    private static final class AllCores {
        static final Parallelism PARALLELISM = on(daemonPool(Runtime.getRuntime().availableProcessors()));
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
     * Runs {@code task.run(i, worker)} for every {@code i} in {@code [0, taskCount)}, in parallel, and
     * returns when all are done; a task's exception is thrown here, after the other tasks ended.
     * Tasks must write disjoint memory.
     *
     * <p>The calling thread works too: it and up to {@code threads() - 1} of the pool's threads take
     * task indices from one shared counter until none is left, so a thread that is slow to wake up
     * (or a slower core, or a pool busy with other work) simply takes fewer, and the call never
     * waits for a pool thread that has not started. Which thread runs a task never changes a result:
     * tasks write disjoint memory, and reductions are indexed by task, not by thread.
     *
     * <p>A pool thread that helped stays on for {@value SharedTasks#LINGER_NANOS} ns after its last
     * task, spinning on the counter, and joins the caller's next call at once if it comes by then,
     * as OpenMP's threads do between parallel regions: waking a parked thread costs tens of
     * microseconds, and layers run back to back (a MobileNet depthwise layer takes 0.1-0.3 ms, a seed
     * layer 0.05 ms) lost a large part of their second thread to that wake-up on every call.
     */
    public void forEach(int taskCount, Task task) {
        Objects.requireNonNull(task, "task");
        if (taskCount < 0) {
            throw new IllegalArgumentException("taskCount must be >= 0, got " + taskCount);
        }
        if (pool == null || taskCount <= 1) {
            for (int i = 0; i < taskCount; i++) {
                task.run(i, 0);
            }
            return;
        }
        SharedTasks shared = SharedTasks.forThisThread(pool);
        int helpers = Math.min(pool.getParallelism(), taskCount) - 1;
        shared.start(taskCount, task, helpers);
        try {
            shared.bringHelpers(pool, helpers);
        } catch (Throwable t) { // an index is published: drain them all before leaving, then fail
            shared.fail(t);
        }
        try {
            shared.work(0);
        } finally {
            shared.awaitAll(); // no index of this call may run, nor count down, after it returns
            shared.finish();
        }
        shared.rethrow();
    }

    /**
     * The task indices of one {@link #forEach} call, shared by the threads that work on them, and
     * the pool tasks that bring helpers in. Each calling thread keeps one and reuses it from call
     * to call, so that a call allocates nothing but its task (a workspace rule of the kernels, which
     * JMH's {@code -prof gc} checks), and its helpers, still spinning from the last call, see the
     * next one. A nested call (a task that calls {@code forEach}) gets a fresh instance.
     *
     * <p>The task count and the next index share one {@code long}, so that one atomic increment
     * claims an index and tells whether it belongs to the call: a helper late from the previous call
     * can never take an index of the next one under the old count.
     */
    private static final class SharedTasks {
        /** Spins of the caller, once its share is done, before it parks: the others' last tasks are short. */
        private static final int SPINS = 20_000;
        /** How long a helper spins, after its last task, watching for this thread's next call. */
        static final long LINGER_NANOS = 500_000;
        private static final ThreadLocal<SharedTasks> OF_THREAD = new ThreadLocal<>();

        /** The call's task count in the high 32 bits, the next index to hand out in the low 32. */
        private final AtomicLong claims = new AtomicLong();
        private final AtomicInteger remaining = new AtomicInteger();
        private final AtomicReference<Throwable> failure = new AtomicReference<>();
        private Helper[] helpers = new Helper[0];
        private volatile Task task;
        private volatile Thread waiter;
        private boolean inUse;

        /**
         * This thread's instance for {@code pool} when it is free, else a new one (kept for the next
         * call when this thread has none, or one of another pool). The helpers of an instance belong
         * to its pool: one lingering from a call on another pool never joins this one, so a call
         * never has more threads than its pool's parallelism, nor a worker number of another pool.
         */
        static SharedTasks forThisThread(ForkJoinPool pool) {
            SharedTasks kept = OF_THREAD.get();
            if (kept != null && !kept.inUse && kept.pool == pool) {
                return kept;
            }
            SharedTasks fresh = new SharedTasks(pool);
            if (kept == null || !kept.inUse) {
                OF_THREAD.set(fresh);
            }
            return fresh;
        }

        /** The pool whose threads help with this instance's calls. */
        private final ForkJoinPool pool;

        private SharedTasks(ForkJoinPool pool) {
            this.pool = pool;
        }

        void start(int count, Task task, int helperCount) {
            inUse = true;
            if (helpers.length < helperCount) {
                Helper[] grown = java.util.Arrays.copyOf(helpers, helperCount);
                for (int h = helpers.length; h < helperCount; h++) {
                    grown[h] = new Helper(this, h + 1);
                }
                helpers = grown;
            }
            failure.set(null);
            waiter = null;
            this.task = task;
            remaining.set(count);
            claims.set((long) count << 32); // last: a thread that claims an index of this call sees its task
        }

        /**
         * Submits the helpers that are not still spinning from the last call. A helper that is leaving
         * right now (it has stopped spinning but not yet returned) is left out of this call. A helper
         * that the pool refuses (shut down, saturated) or cancelled before it ran ({@code shutdownNow})
         * is released for the next call; this one goes on with the threads it has, the caller at least.
         */
        void bringHelpers(ForkJoinPool pool, int helperCount) {
            for (int h = 0; h < helperCount; h++) {
                Helper helper = helpers[h];
                if (helper.rejoin()) {
                    try {
                        pool.execute(helper);
                    } catch (RejectedExecutionException refused) {
                        helper.release();
                    }
                }
            }
        }

        /** Records a failure of the call, thrown by {@link #rethrow} once every task has ended. */
        void fail(Throwable t) {
            if (!failure.compareAndSet(null, t)) {
                failure.get().addSuppressed(t);
            }
        }

        /** True while the current call has an index left to hand out. */
        boolean hasWork() {
            long c = claims.get();
            return (int) c < (int) (c >>> 32);
        }

        /** Runs task indices of the current call until none is left, as worker number {@code worker}. */
        void work(int worker) {
            for (long c = claims.getAndIncrement(); (int) c < (int) (c >>> 32); c = claims.getAndIncrement()) {
                try {
                    task.run((int) c, worker);
                } catch (Throwable t) {
                    fail(t);
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

        /** Spins up to {@link #LINGER_NANOS} for a next call; true when one has work to hand out. */
        boolean awaitNextCall() {
            long deadline = System.nanoTime() + LINGER_NANOS;
            do {
                for (int spin = 0; spin < 64; spin++) {
                    if (hasWork()) {
                        return true;
                    }
                    Thread.onSpinWait();
                }
            } while (System.nanoTime() - deadline < 0);
            return false;
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

        /** Drops the task, so the lingering helpers keep no reference to the caller's objects. */
        void finish() {
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

    /**
     * A pool task that works on the indices of its {@link SharedTasks}, then lingers for the next
     * call of the same thread; resubmitted (not reallocated) once it has left.
     *
     * <p>{@code active} is true from submission until the helper has decided to leave. The helper
     * clears it and then looks for work once more; the caller publishes a call and then reads it:
     * of the two, one sees the other, so a call is never missed by a helper that the caller counted
     * on. Whoever sets it back first (the helper that found work, or the caller resubmitting a helper
     * whose task has returned) owns the next round.
     */
    private static final class Helper extends ForkJoinTask<Void> {
        private final SharedTasks shared;
        /** The worker number of this helper in every call it joins: its place among the helpers, plus one. */
        private final int worker;
        private final AtomicBoolean active = new AtomicBoolean();

        Helper(SharedTasks shared, int worker) {
            this.shared = shared;
            this.worker = worker;
            complete(null); // a helper never submitted counts as one that has left
        }

        /**
         * True when the caller must submit this helper: it has left and its task has returned, or the
         * pool cancelled it before it ran (its {@code exec} never started, so nobody else clears
         * {@code active}; a pool cancels only the tasks still in its queues).
         */
        boolean rejoin() {
            if (isCancelled()) {
                release();
            }
            if (active.get() || !isDone() || !active.compareAndSet(false, true)) {
                return false; // still spinning (it sees the call), or leaving right now
            }
            reinitialize();
            return true;
        }

        /** Marks a helper that never ran as one that has left: the pool refused or cancelled it. */
        void release() {
            if (!isDone()) {
                complete(null);
            }
            active.set(false);
        }

        @Override
        protected boolean exec() {
            do {
                do {
                    shared.work(worker);
                } while (shared.awaitNextCall());
                active.set(false);
            } while (shared.hasWork() && active.compareAndSet(false, true));
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
