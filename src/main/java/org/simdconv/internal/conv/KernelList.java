package org.simdconv.internal.conv;

import java.util.List;
import java.util.Objects;

/**
 * The ordered list of kernel families of one implementation: for a pass and a problem, the first
 * family that accepts it runs, and its name says so ({@link #choose}, logged at debug level by the
 * {@code org.simdconv} logger). There is no silent fallback: a list that no family of which accepts a
 * problem is a bug, and says so.
 */
public final class KernelList {

    private static final System.Logger LOG = System.getLogger("org.simdconv");

    private final String name;
    private final List<ConvKernel> kernels;

    /** {@code kernels} in the order they are tried. */
    public KernelList(String name, List<ConvKernel> kernels) {
        this.name = Objects.requireNonNull(name, "name");
        this.kernels = List.copyOf(kernels);
    }

    /** The implementation's name, such as {@code simd-direct-512bit}. */
    public String name() {
        return name;
    }

    public List<ConvKernel> kernels() {
        return kernels;
    }

    /** The first family that accepts {@code pass} on {@code problem}. */
    public ConvKernel choose(ConvPass pass, ConvProblem problem) {
        for (ConvKernel kernel : kernels) {
            if (kernel.accepts(pass, problem)) {
                if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                    LOG.log(System.Logger.Level.DEBUG, "simdconv: " + pass + " " + problem + " runs " + name + "/"
                            + kernel.name());
                }
                return kernel;
            }
        }
        throw new IllegalStateException("no kernel of " + name + " accepts " + pass + " " + problem);
    }

    @Override
    public String toString() {
        return name + kernels.stream().map(ConvKernel::name).toList();
    }
}
