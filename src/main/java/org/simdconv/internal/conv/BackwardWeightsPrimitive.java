package org.simdconv.internal.conv;

import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Backward-weights and backward-bias bound to one problem: the input correlated with the (dilated)
 * output gradient (seed 001, 17.3.5), and the gradient's sum (17.3.6), over the batch. Partial sums
 * of tasks are added in a fixed order, so results depend on the thread count but not on scheduling.
 */
public interface BackwardWeightsPrimitive extends ConvPrimitive {

    /** Writes, or adds when {@code accumulate}, the weight gradient and, when not null, the bias gradient. */
    void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias, boolean accumulate,
                         Workspace workspace, Parallelism par);
}
