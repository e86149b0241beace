package org.simdconv.internal.simd.common;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;

/**
 * Zeroes a range of a segment without making a slice of it: {@code s.asSlice(at, n).fill(0)} is a
 * new segment object per call, which C2 removes only when it inlines the whole chain, and in a JVM
 * that has run much else it did not (a training step of the seed network then allocated 3 KB in
 * average pooling's gradient). Copying from a segment of zeros allocates nothing. For planes, not
 * short rows: on the seed layers' rows of a few dozen bytes ({@code PackedPlanes}) the copy made
 * backward-data 10-15% slower than the slice's fill (interleaved JMH A/B), so those keep the fill.
 */
public final class Zeros {

    /** Zeros to copy from, 64 KiB at a time (the global arena's memory is zeroed and never freed). */
    private static final MemorySegment ZEROS = Arena.global().allocate(64 * 1024);

    private Zeros() {
    }

    /** Sets {@code bytes} bytes of {@code s} from byte {@code at} to zero. */
    public static void fill(MemorySegment s, long at, long bytes) {
        long chunk = ZEROS.byteSize();
        for (long done = 0; done < bytes; done += chunk) {
            MemorySegment.copy(ZEROS, 0, s, at + done, Math.min(chunk, bytes - done));
        }
    }
}
