package org.simdconv.internal.conv;

import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Backward-data bound to one problem (seed 001, 17.3.1-17.3.4): the output gradient, zero-padded (and
 * dilated by the stride), correlated with each kernel rotated by 180 degrees, summed over filters.
 *
 * @param <W> the packed (rotated, transposed) weights
 */
public interface BackwardDataPrimitive<W> extends ConvPrimitive {

    /**
     * The OIHW weights in this primitive's order. {@code oihw} is the plan's copy: read it, never keep it;
     * {@code previous}, when not null, is a form this primitive packed before and no call uses any
     * more: packing into it again allocates nothing (a training step repacks every time).
     */
    W pack(float[] oihw, W previous);

    /** Writes, or adds when {@code accumulate}, the gradient with respect to the input. */
    void backwardData(Tensor gradOutput, W weights, Tensor gradInput, boolean accumulate, Workspace workspace,
                      Parallelism par);
}
