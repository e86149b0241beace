package org.simdconv.conv.reference;

import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.conv.Conv2dKernels;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * The scalar path: {@link ReferenceConvolution} on the tensors' contents, widened to double and
 * rounded once to float at the end. It runs on the calling thread whatever the parallelism, so its
 * results never depend on the thread count.
 */
public final class ScalarConv2d implements Conv2dKernels {

    public static final String NAME = "scalar-reference";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public boolean runsOnCallingThread() {
        return true;
    }

    @Override
    public void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, Parallelism par) {
        double[] z = ReferenceConvolution.forward(g, widen(input), widen(weight), bias == null ? null : widen(bias));
        store(z, output, Accumulation.OVERWRITE);
    }

    @Override
    public void backwardData(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput,
                             Accumulation mode, Parallelism par) {
        store(ReferenceConvolution.backwardData(g, widen(gradOutput), widen(weight)), gradInput, mode);
    }

    @Override
    public void backwardWeights(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                Accumulation mode, Parallelism par) {
        double[] dz = widen(gradOutput);
        store(ReferenceConvolution.backwardWeights(g, widen(input), dz), gradWeight, mode);
        if (gradBias != null) {
            store(ReferenceConvolution.backwardBias(g, dz), gradBias, mode);
        }
    }

    private static double[] widen(Tensor t) {
        float[] f = t.toArray();
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /** Rounds to float once; in accumulate mode the old value joins the sum in double first. */
    private static void store(double[] values, Tensor target, Accumulation mode) {
        float[] out = mode == Accumulation.ACCUMULATE ? target.toArray() : new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = mode == Accumulation.ACCUMULATE ? (float) (out[i] + values[i]) : (float) values[i];
        }
        target.copyFrom(out);
    }
}
