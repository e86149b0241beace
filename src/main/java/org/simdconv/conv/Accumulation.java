package org.simdconv.conv;

/** Whether a backward pass replaces the gradient tensor's contents or adds to them. */
public enum Accumulation {
    /** {@code grad = result}: the usual case. */
    OVERWRITE,
    /** {@code grad += result}: for a tensor used twice, or gradients summed over several calls. */
    ACCUMULATE
}
