package org.simdconv.conv.simd;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentLinkedQueue;
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

    private final ConcurrentLinkedQueue<MemorySegment> segments = new ConcurrentLinkedQueue<>();
    private final ConcurrentLinkedQueue<float[]> arrays = new ConcurrentLinkedQueue<>();

    /** A segment of at least {@code bytes} bytes, aligned to {@link Tensor#ALIGNMENT}, contents undefined. */
    MemorySegment segment(long bytes) {
        for (MemorySegment s : segments) {
            if (s.byteSize() >= bytes && segments.remove(s)) {
                return s;
            }
        }
        return Arena.ofAuto().allocate(Math.max(bytes, 64), Tensor.ALIGNMENT);
    }

    void give(MemorySegment s) {
        if (segments.size() < LIMIT) {
            segments.offer(s);
        }
    }

    /** An array of at least {@code length} floats, contents undefined. */
    float[] array(int length) {
        for (float[] a : arrays) {
            if (a.length >= length && arrays.remove(a)) {
                return a;
            }
        }
        return new float[length];
    }

    void give(float[] a) {
        if (arrays.size() < LIMIT) {
            arrays.offer(a);
        }
    }

    /** Gives back every array of {@code taken} that is not null (those a failed call never took). */
    void giveAll(float[][] taken) {
        for (float[] a : taken) {
            if (a != null) {
                give(a);
            }
        }
    }
}
