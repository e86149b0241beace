package org.simdconv.conv;

import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * One implementation of every pass of a 2-D convolution: the scalar reference, or the Vector API
 * path. {@link Conv2d} checks the geometry and every tensor before it calls a kernel, so a kernel
 * may assume contiguous, live, correctly shaped, non-overlapping tensors.
 */
public interface Conv2dKernels {

    /** A short name, shown in logs and benchmark reports. */
    String name();

    /**
     * The name of the kernel that runs {@code pass} on {@code g}, when an implementation picks among
     * several by geometry (the first in its ordered list that accepts the problem); by default
     * {@link #name()}.
     */
    default String kernelName(Conv2dPass pass, Conv2dGeometry g) {
        return name();
    }

    /** True when the kernels ignore the parallelism and run everything on the calling thread. */
    default boolean runsOnCallingThread() {
        return false;
    }

    /** {@code output = W * input + bias} (cross-correlation); {@code bias} may be null. */
    void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, Parallelism par);

    /** The gradient with respect to the input, from the gradient of the output. */
    void backwardData(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput,
                      Accumulation mode, Parallelism par);

    /**
     * The gradients with respect to the weights and (when {@code gradBias} is not null) the bias,
     * summed over the batch.
     */
    void backwardWeights(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                         Accumulation mode, Parallelism par);
}
