package org.simdconv.conv.simd;

import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** A call's task object is this thread's own, reused once closed, and keeps no reference after the call. */
class CallTaskTest {

    private static final class Holding extends CallTask {
        Object argument;

        @Override
        public void accept(int task) {
        }

        @Override
        void clear() {
            argument = null;
        }
    }

    private final CallTask.PerThread<Holding> tasks = new CallTask.PerThread<>(Holding::new);

    @Test
    void aClosedTaskIsReusedByTheNextCallOfTheSameThread() {
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
            assertNotSame(outer, inner, "a call made from inside a task gets a task of its own");
        }
    }

    @Test
    void eachThreadHasItsOwn() throws Exception {
        Holding mine;
        try (Holding task = tasks.take()) {
            mine = task;
        }
        Holding theirs = CompletableFuture.supplyAsync(() -> {
            try (Holding task = tasks.take()) {
                return task;
            }
        }).get();
        assertNotSame(mine, theirs);
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
}
