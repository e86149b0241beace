package org.simdconv.jmh.report;

import java.util.Objects;

/**
 * One measured pass: a shape, a pass, a thread count and an implementation, with the JMH score.
 *
 * @param shape   the shape's name in the shapes file
 * @param pass    the pass
 * @param threads threads of the convolution's pool
 * @param impl    the benchmark's {@code impl} parameter (simd, scalar)
 * @param ms      median time of one pass over every call JMH timed ({@code Mode.SampleTime}),
 *                milliseconds: the statistic oneDNN's harness reports, and one that a shared
 *                machine's occasional stalls do not drag up as they drag up a mean
 * @param flops   nominal FLOPs of the pass, {@code Conv2dGeometry.flops()}
 * @param kernel  {@code Conv2d.kernelsName()} of a convolution configured like the benchmark's
 */
public record BenchRow(String shape, Pass pass, int threads, String impl, double ms, long flops,
                       String kernel) {

    public BenchRow {
        Objects.requireNonNull(shape, "shape");
        Objects.requireNonNull(pass, "pass");
        Objects.requireNonNull(impl, "impl");
        Objects.requireNonNull(kernel, "kernel");
    }

    /** GFLOP/s: {@code flops / time}. */
    public double gflops() {
        return Flops.gflops(flops, ms);
    }
}
