package org.simdconv.jmh.report;

import java.util.Locale;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * How long JMH measures: {@link #QUICK} (a first look: one fork, warmup 1 x 1 s, measurement
 * 2 x 0.3 s) or {@link #NORMAL} (two forks, warmup 5 x 1 s, measurement 5 x 1 s, the benchmarks'
 * own defaults).
 *
 * <p>The quick warmup is one second, not less: the Vector API kernels need about that long to be
 * compiled by C2, and with a 0.3 s warmup the measurement still catches them half-compiled
 * (measured on seed_conv2 at 1 thread: bwd_weights 61 ms instead of 4 ms, bwd_data 2.8 ms instead of
 * 0.58 ms). Measurement iterations can stay short. The normal warmup is five seconds: until C2
 * has compiled them, the Vector API kernels run boxed (C1 does not intrinsify them), so a call can
 * take 30 times its compiled time, and the seed's first layer was still warming up after three
 * (measured at 2 threads: backward-weights 38 and 27 ms per call in the second and third
 * warmup seconds, 1.1 ms from the sixth; the three-second warmup reported 6.4 ms).
 */
public record RunSettings(String name, int forks, int warmupIterations, long warmupMillis, int measurementIterations,
                          long measurementMillis) {

    public static final RunSettings QUICK = new RunSettings("quick", 1, 1, 1000, 2, 300);
    public static final RunSettings NORMAL = new RunSettings("normal", 2, 5, 1000, 5, 1000);

    /** A rough duration of one benchmark, for the first time estimate: the iterations plus a JVM start per fork. */
    public double nominalSeconds() {
        return forks * ((warmupIterations * warmupMillis + measurementIterations * measurementMillis) / 1000.0 + 1.0);
    }

    /** "1 fork, warmup 1 x 1 s, measurement 2 x 0.3 s". */
    public String describe() {
        return String.format(Locale.ROOT, "%d fork%s, warmup %d x %s s, measurement %d x %s s", forks,
                forks == 1 ? "" : "s", warmupIterations, seconds(warmupMillis), measurementIterations,
                seconds(measurementMillis));
    }

    private static String seconds(long millis) {
        return java.math.BigDecimal.valueOf(millis, 3).stripTrailingZeros().toPlainString();
    }

    /** Sets forks, warmup and measurement on a JMH options builder. */
    ChainedOptionsBuilder applyTo(ChainedOptionsBuilder options) {
        return options.forks(forks)
                .warmupIterations(warmupIterations).warmupTime(new TimeValue(warmupMillis, TimeUnit.MILLISECONDS))
                .measurementIterations(measurementIterations)
                .measurementTime(new TimeValue(measurementMillis, TimeUnit.MILLISECONDS));
    }
}
