package org.simdconv.conv;

/** The three passes of a convolution, for asking which kernel runs one ({@link Conv2d#kernelName}). */
public enum Conv2dPass {
    FORWARD,
    BACKWARD_DATA,
    BACKWARD_WEIGHTS
}
