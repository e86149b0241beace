package org.simdconv.conv;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.atomic.AtomicInteger;
import org.simdconv.internal.conv.BackwardDataPrimitive;
import org.simdconv.internal.conv.ConvPrimitive;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.tensor.Tensor;

/**
 * A plan's weights as its kernels read them, as oneDNN reorders weights once into its kernel's
 * layout: a copy of the OIHW weights and the form each pass's primitive packed them into. A call
 * {@link #matches} the caller's weights against the copy and uses the packed forms only when they
 * are equal bit for bit; else the plan {@link #rewrite}s this set in place, when no other call is
 * using it (the usual case: one training loop), or makes a new set. So inference packs once and a
 * training step, which changes the weights, repacks into the same arrays, allocating nothing.
 *
 * <p>Calls that use a set hold it ({@link #tryHold}, {@link #letGo}); a held set is never rewritten,
 * so concurrent calls with different weights each compute with the weights they were given.
 */
final class PackedWeights {

    /** {@link #users} while the set is being rewritten: nobody may hold it. */
    private static final int REWRITING = -1;

    private final float[] oihw;
    private final MemorySegment oihwSegment;
    /** Calls holding this set, or {@link #REWRITING}. */
    private final AtomicInteger users = new AtomicInteger();
    /** Bumped by every rewrite; a packed form is current when it was packed at this generation. */
    private long generation;
    private Object forward;
    private long forwardGeneration = -1;
    private Object backwardData;
    private long backwardDataGeneration = -1;

    private PackedWeights(float[] oihw) {
        this.oihw = oihw;
        this.oihwSegment = MemorySegment.ofArray(oihw);
    }

    /** A new set holding a copy of {@code weight}, held once by the caller. */
    static PackedWeights heldCopyOf(Tensor weight) {
        PackedWeights set = new PackedWeights(weight.toArray());
        set.users.set(1);
        return set;
    }

    /** Holds this set for a call, unless it is being rewritten. */
    boolean tryHold() {
        for (int u = users.get(); u != REWRITING; u = users.get()) {
            if (users.compareAndSet(u, u + 1)) {
                return true;
            }
        }
        return false;
    }

    /** Ends a call's hold. */
    void letGo() {
        users.decrementAndGet();
    }

    /** True when {@code weight} equals, bit for bit, the weights this set was packed from. */
    boolean matches(Tensor weight) {
        long bytes = weight.storageBytes();
        return bytes == oihwSegment.byteSize() && MemorySegment.mismatch(weight.segment(), weight.byteOffset(),
                weight.byteOffset() + bytes, oihwSegment, 0, bytes) == -1;
    }

    /**
     * Copies {@code weight} into this set, whose packed forms are then out of date, and holds it:
     * only when the caller held it alone (it is given back if not, and false returned).
     */
    boolean rewrite(Tensor weight) {
        if (weight.storageBytes() != oihwSegment.byteSize() || !users.compareAndSet(1, REWRITING)) {
            return false;
        }
        synchronized (this) { // segment to segment: a copy into the array would wrap it anew on each call
            MemorySegment.copy(weight.segment(), weight.byteOffset(), oihwSegment, 0, oihwSegment.byteSize());
            generation++;
        }
        users.set(1);
        return true;
    }

    /** The forward form, packed on first need after each rewrite (into the old form's memory). */
    @SuppressWarnings("unchecked")
    synchronized <W> W forward(ForwardPrimitive<W> primitive) {
        if (forwardGeneration != generation) {
            forward = primitive.pack(oihw, (W) forward);
            forwardGeneration = generation;
        }
        return (W) forward;
    }

    /** The backward-data form, packed on first need after each rewrite. */
    @SuppressWarnings("unchecked")
    synchronized <W> W backwardData(BackwardDataPrimitive<W> primitive) {
        if (backwardDataGeneration != generation) {
            backwardData = primitive.pack(oihw, (W) backwardData);
            backwardDataGeneration = generation;
        }
        return (W) backwardData;
    }

    /** Bytes of the OIHW copy and the packed forms. */
    synchronized long bytes() {
        return oihw.length * (long) Float.BYTES + bytesOf(forward) + bytesOf(backwardData);
    }

    private static long bytesOf(Object packed) {
        return switch (packed) {
            case null -> 0;
            case float[] a -> a.length * (long) Float.BYTES;
            case double[] a -> a.length * (long) Double.BYTES;
            case float[][] table -> {
                long sum = 0;
                for (float[] a : table) {
                    sum += a == null ? 0 : a.length * (long) Float.BYTES;
                }
                yield sum;
            }
            case ConvPrimitive.PackedForm form -> form.bytes();
            default -> 0;
        };
    }
}
