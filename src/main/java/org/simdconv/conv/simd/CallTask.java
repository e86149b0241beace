package org.simdconv.conv.simd;

import java.util.function.IntConsumer;
import java.util.function.Supplier;

/**
 * The tasks of one call of a pass, handed to {@link org.simdconv.parallel.Parallelism#forEach}: the
 * call's arguments are fields, set before the call and cleared after it, and each calling thread
 * reuses its own instance ({@link PerThread}). A lambda capturing the same arguments is a new
 * object on every call (40 to 90 bytes), the last allocation a pass made once its workspaces and
 * plans were kept; with these a repeated call allocates nothing.
 *
 * <p>Use it in try-with-resources, so that the references to the caller's tensors are dropped
 * however the call ends (a kept task must not keep an {@code Arena.ofAuto()} segment alive):
 * <pre>
 *   try (FlatForward task = FLAT_FORWARD.take()) {
 *       task.input = input; ...
 *       par.forEach(count, task);
 *   }
 * </pre>
 */
abstract class CallTask implements IntConsumer, AutoCloseable {

    private boolean taken;

    /** Sets every reference field to null (the primitives may stay). */
    abstract void clear();

    @Override
    public final void close() {
        clear();
        taken = false;
    }

    /** One task instance per calling thread, reused from call to call. */
    static final class PerThread<T extends CallTask> {
        private final Supplier<T> make;
        private final ThreadLocal<T> kept;

        PerThread(Supplier<T> make) {
            this.make = make;
            this.kept = ThreadLocal.withInitial(make);
        }

        /** This thread's task, or a fresh one when it is in use (a call made from inside a task). */
        T take() {
            T task = kept.get();
            CallTask base = task; // the field through the base class: it is private to it
            if (base.taken) {
                task = make.get();
                base = task;
            }
            base.taken = true;
            return task;
        }
    }
}
