package org.simdconv.internal.simd.common;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Supplier;
import org.simdconv.parallel.Parallelism;

/**
 * The tasks of one call of a pass, handed to {@link Parallelism#forEach}: the call's arguments are
 * fields, set before the call and cleared after it, and the instance is reused by the next call
 * ({@link Pool}). A lambda capturing the same arguments would be a new object on every call (40 to
 * 90 bytes), the last allocation a pass made once its workspaces and plans were kept.
 *
 * <p>Use it in try-with-resources, so that the references to the caller's tensors are dropped
 * however the call ends (a kept task must not keep an {@code Arena.ofAuto()} segment alive):
 * <pre>
 *   try (Forward task = tasks.take()) {
 *       task.input = input; ...
 *       par.forEach(count, task);
 *   }
 * </pre>
 */
public abstract class CallTask implements Parallelism.Task, AutoCloseable {

    private Pool<?> pool;

    /** Sets every reference field to null (the primitives may stay). */
    protected abstract void clear();

    @Override
    public final void close() {
        clear();
        Pool<?> from = pool;
        pool = null;
        if (from != null) {
            from.giveBack(this);
        }
    }

    /**
     * The task objects of one primitive, kept for the calls that follow: a call takes one, and
     * concurrent calls take different ones. At most {@value #KEPT} idle tasks are kept; the pool
     * belongs to its primitive and goes with it (no thread keeps a task).
     */
    public static final class Pool<T extends CallTask> {
        private static final int KEPT = 4;
        private final Supplier<T> make;
        private final AtomicReferenceArray<CallTask> idle = new AtomicReferenceArray<>(KEPT);

        public Pool(Supplier<T> make) {
            this.make = make;
        }

        /** An idle task, or a new one. */
        @SuppressWarnings("unchecked")
        public T take() {
            for (int i = 0; i < KEPT; i++) {
                CallTask kept = idle.get(i);
                if (kept != null && idle.compareAndSet(i, kept, null)) {
                    kept.pool = this;
                    return (T) kept;
                }
            }
            T fresh = make.get();
            CallTask base = fresh; // the field through the base class: it is private to it
            base.pool = this;
            return fresh;
        }

        private void giveBack(CallTask task) {
            for (int i = 0; i < KEPT; i++) {
                if (idle.get(i) == null && idle.compareAndSet(i, null, task)) {
                    return;
                }
            }
        }
    }
}
