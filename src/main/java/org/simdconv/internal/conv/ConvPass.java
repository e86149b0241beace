package org.simdconv.internal.conv;


/** The three passes of a convolution, as the kernels know them (the public API names them {@code Conv2dPass}). */
public enum ConvPass {
    /** {@code Z = W * A + b} (seed 000, eq. 1; seed 001, 17.1). */
    FORWARD,
    /** The gradient with respect to the input (seed 001, 17.3.1). */
    BACKWARD_DATA,
    /** The gradients with respect to the weights and the bias (seed 001, 17.3.5 and 17.3.6). */
    BACKWARD_WEIGHTS
}
