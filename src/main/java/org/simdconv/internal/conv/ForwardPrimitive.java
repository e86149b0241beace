package org.simdconv.internal.conv;

import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * The forward pass bound to one problem: {@code output = W * input + bias} (cross-correlation,
 * seed 001, 17.1), with weights packed once by {@link #pack} into the order its tiles read.
 *
 * @param <W> the packed weights
 */
public interface ForwardPrimitive<W> extends ConvPrimitive {

    /**
     * The OIHW weights in this primitive's order. {@code oihw} is the plan's copy: read it, never keep it;
     * {@code previous}, when not null, is a form this primitive packed before and no call uses any
     * more: packing into it again allocates nothing (a training step repacks every time).
     */
    W pack(float[] oihw, W previous);

    /** Runs the pass; {@code bias} may be null. */
    void forward(Tensor input, W weights, Tensor bias, Tensor output, Workspace workspace, Parallelism par);
}
