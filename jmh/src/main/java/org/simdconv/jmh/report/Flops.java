package org.simdconv.jmh.report;

/** The arithmetic of the report: GFLOP/s from FLOPs and time, percentages, ratios. */
public final class Flops {

    private Flops() {
    }

    /**
     * GFLOP/s of {@code flops} floating-point operations done in {@code ms} milliseconds:
     * {@code flops / (ms / 1000) / 1e9 = flops / (ms * 1e6)}. NaN when the time is not positive.
     */
    public static double gflops(long flops, double ms) {
        return ms > 0 ? flops / (ms * 1e6) : Double.NaN;
    }

    /** {@code part} as a percentage of {@code whole}; NaN when {@code whole} is not positive. */
    public static double percent(double part, double whole) {
        return whole > 0 ? 100.0 * part / whole : Double.NaN;
    }

    /** {@code ours / theirs}; NaN when {@code theirs} is not positive. */
    public static double ratio(double ours, double theirs) {
        return theirs > 0 ? ours / theirs : Double.NaN;
    }
}
