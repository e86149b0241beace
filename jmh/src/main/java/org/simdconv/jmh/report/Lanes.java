package org.simdconv.jmh.report;

import jdk.incubator.vector.FloatVector;

/** The width of {@code FloatVector.SPECIES_PREFERRED} in this JVM, the one the forked benchmark JVMs use too. */
final class Lanes {

    private Lanes() {
    }

    /** Floats per vector: 8 with AVX2, 16 with AVX-512. */
    static int preferred() {
        return FloatVector.SPECIES_PREFERRED.length();
    }

    /** Bits per vector. */
    static int bits() {
        return FloatVector.SPECIES_PREFERRED.vectorBitSize();
    }
}
