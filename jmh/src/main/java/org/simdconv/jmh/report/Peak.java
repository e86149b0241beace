package org.simdconv.jmh.report;

/**
 * The FMA peak through the Vector API at one thread count, from
 * {@link org.simdconv.jmh.FmaPeakBenchmark}: its score is vector FMAs per microsecond (summed over
 * the threads), each FMA is {@code 2 * lanes} FLOP, so GFLOP/s = {@code score * 2 * lanes / 1000}.
 *
 * @param threads     benchmark threads
 * @param fmasPerUs   the score: vector FMAs per microsecond, all threads together
 * @param fmasErrorPerUs its 99.9% error, or NaN
 * @param lanes       floats per vector ({@code FloatVector.SPECIES_PREFERRED.length()})
 */
public record Peak(int threads, double fmasPerUs, double fmasErrorPerUs, int lanes) {

    public Peak {
        if (threads < 1 || lanes < 1) {
            throw new IllegalArgumentException("threads and lanes must be >= 1, got " + threads + ", " + lanes);
        }
    }

    /** Peak GFLOP/s: {@code score * 2 * lanes / 1000} (vector FMAs/us times FLOP per FMA is MFLOP/s). */
    public double gflops() {
        return gflops(fmasPerUs, lanes);
    }

    /** GFLOP/s of a score in vector FMAs per microsecond. */
    public static double gflops(double fmasPerUs, int lanes) {
        return fmasPerUs * 2.0 * lanes / 1000.0;
    }

    /** GFLOP/s per thread. */
    public double gflopsPerThread() {
        return gflops() / threads;
    }

    /** {@code gflops} as a percentage of this peak. */
    public double percent(double gflops) {
        return Flops.percent(gflops, gflops());
    }
}
