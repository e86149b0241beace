package org.simdconv.conv.simd;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import org.simdconv.tensor.Tensor;

/**
 * Weights packed once per problem and reused while they are unchanged, as oneDNN reorders weights
 * once into the layout its kernel reads. Each entry keeps a copy of the OIHW weights it was packed
 * from; a call compares the caller's weights with that copy ({@link MemorySegment#mismatch}, a
 * vectorised compare that stops at the first difference) and packs again only when they differ,
 * so inference with fixed weights packs once, and a training step, which changes every weight,
 * finds the difference at once and repacks. The comparison reads the weights once, as the copy
 * it replaced did; what is saved is the packing (gathers into the kernel's order) and, for the
 * row kernels, the arrays they allocated per call.
 *
 * <p>Entries are immutable, so concurrent calls on the same problem with different weights each
 * use the entry they packed. Packed arrays are only read by the kernels. A repack allocates a new
 * entry (the old one may still be in use by another call); at most {@link BlockedPasses#PLANS}
 * entries are kept.
 */
final class PackedWeights {

    /** What an entry was packed for: the kernel's packing, its geometry, and a detail (a stride phase). */
    record Key(String packing, Object problem, int detail) {
    }

    private record Entry(MemorySegment oihw, Object packed) {
    }

    private final ConcurrentHashMap<Key, Entry> entries = new ConcurrentHashMap<>();

    /**
     * The packed form of {@code weight} for {@code key}: the one kept when the weights are the ones
     * it was packed from, bit for bit; else {@code pack} applied to a copy of the OIHW weights
     * (which it must not modify), kept for the next call. Every {@code key} is packed by one
     * {@code pack} of one result type.
     */
    @SuppressWarnings("unchecked")
    <T> T packed(Key key, Tensor weight, Function<float[], T> pack) {
        long bytes = weight.elementCount() * Float.BYTES;
        Entry entry = entries.get(key);
        if (entry != null && entry.oihw().byteSize() == bytes && MemorySegment.mismatch(weight.segment(),
                weight.byteOffset(), weight.byteOffset() + bytes, entry.oihw(), 0, bytes) == -1) {
            return (T) entry.packed();
        }
        float[] oihw = new float[(int) weight.elementCount()];
        MemorySegment.copy(weight.segment(), Tensor.FLOAT, weight.byteOffset(), oihw, 0, oihw.length);
        T packed = pack.apply(oihw);
        if (entries.size() > BlockedPasses.PLANS) {
            entries.clear();
        }
        entries.put(key, new Entry(MemorySegment.ofArray(oihw), packed));
        return packed;
    }
}
