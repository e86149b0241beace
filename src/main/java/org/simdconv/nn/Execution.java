package org.simdconv.nn;

import java.util.Objects;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Implementation;
import org.simdconv.internal.Backend;
import org.simdconv.internal.Backends;
import org.simdconv.parallel.Parallelism;

/**
 * Where and by which kernels a model computes: the implementation (the Vector API path, or the
 * scalar reference that is the tests' oracle) and the threads.
 *
 * @param implementation which kernels run every layer
 * @param parallelism    the threads they run on
 */
public record Execution(Implementation implementation, Parallelism parallelism) {

    public Execution {
        Objects.requireNonNull(implementation, "implementation");
        Objects.requireNonNull(parallelism, "parallelism");
    }

    /** The automatic kernels on every core ({@link Parallelism#allCores()}). */
    public static Execution defaults() {
        return new Execution(Implementation.AUTO, Parallelism.allCores());
    }

    public Execution withImplementation(Implementation implementation) {
        return new Execution(implementation, parallelism);
    }

    public Execution withParallelism(Parallelism parallelism) {
        return new Execution(implementation, parallelism);
    }

    /** The name of the kernels that run, such as {@code simd-direct-512bit} or {@code scalar-reference}. */
    public String kernelsName() {
        return backend().name();
    }

    /** The backend of {@link #implementation()}. */
    Backend backend() {
        return switch (implementation) {
            case SCALAR -> Backends.reference();
            case SIMD -> Backends.simd();
            case AUTO -> Backends.auto();
        };
    }

    /** A convolution with these kernels and threads. */
    org.simdconv.conv.Conv2d convolution(Conv2dOptions options) {
        return org.simdconv.conv.Conv2d.create(options).withImplementation(implementation)
                .withParallelism(parallelism);
    }
}
