package org.simdconv.conv.simd;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import org.simdconv.conv.Conv2dGeometry;
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

    private record Entry(MemorySegment oihw, Object packed) {
    }

    /** Per geometry, per packing: looked up by objects the call already has, so a lookup allocates nothing. */
    private final ConcurrentHashMap<Conv2dGeometry, ConcurrentHashMap<String, Entry>> entries =
            new ConcurrentHashMap<>();

    /**
     * The packed form of {@code weight} for {@code packing} (a kernel's name for its weight order)
     * on geometry {@code g}: the one kept when the weights are the ones it was packed from, bit for
     * bit; else {@code pack} applied to {@code g} and a copy of the OIHW weights (which it must not
     * modify), kept for the next call. Every {@code packing} has one {@code pack} of one result type;
     * {@code pack} should capture nothing (it is then one object for the JVM's life, not one a call).
     */
    @SuppressWarnings("unchecked")
    <T> T packed(String packing, Conv2dGeometry g, Tensor weight, BiFunction<Conv2dGeometry, float[], T> pack) {
        long bytes = weight.elementCount() * Float.BYTES;
        ConcurrentHashMap<String, Entry> ofGeometry = entries.get(g);
        Entry entry = ofGeometry == null ? null : ofGeometry.get(packing);
        if (entry != null && entry.oihw().byteSize() == bytes && MemorySegment.mismatch(weight.segment(),
                weight.byteOffset(), weight.byteOffset() + bytes, entry.oihw(), 0, bytes) == -1) {
            return (T) entry.packed();
        }
        float[] oihw = new float[(int) weight.elementCount()];
        MemorySegment.copy(weight.segment(), Tensor.FLOAT, weight.byteOffset(), oihw, 0, oihw.length);
        T packed = pack.apply(g, oihw);
        if (entries.size() > BlockedPasses.PLANS) {
            entries.clear();
        }
        entries.computeIfAbsent(g, key -> new ConcurrentHashMap<>()).put(packing, new Entry(MemorySegment.ofArray(oihw),
                packed));
        return packed;
    }
}
