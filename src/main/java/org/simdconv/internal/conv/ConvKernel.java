package org.simdconv.internal.conv;

/**
 * One family of convolution kernels, one entry of an ordered {@link KernelList} (oneDNN's
 * {@code cpu_convolution_list.cpp}): its name, the rule by which it accepts a problem, and the
 * primitives that run it. The rule sits here, beside the code it guards; the list asks each family
 * in turn and the first that accepts runs, so adding a kernel is one class and one line of a list.
 */
public interface ConvKernel {

    /** A short name, shown by {@code kernelName} and in benchmark reports. */
    String name();

    /** True when this family runs {@code pass} on {@code problem}. */
    boolean accepts(ConvPass pass, ConvProblem problem);

    /** The forward primitive of an accepted problem. */
    default ForwardPrimitive<?> forward(ConvProblem problem) {
        throw notOffered(ConvPass.FORWARD);
    }

    /** The backward-data primitive of an accepted problem. */
    default BackwardDataPrimitive<?> backwardData(ConvProblem problem) {
        throw notOffered(ConvPass.BACKWARD_DATA);
    }

    /** The backward-weights primitive of an accepted problem. */
    default BackwardWeightsPrimitive backwardWeights(ConvProblem problem) {
        throw notOffered(ConvPass.BACKWARD_WEIGHTS);
    }

    private UnsupportedOperationException notOffered(ConvPass pass) {
        return new UnsupportedOperationException(name() + " has no " + pass + " pass");
    }
}
