package org.simdconv.parallel;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ForkJoinPool;
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
            Parallelism.on(pool).forEach(tasks, i -> {
                runs.incrementAndGet(i);
                threads.add(Thread.currentThread());
            });
            for (int i = 0; i < tasks; i++) {
                assertEquals(1, runs.get(i), "task " + i);
            }
            assertTrue(threads.size() <= 3, "ran on " + threads.size() + " threads");
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
            Parallelism.on(pool).forEach(100, i -> threads.add(Thread.currentThread()));
            assertEquals(Set.of(Thread.currentThread()), threads);
            release.countDown();
        }
    }

    @Test
    void aFailingTaskFailsTheCallAfterTheOthersFinish() {
        try (ForkJoinPool pool = new ForkJoinPool(2)) {
            AtomicIntegerArray runs = new AtomicIntegerArray(50);
            IllegalStateException boom = new IllegalStateException("task 7");
            RuntimeException thrown = assertThrows(RuntimeException.class, () -> Parallelism.on(pool).forEach(50, i -> {
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
                    assertThrows(IllegalStateException.class, () -> par.forEach(tasks, i -> {
                        runs.incrementAndGet(i);
                        if (i == failing) {
                            throw new IllegalStateException("task " + i);
                        }
                    }));
                } else {
                    par.forEach(tasks, runs::incrementAndGet);
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
                par.forEach(tasks, i -> {
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
                    () -> Parallelism.on(pool).forEach(-1, i -> { }));
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
            par.forEach(6, outer -> par.forEach(10, inner -> runs.incrementAndGet(outer * 10 + inner)));
            for (int i = 0; i < runs.length(); i++) {
                assertEquals(1, runs.get(i), "task " + i);
            }
        }
    }
}
