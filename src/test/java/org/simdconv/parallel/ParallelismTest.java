package org.simdconv.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.BrokenBarrierException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Every task runs exactly once, on the caller and at most {@code threads - 1} pool threads, and failures reach the caller. */
class ParallelismTest {

    @ParameterizedTest(name = "{0} tasks")
    @ValueSource(ints = {0, 1, 2, 3, 64, 1000})
    void everyTaskRunsExactlyOnce(int tasks) {
        try (ForkJoinPool pool = new ForkJoinPool(3)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
            Set<Thread> threads = ConcurrentHashMap.newKeySet();
            Parallelism.on(pool).forEach(tasks, (i, worker) -> {
                runs.incrementAndGet(i);
                threads.add(Thread.currentThread());
            });
            for (int i = 0; i < tasks; i++) {
                assertEquals(1, runs.get(i), "task " + i);
            }
            assertTrue(threads.size() <= 3, "ran on " + threads.size() + " threads");
        }
    }

    /**
     * Worker numbers are below the thread count, the caller is worker 0, and within one call no two
     * threads share a number: what lets a task use its worker's part of a workspace without locks.
     */
    @ParameterizedTest(name = "{0} threads")
    @ValueSource(ints = {1, 2, 3})
    void eachThreadOfACallHasItsOwnWorkerNumber(int threadCount) {
        try (ForkJoinPool pool = new ForkJoinPool(threadCount)) {
            Parallelism par = Parallelism.on(pool);
            Thread caller = Thread.currentThread();
            for (int call = 0; call < 200; call++) {
                java.util.Map<Integer, Thread> owners = new ConcurrentHashMap<>();
                java.util.concurrent.atomic.AtomicReference<String> problem = new java.util.concurrent.atomic.AtomicReference<>();
                par.forEach(64, (i, worker) -> {
                    if (worker < 0 || worker >= par.threads()) {
                        problem.set("worker " + worker + " of " + par.threads());
                    }
                    Thread previous = owners.putIfAbsent(worker, Thread.currentThread());
                    if (previous != null && previous != Thread.currentThread()) {
                        problem.set("worker " + worker + " ran on two threads in one call");
                    }
                    if ((worker == 0) != (Thread.currentThread() == caller)) {
                        problem.set("worker 0 must be the caller, got worker " + worker + " on "
                                + Thread.currentThread().getName());
                    }
                });
                assertEquals(null, problem.get(), "call " + call);
            }
        }
    }

    /**
     * A pool thread that helped a call on one pool, and still lingers for the caller's next call,
     * never joins a call the same thread makes on another pool: that call runs on its caller and
     * its own pool's threads only, with worker numbers below its own thread count.
     */
    @Test
    void aLingeringHelperNeverJoinsACallOnAnotherPool() {
        try (ForkJoinPool big = new ForkJoinPool(3); ForkJoinPool small = new ForkJoinPool(2)) {
            Parallelism a = Parallelism.on(big), b = Parallelism.on(small);
            for (int round = 0; round < 300; round++) {
                a.forEach(64, (i, worker) -> { });
                Set<Thread> threads = ConcurrentHashMap.newKeySet();
                java.util.concurrent.atomic.AtomicInteger maxWorker = new java.util.concurrent.atomic.AtomicInteger();
                b.forEach(64, (i, worker) -> {
                    threads.add(Thread.currentThread());
                    maxWorker.accumulateAndGet(worker, Math::max);
                });
                for (Thread t : threads) {
                    assertTrue(t == Thread.currentThread()
                            || (t instanceof java.util.concurrent.ForkJoinWorkerThread w && w.getPool() == small),
                            "round " + round + ": " + t.getName() + " of another pool joined the call");
                }
                assertTrue(maxWorker.get() < 2, "round " + round + ": worker " + maxWorker.get() + " on a 2-thread pool");
            }
        }
    }

    /** With every pool thread busy elsewhere, the caller runs all the tasks and the call returns. */
    @Test
    @Timeout(20)
    void theCallerRunsEverythingWhenThePoolIsBusy() throws InterruptedException {
        try (ForkJoinPool pool = new ForkJoinPool(2)) {
            CountDownLatch release = new CountDownLatch(1), busy = new CountDownLatch(2);
            for (int i = 0; i < 2; i++) {
                pool.execute(() -> {
                    busy.countDown();
                    try {
                        release.await();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
            }
            busy.await();
            Set<Thread> threads = ConcurrentHashMap.newKeySet();
            Parallelism.on(pool).forEach(100, (i, worker) -> threads.add(Thread.currentThread()));
            assertEquals(Set.of(Thread.currentThread()), threads);
            release.countDown();
        }
    }

    @Test
    void aFailingTaskFailsTheCallAfterTheOthersFinish() {
        try (ForkJoinPool pool = new ForkJoinPool(2)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(50);
            IllegalStateException boom = new IllegalStateException("task 7");
            RuntimeException thrown = assertThrows(RuntimeException.class, () -> Parallelism.on(pool).forEach(50, (i, worker) -> {
                runs.incrementAndGet(i);
                if (i == 7) {
                    throw boom;
                }
            }));
            assertSame(boom, thrown);
            for (int i = 0; i < 50; i++) {
                assertEquals(1, runs.get(i), "task " + i + " runs once, failure or not");
            }
        }
    }

    @Test
    void aPoolOfOneThreadIsSerial() {
        try (ForkJoinPool pool = new ForkJoinPool(1)) {
            assertSame(Parallelism.serial(), Parallelism.on(pool));
            assertEquals(1, Parallelism.on(pool).threads());
        }
        assertThrows(NullPointerException.class, () -> Parallelism.on(null));
    }

    /**
     * A calling thread reuses its task state from call to call: thousands of calls in a row, of
     * varying sizes (some so small that the helper is cancelled before it starts), each run every
     * task exactly once, and a failure in one call does not leak into the next.
     */
    @Test
    @Timeout(60)
    void repeatedCallsRunEveryTaskOnceEachTime() {
        try (ForkJoinPool pool = new ForkJoinPool(2)) {
            Parallelism par = Parallelism.on(pool);
            for (int call = 0; call < 3000; call++) {
                int tasks = 2 + call % 37;
                AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
                if (call % 500 == 7) {
                    int failing = call % tasks;
                    assertThrows(IllegalStateException.class, () -> par.forEach(tasks, (i, worker) -> {
                        runs.incrementAndGet(i);
                        if (i == failing) {
                            throw new IllegalStateException("task " + i);
                        }
                    }));
                } else {
                    par.forEach(tasks, (i, worker) -> runs.incrementAndGet(i));
                }
                for (int i = 0; i < tasks; i++) {
                    assertEquals(1, runs.get(i), "call " + call + ", task " + i);
                }
            }
        }
    }

    /**
     * The pool thread that helped stays on for a while after a call and joins the next one, or
     * leaves: calls spaced from none to a few times that while, so that some start while the helper
     * spins, some while it is leaving and some after it left, still run every task exactly once.
     */
    @Test
    @Timeout(60)
    void callsAroundTheHelpersLingerRunEveryTaskOnce() {
        try (ForkJoinPool pool = new ForkJoinPool(2)) {
            Parallelism par = Parallelism.on(pool);
            for (int call = 0; call < 2000; call++) {
                int tasks = 2 + call % 5;
                AtomicIntegerArray runs = new AtomicIntegerArray(tasks);
                Set<Thread> threads = ConcurrentHashMap.newKeySet();
                par.forEach(tasks, (i, worker) -> {
                    runs.incrementAndGet(i);
                    threads.add(Thread.currentThread());
                });
                for (int i = 0; i < tasks; i++) {
                    assertEquals(1, runs.get(i), "call " + call + ", task " + i);
                }
                assertTrue(threads.size() <= 2, "call " + call + " ran on " + threads.size() + " threads");
                long gap = (call % 7) * 150_000L, until = System.nanoTime() + gap; // 0 to 0.9 ms
                while (System.nanoTime() - until < 0) {
                    Thread.onSpinWait();
                }
            }
        }
    }

    @Test
    void aNegativeTaskCountIsRejected() {
        try (ForkJoinPool pool = new ForkJoinPool(2)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Parallelism.on(pool).forEach(-1, (i, worker) -> { }));
            assertTrue(e.getMessage().contains("taskCount") && e.getMessage().contains("-1"), e.getMessage());
        }
    }

    /** A task that itself calls forEach on the same parallelism gets state of its own. */
    @Test
    @Timeout(20)
    void aNestedCallRunsEveryTaskOnce() {
        try (ForkJoinPool pool = new ForkJoinPool(2)) {
            Parallelism par = Parallelism.on(pool);
            AtomicIntegerArray runs = new AtomicIntegerArray(6 * 10);
            par.forEach(6, (outer, w1) -> par.forEach(10, (inner, w2) -> runs.incrementAndGet(outer * 10 + inner)));
            for (int i = 0; i < runs.length(); i++) {
                assertEquals(1, runs.get(i), "task " + i);
            }
        }
    }

    /**
     * A pool that plays a failure on the next {@code execute}: refuse it (a shut-down or saturated
     * pool), cancel the task before it runs ({@code shutdownNow} cancels what is queued), or throw.
     */
    private static final class FaultyPool extends ForkJoinPool {
        enum Fault { NONE, REJECT, CANCEL, THROW }

        volatile Fault next = Fault.NONE;

        FaultyPool(int threads) {
            super(threads);
        }

        @Override
        public void execute(ForkJoinTask<?> task) {
            Fault fault = next;
            next = Fault.NONE;
            switch (fault) {
                case REJECT -> throw new RejectedExecutionException("refused");
                case CANCEL -> task.cancel(false);
                case THROW -> throw new IllegalStateException("execute failed");
                case NONE -> super.execute(task);
            }
        }
    }

    /**
     * Two tasks that each wait for the other at a barrier: the call passes only when a pool thread
     * runs one of them beside the caller.
     */
    private static void assertAHelperJoins(Parallelism parallelism, String after) {
        CyclicBarrier both = new CyclicBarrier(2);
        parallelism.forEach(2, (i, worker) -> {
            try {
                both.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException | BrokenBarrierException | TimeoutException e) {
                throw new AssertionError("no helper joined the call after " + after, e);
            }
        });
    }

    /** Waits until the helpers of the last calls stopped lingering, so the next call submits them again. */
    private static void letHelpersLeave() throws InterruptedException {
        Thread.sleep(50); // lingering is 0.5 ms
    }

    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"REJECT", "CANCEL"})
    @Timeout(60)
    void aHelperThePoolRefusedOrCancelledServesTheNextCalls(String faultName) throws InterruptedException {
        try (FaultyPool pool = new FaultyPool(2)) {
            Parallelism parallelism = Parallelism.on(pool);
            assertAHelperJoins(parallelism, "a first call");
            letHelpersLeave();
            pool.next = FaultyPool.Fault.valueOf(faultName);
            AtomicIntegerArray runs = new AtomicIntegerArray(100);
            parallelism.forEach(100, (i, worker) -> runs.incrementAndGet(i));
            for (int i = 0; i < 100; i++) {
                assertEquals(1, runs.get(i), "the caller runs what the helper could not: task " + i);
            }
            for (int round = 0; round < 3; round++) {
                letHelpersLeave();
                assertAHelperJoins(parallelism, faultName + " (round " + round + ")");
            }
        }
    }

    /**
     * When submitting a helper throws, the call fails, but only after every one of its tasks has
     * run once: no task of it runs afterwards (a helper still lingering from the call before would
     * otherwise take its indices), and the next calls count their tasks right.
     */
    @Test
    @Timeout(60)
    void aCallWhoseHelpersCannotBeBroughtEndsCleanly() throws InterruptedException {
        try (FaultyPool pool = new FaultyPool(3)) {
            Parallelism parallelism = Parallelism.on(pool);
            for (int round = 0; round < 200; round++) {
                if (round % 20 == 0) {
                    letHelpersLeave();
                }
                boolean failing = round % 3 == 1;
                pool.next = failing ? FaultyPool.Fault.THROW : FaultyPool.Fault.NONE;
                AtomicIntegerArray runs = new AtomicIntegerArray(64);
                Parallelism.Task task = (i, worker) -> {
                    runs.incrementAndGet(i);
                    Thread.onSpinWait();
                };
                try {
                    parallelism.forEach(64, task);
                } catch (IllegalStateException e) {
                    assertEquals("execute failed", e.getMessage());
                }
                pool.next = FaultyPool.Fault.NONE;
                int[] seen = new int[64];
                for (int i = 0; i < 64; i++) {
                    seen[i] = runs.get(i);
                    assertEquals(1, seen[i], "round " + round + ": task " + i + " ran " + seen[i] + " times by the return");
                }
                Thread.sleep(1);
                for (int i = 0; i < 64; i++) {
                    assertEquals(seen[i], runs.get(i), "round " + round + ": task " + i + " ran after its call returned");
                }
            }
        }
    }
}
