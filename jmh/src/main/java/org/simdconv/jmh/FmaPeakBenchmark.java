package org.simdconv.jmh;

import java.util.concurrent.TimeUnit;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The machine's FMA peak as the Vector API reaches it: twelve independent accumulator chains (more
 * than FMA latency times throughput, so the units never wait), registers only. Score: vector FMAs
 * per microsecond; each is {@code 2 * lanes} FLOP, so GFLOP/s = {@code score * 2 * lanes / 1000}, with
 * the lane count of the preferred species printed at set-up (8 with AVX2, 16 with AVX-512).
 * Run with {@code -t 1} and {@code -t 2} for one and all threads.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 2, jvmArgsAppend = "--add-modules=jdk.incubator.vector")
public class FmaPeakBenchmark {

    private static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    private static final int ROUNDS = 10_000;
    private static final int CHAINS = 12;

    public float a = 0.999f;
    public float b = 1e-7f;

    @org.openjdk.jmh.annotations.Setup
    public void printLanes() {
        System.out.println("# lanes " + SPECIES.length());
    }

    @Benchmark
    @OperationsPerInvocation(ROUNDS * CHAINS)
    public float fma() {
        FloatVector x = FloatVector.broadcast(SPECIES, a), y = FloatVector.broadcast(SPECIES, b);
        FloatVector c0 = y, c1 = y, c2 = y, c3 = y, c4 = y, c5 = y, c6 = y, c7 = y, c8 = y, c9 = y, c10 = y, c11 = y;
        for (int i = 0; i < ROUNDS; i++) {
            c0 = c0.fma(x, y); c1 = c1.fma(x, y); c2 = c2.fma(x, y); c3 = c3.fma(x, y);
            c4 = c4.fma(x, y); c5 = c5.fma(x, y); c6 = c6.fma(x, y); c7 = c7.fma(x, y);
            c8 = c8.fma(x, y); c9 = c9.fma(x, y); c10 = c10.fma(x, y); c11 = c11.fma(x, y);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(jdk.incubator.vector.VectorOperators.ADD);
    }
}
