package org.simdconv.parallel;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Scratch memory that passes work in and keep from call to call, so that a repeated call allocates
 * nothing: a staged batch item per worker thread, partial gradients per task, an output in another
 * layout. A convolution plan owns one by default; plans that run one after another (the layers of
 * one model) may share one, which then holds what the largest of them needs rather than the sum.
 *
 * <p>Each call {@linkplain #lease() leases} its memory and gives it back when it ends; concurrent
 * calls lease different memory, so a workspace is thread-safe. At most {@value #KEPT_LEASES} idle
 * leases are kept (as many calls as ran at once, up to that); {@link #release()} drops them. Memory
 * comes from {@link Arena#ofAuto()}, so whatever is dropped is freed by the garbage collector.
 */
public final class Workspace {

    /** Idle leases kept for the next calls; more concurrent calls than this allocate again. */
    public static final int KEPT_LEASES = 4;

    private final AtomicReferenceArray<Lease> idle = new AtomicReferenceArray<>(KEPT_LEASES);

    /** An empty workspace: it grows to what the passes that use it need. */
    public Workspace() {
    }

    /** Memory for one call, given back by {@link Lease#close()}: an idle lease, or a new one. */
    public Lease lease() {
        for (int i = 0; i < KEPT_LEASES; i++) {
            Lease kept = idle.get(i);
            if (kept != null && idle.compareAndSet(i, kept, null)) {
                kept.leased = true;
                return kept;
            }
        }
        Lease fresh = new Lease();
        fresh.leased = true;
        return fresh;
    }

    /** Bytes held by the idle leases (the memory a next call reuses). */
    public long retainedBytes() {
        long bytes = 0;
        for (int i = 0; i < KEPT_LEASES; i++) {
            Lease kept = idle.get(i);
            bytes += kept == null ? 0 : kept.bytes();
        }
        return bytes;
    }

    /** Drops the idle leases and their memory (leases in use are dropped when given back after this). */
    public void release() {
        for (int i = 0; i < KEPT_LEASES; i++) {
            idle.set(i, null);
        }
    }

    private void giveBack(Lease lease) {
        for (int i = 0; i < KEPT_LEASES; i++) {
            if (idle.get(i) == null && idle.compareAndSet(i, null, lease)) {
                return;
            }
        }
    }

    @Override
    public String toString() {
        return "Workspace[" + retainedBytes() + " bytes idle]";
    }

    /**
     * The memory of one call: arrays and native segments named by a {@code slot} (what they are for,
     * a constant of the pass) and an {@code index} (whose they are: a chunk of the batch), asked for
     * by the calling thread; and each worker's own ({@link #worker}), which its tasks ask for without
     * a lock. Each is kept at the largest size asked for; its contents are undefined when handed out.
     * Use it in try-with-resources.
     */
    public final class Lease implements AutoCloseable {

        private float[][][] arrays = new float[0][][];
        private MemorySegment[][] segments = new MemorySegment[0][];
        private Worker[] workers = new Worker[0];
        private boolean leased;

        private Lease() {
        }

        /** An array of at least {@code length} floats for ({@code slot}, {@code index}), contents undefined. */
        public synchronized float[] floats(int slot, int index, int length) {
            requireLeased();
            if (slot >= arrays.length) {
                arrays = Arrays.copyOf(arrays, slot + 1);
            }
            float[][] ofSlot = arrays[slot];
            if (ofSlot == null || index >= ofSlot.length) {
                ofSlot = arrays[slot] = ofSlot == null ? new float[index + 1][] : Arrays.copyOf(ofSlot, index + 1);
            }
            float[] a = ofSlot[index];
            if (a == null || a.length < length) {
                a = ofSlot[index] = new float[length];
            }
            return a;
        }

        /**
         * A native segment of at least {@code bytes} bytes for ({@code slot}, {@code index}), aligned to
         * a cache line, contents undefined.
         */
        public synchronized MemorySegment segment(int slot, int index, long bytes) {
            requireLeased();
            if (slot >= segments.length) {
                segments = Arrays.copyOf(segments, slot + 1);
            }
            MemorySegment[] ofSlot = segments[slot];
            if (ofSlot == null || index >= ofSlot.length) {
                ofSlot = segments[slot] = ofSlot == null ? new MemorySegment[index + 1] : Arrays.copyOf(ofSlot, index + 1);
            }
            MemorySegment s = ofSlot[index];
            if (s == null || s.byteSize() < bytes) {
                s = ofSlot[index] = Arena.ofAuto().allocate(Math.max(bytes, 64), 64);
            }
            return s;
        }

        /**
         * Makes the memory of workers {@code 0 .. count-1} ready ({@link #worker}); the calling thread
         * does this before it hands out a call's tasks ({@code count} is the parallelism's threads).
         */
        public synchronized Lease workers(int count) {
            requireLeased();
            if (count > workers.length) {
                Worker[] grown = Arrays.copyOf(workers, count);
                for (int i = workers.length; i < count; i++) {
                    grown[i] = new Worker();
                }
                workers = grown;
            }
            return this;
        }

        /**
         * The memory of worker {@code index} of this call ({@link Parallelism.Task}), made ready by
         * {@link #workers}: only that worker's thread touches it during the call, so it asks without
         * a lock (the pool's hand-over of the tasks orders one call's use before the next's).
         */
        public Worker worker(int index) {
            return workers[index];
        }

        /** Bytes of every array and segment this lease holds. */
        public synchronized long bytes() {
            long bytes = 0;
            for (float[][] ofSlot : arrays) {
                for (int i = 0; ofSlot != null && i < ofSlot.length; i++) {
                    bytes += ofSlot[i] == null ? 0 : (long) ofSlot[i].length * Float.BYTES;
                }
            }
            for (MemorySegment[] ofSlot : segments) {
                for (int i = 0; ofSlot != null && i < ofSlot.length; i++) {
                    bytes += ofSlot[i] == null ? 0 : ofSlot[i].byteSize();
                }
            }
            for (Worker w : workers) {
                bytes += w.bytes();
            }
            return bytes;
        }

        /** Gives the memory back to the workspace for the next call. */
        @Override
        public void close() {
            if (leased) {
                leased = false;
                giveBack(this);
            }
        }

        private void requireLeased() {
            if (!leased) {
                throw new IllegalStateException("this lease was given back: lease the workspace again");
            }
        }
    }

    /**
     * One worker's memory in a {@link Lease}, by slot: used by one thread at a time, so it takes no
     * lock. Each array and segment is kept at the largest size asked for, contents undefined.
     */
    public static final class Worker {
        private float[][] arrays = new float[0][];
        private MemorySegment[] segments = new MemorySegment[0];

        private Worker() {
        }

        /** An array of at least {@code length} floats for {@code slot}, contents undefined. */
        public float[] floats(int slot, int length) {
            if (slot >= arrays.length) {
                arrays = Arrays.copyOf(arrays, slot + 1);
            }
            float[] a = arrays[slot];
            if (a == null || a.length < length) {
                a = arrays[slot] = new float[length];
            }
            return a;
        }

        /** A native segment of at least {@code bytes} bytes for {@code slot}, aligned to a cache line. */
        public MemorySegment segment(int slot, long bytes) {
            if (slot >= segments.length) {
                segments = Arrays.copyOf(segments, slot + 1);
            }
            MemorySegment s = segments[slot];
            if (s == null || s.byteSize() < bytes) {
                s = segments[slot] = Arena.ofAuto().allocate(Math.max(bytes, 64), 64);
            }
            return s;
        }

        long bytes() {
            long bytes = 0;
            for (float[] a : arrays) {
                bytes += a == null ? 0 : (long) a.length * Float.BYTES;
            }
            for (MemorySegment s : segments) {
                bytes += s == null ? 0 : s.byteSize();
            }
            return bytes;
        }
    }
}
