package org.simdconv.conv.simd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.simdconv.tensor.Tensor;

/**
 * Workspaces reused from call to call, so that a pass allocates nothing once it has run at a size:
 * native segments (blocked outputs) and float arrays (packed weights, partial gradients). A call
 * takes what it needs and gives it back when it returns; concurrent calls take different ones, so
 * the pool holds about as many workspaces as calls ever ran at once, and never more than
 * {@link #LIMIT} of each kind.
 *
 * <p>Segments come from {@link Arena#ofAuto()}: a workspace dropped because it was too small is
 * freed by the garbage collector. The pool itself lives as long as its kernels: for the Vector API
 * kernels, which are loaded once, as long as the JVM (at most {@link #LIMIT} workspaces of each kind).
 */
final class ScratchPool {

    static final int LIMIT = 16;

    // Fixed slots instead of a queue: taking and giving back allocate nothing (a queue allocated a
    // node per give), and a call gets the smallest workspace that fits, so that a small request
    // never takes the large array a later request of the same call needs.
    private final AtomicReferenceArray<MemorySegment> segments = new AtomicReferenceArray<>(LIMIT);
    private final AtomicReferenceArray<float[]> arrays = new AtomicReferenceArray<>(LIMIT);
    private final AtomicReferenceArray<float[][]> tables = new AtomicReferenceArray<>(LIMIT);

    /** A segment of at least {@code bytes} bytes, aligned to {@link Tensor#ALIGNMENT}, contents undefined. */
    MemorySegment segment(long bytes) {
        while (true) {
            int best = -1;
            MemorySegment fit = null;
            for (int i = 0; i < LIMIT; i++) {
                MemorySegment s = segments.get(i);
                if (s != null && s.byteSize() >= bytes && (fit == null || s.byteSize() < fit.byteSize())) {
                    best = i;
                    fit = s;
                }
            }
            if (fit == null) {
                return Arena.ofAuto().allocate(Math.max(bytes, 64), Tensor.ALIGNMENT);
            }
            if (segments.compareAndSet(best, fit, null)) {
                return fit;
            }
        }
    }

    void give(MemorySegment s) {
        for (int i = 0; i < LIMIT; i++) {
            if (segments.get(i) == null && segments.compareAndSet(i, null, s)) {
                return;
            }
        }
        int smallest = 0; // full: keep the larger workspace
        for (int i = 1; i < LIMIT; i++) {
            MemorySegment held = segments.get(i), least = segments.get(smallest);
            if (held != null && (least == null || held.byteSize() < least.byteSize())) {
                smallest = i;
            }
        }
        MemorySegment least = segments.get(smallest);
        if (least != null && least.byteSize() < s.byteSize()) {
            segments.compareAndSet(smallest, least, s);
        }
    }

    /** An array of at least {@code length} floats, contents undefined. */
    float[] array(int length) {
        while (true) {
            int best = -1;
            float[] fit = null;
            for (int i = 0; i < LIMIT; i++) {
                float[] a = arrays.get(i);
                if (a != null && a.length >= length && (fit == null || a.length < fit.length)) {
                    best = i;
                    fit = a;
                }
            }
            if (fit == null) {
                return new float[length];
            }
            if (arrays.compareAndSet(best, fit, null)) {
                return fit;
            }
        }
    }

    void give(float[] a) {
        for (int i = 0; i < LIMIT; i++) {
            if (arrays.get(i) == null && arrays.compareAndSet(i, null, a)) {
                return;
            }
        }
        int smallest = 0; // full: keep the larger array
        for (int i = 1; i < LIMIT; i++) {
            float[] held = arrays.get(i), least = arrays.get(smallest);
            if (held != null && (least == null || held.length < least.length)) {
                smallest = i;
            }
        }
        float[] least = arrays.get(smallest);
        if (least != null && least.length < a.length) {
            arrays.compareAndSet(smallest, least, a);
        }
    }

    /**
     * An array of {@code count} null slots for arrays of this pool (the per-task partial gradients of
     * a call), given back with {@link #giveAll}.
     */
    float[][] table(int count) {
        for (int i = 0; i < LIMIT; i++) {
            float[][] t = tables.get(i);
            if (t != null && t.length == count && tables.compareAndSet(i, t, null)) {
                return t;
            }
        }
        return new float[count][];
    }

    /**
     * Gives back every array of {@code taken} that is not null (those a failed call never took), then
     * the emptied table itself.
     */
    void giveAll(float[][] taken) {
        for (int i = 0; i < taken.length; i++) {
            if (taken[i] != null) {
                give(taken[i]);
                taken[i] = null;
            }
        }
        for (int i = 0; i < LIMIT; i++) {
            if (tables.get(i) == null && tables.compareAndSet(i, null, taken)) {
                return;
            }
        }
    }
}
