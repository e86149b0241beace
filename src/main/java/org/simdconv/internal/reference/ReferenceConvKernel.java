package org.simdconv.internal.reference;

import org.simdconv.internal.conv.BackwardDataPrimitive;
import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvKernel;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvPrimitive;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.internal.conv.Side;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * The scalar path: {@link ReferenceConvolution} on the tensors' contents, widened to double and
 * rounded once to float at the end. It accepts every problem, reads and writes plain tensors only,
 * and runs on the calling thread whatever the parallelism, so its results never depend on the
 * thread count.
 */
public final class ReferenceConvKernel implements ConvKernel {

    public static final String NAME = "reference";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean accepts(ConvPass pass, ConvProblem problem) {
        return true;
    }

    @Override
    public ForwardPrimitive<double[]> forward(ConvProblem g) {
        return new Forward(g);
    }

    @Override
    public BackwardDataPrimitive<double[]> backwardData(ConvProblem g) {
        return new BackwardData(g);
    }

    @Override
    public BackwardWeightsPrimitive backwardWeights(ConvProblem g) {
        return new BackwardWeights(g);
    }

    /** Plain tensors only: the oracle reads elements in NCHW order. */
    private abstract static class Plain implements ConvPrimitive {
        final ConvProblem g;

        Plain(ConvProblem g) {
            this.g = g;
        }

        @Override
        public boolean takes(Layout input, Layout output) {
            return input.isPlain() && output.isPlain();
        }

        @Override
        public Layout preferred(Side side) {
            return Layout.plain();
        }

        public double[] pack(float[] oihw, double[] previous) {
            double[] d = previous != null ? previous : new double[oihw.length];
            for (int i = 0; i < oihw.length; i++) {
                d[i] = oihw[i];
            }
            return d;
        }
    }

    private static final class Forward extends Plain implements ForwardPrimitive<double[]> {
        Forward(ConvProblem g) {
            super(g);
        }

        @Override
        public void forward(Tensor input, double[] weights, Tensor bias, Tensor output, Workspace workspace,
                            Parallelism par) {
            double[] z = ReferenceConvolution.forward(g, widen(input.toArray()), weights,
                    bias == null ? null : widen(bias.toArray()));
            store(z, output, false);
        }
    }

    private static final class BackwardData extends Plain implements BackwardDataPrimitive<double[]> {
        BackwardData(ConvProblem g) {
            super(g);
        }

        @Override
        public void backwardData(Tensor gradOutput, double[] weights, Tensor gradInput, boolean accumulate,
                                 Workspace workspace, Parallelism par) {
            store(ReferenceConvolution.backwardData(g, widen(gradOutput.toArray()), weights), gradInput, accumulate);
        }
    }

    private static final class BackwardWeights extends Plain implements BackwardWeightsPrimitive {
        BackwardWeights(ConvProblem g) {
            super(g);
        }

        @Override
        public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                    boolean accumulate, Workspace workspace, Parallelism par) {
            double[] dz = widen(gradOutput.toArray());
            store(ReferenceConvolution.backwardWeights(g, widen(input.toArray()), dz), gradWeight, accumulate);
            if (gradBias != null) {
                store(ReferenceConvolution.backwardBias(g, dz), gradBias, accumulate);
            }
        }
    }

    private static double[] widen(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Rounds to float once; when accumulating, the old value joins the sum in double first. */
    private static void store(double[] values, Tensor target, boolean accumulate) {
        float[] out = accumulate ? target.toArray() : new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = accumulate ? (float) (out[i] + values[i]) : (float) values[i];
        }
        target.copyFrom(out);
    }
}
