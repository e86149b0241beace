package org.simdconv.internal.conv;

import org.simdconv.tensor.Layout;

/**
 * A kernel family bound to one problem and one pass (oneDNN's primitive): what it derives from the
 * sizes (tap lists, tiles, stride phases) is made once, when it is prepared; every call then only
 * runs. A primitive is immutable and thread-safe: each call leases its scratch memory from the
 * workspace it is given, and takes its own task objects.
 *
 * <p>The caller (the convolution plan) has checked every tensor: shapes, liveness, density, no
 * overlap between results and operands, and that each activation's layout is one this primitive
 * {@link #takes}. Weights arrive packed by the primitive's own {@code pack}.
 */
public interface ConvPrimitive {

    /**
     * True when the primitive computes directly on an input-side activation of layout {@code input}
     * and an output-side one of layout {@code output} (see {@link Side}); otherwise the plan reorders
     * each activation that is not in its {@link #preferred} layout.
     */
    boolean takes(Layout input, Layout output);

    /**
     * The layout this primitive computes on best for the activation on {@code side}; the pair of
     * preferred layouts is always {@linkplain #takes taken}.
     */
    Layout preferred(Side side);

    /**
     * Packed weights that are not a {@code float[]} or {@code float[][]} say how large they are, so
     * that a bounded cache of plans can count them.
     */
    interface PackedForm {
        long bytes();
    }
}
