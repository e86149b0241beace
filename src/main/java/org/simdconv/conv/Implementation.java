package org.simdconv.conv;

/** Which kernels run the passes. */
public enum Implementation {
    /**
     * The Vector API path when {@code jdk.incubator.vector} can be used, else the scalar path with one
     * warning in the log. The system property {@code simdconv.implementation} ({@code scalar} or
     * {@code simd}) overrides the choice for a whole JVM.
     */
    AUTO,
    /** The scalar reference path: slow, obviously right, the oracle of the tests. */
    SCALAR,
    /** The Vector API path; fails at once if the incubator module is not available. */
    SIMD
}
