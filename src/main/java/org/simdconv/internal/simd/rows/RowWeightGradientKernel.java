package org.simdconv.internal.simd.rows;

import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.simd.common.WorkSplit;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * Weight and bias gradients over packed NCHW planes ({@link RowWeightGradient},
 * {@link WeightGradientKernel}): the input correlated with the output gradient (seed 001, 17.3.5),
 * four filters at a time. It takes every problem: the last entry of the list for backward-weights.
 */
public final class RowWeightGradientKernel extends RowsKernel {

    @Override
    public String name() {
        return "row-direct-weight-gradient";
    }

    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return pass == ConvPass.BACKWARD_WEIGHTS;
    }

    @Override
    public BackwardWeightsPrimitive backwardWeights(ConvProblem g) {
        return new LaneWeightGradient(g) {
            @Override
            void accumulate(Tensor input, Tensor gradOutput, int n0, int n1, int split, int splits, float[] partial,
                            float[] biasPartial, Workspace.Worker worker) {
                int k0 = WorkSplit.start(g.k(), splits, split);
                int k1 = WorkSplit.start(g.k(), splits, split + 1);
                for (int n = n0; n < n1; n++) {
                    grad.accumulate(input, gradOutput, n, k0, k1, partial, biasPartial, worker);
                }
            }
        };
    }
}
