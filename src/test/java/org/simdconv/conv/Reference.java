package org.simdconv.conv;

import org.simdconv.internal.reference.ReferenceConvolution;

/**
 * The oracle ({@link ReferenceConvolution}, the seed formulas in double precision) called with the
 * public geometry the tests build, and the name of the scalar implementation.
 */
public final class Reference {

    /** {@code Conv2d.kernelsName()} of {@link Implementation#SCALAR}. */
    static final String SCALAR_NAME = "scalar-reference";

    private Reference() {
    }

    public static double[] forward(Conv2dGeometry g, double[] input, double[] weight, double[] bias) {
        return ReferenceConvolution.forward(Conv2dPlan.problemOf(g), input, weight, bias);
    }

    public static double[] backwardData(Conv2dGeometry g, double[] gradOutput, double[] weight) {
        return ReferenceConvolution.backwardData(Conv2dPlan.problemOf(g), gradOutput, weight);
    }

    public static double[] backwardWeights(Conv2dGeometry g, double[] input, double[] gradOutput) {
        return ReferenceConvolution.backwardWeights(Conv2dPlan.problemOf(g), input, gradOutput);
    }

    public static double[] backwardBias(Conv2dGeometry g, double[] gradOutput) {
        return ReferenceConvolution.backwardBias(Conv2dPlan.problemOf(g), gradOutput);
    }

    static double[] insertZeros(double[] plane, int h, int w, int strideH, int strideW) {
        return ReferenceConvolution.insertZeros(plane, h, w, strideH, strideW);
    }
}
