package org.simdconv.internal.simd.common;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.ref.WeakReference;
import org.junit.jupiter.api.Test;

/**
 * A call's task object comes from its primitive's pool, is reused once closed, is never handed to
 * two calls at once, and keeps no reference to the call's arguments afterwards; the pool belongs to
 * its primitive, so no thread keeps a task (or what it points to) alive.
 */
class CallTaskTest {

    private static final class Holding extends CallTask {
        Object argument;

        @Override
        public void run(int task, int worker) {
        }

        @Override
        protected void clear() {
            argument = null;
        }
    }

    private final CallTask.Pool<Holding> tasks = new CallTask.Pool<>(Holding::new);

    @Test
    void aClosedTaskIsReusedByTheNextCall() {
        Holding first;
        try (Holding task = tasks.take()) {
            first = task;
        }
        try (Holding task = tasks.take()) {
            assertSame(first, task);
        }
    }

    @Test
    void aTaskInUseIsNotHandedOutAgain() {
        try (Holding outer = tasks.take(); Holding inner = tasks.take()) {
            assertNotSame(outer, inner, "a concurrent or nested call gets a task of its own");
        }
    }

    @Test
    void closingDropsTheCallsReferences() {
        Holding kept;
        try (Holding task = tasks.take()) {
            task.argument = new float[1024];
            kept = task;
        }
        assertNull(kept.argument, "a kept task must not keep the caller's tensors alive");
    }

    /** A dropped pool takes its tasks with it: nothing per thread holds them (no ThreadLocal). */
    @Test
    void aDroppedPoolsTasksAreCollected() throws InterruptedException {
        CallTask.Pool<Holding> pool = new CallTask.Pool<>(Holding::new);
        WeakReference<Holding> task;
        try (Holding t = pool.take()) {
            task = new WeakReference<>(t);
        }
        pool = null;
        for (int i = 0; i < 50 && task.get() != null; i++) {
            System.gc();
            Thread.sleep(10);
        }
        assertNull(task.get(), "the task outlived its pool");
    }
}
