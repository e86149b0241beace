package org.simdconv.conv;

import java.lang.System.Logger.Level;
import java.util.Locale;
import org.simdconv.conv.reference.ScalarConv2d;

/**
 * Chooses the kernels once per JVM, in the manner of Lucene's vectorization provider: the Vector
 * API implementation is loaded reflectively, so no class links against {@code jdk.incubator.vector}
 * unless the module is in the boot layer. When it is not, {@link Implementation#AUTO} falls back to
 * the scalar path and says so in one warning; it never fails and never falls back silently.
 */
final class KernelSelection {

    static final String PROPERTY = "simdconv.implementation";

    private static final System.Logger LOG = System.getLogger("org.simdconv");
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final String VECTOR_KERNELS = "org.simdconv.conv.simd.VectorConv2d";
    private static final Conv2dKernels SCALAR = new ScalarConv2d();

    private KernelSelection() {
    }

    /** Loaded on first use of the SIMD path: either the kernels or why they cannot be had. */
    private static final class Simd {
        static final Conv2dKernels KERNELS;
        static final String UNAVAILABLE_BECAUSE;

        static {
            Conv2dKernels kernels = null;
            String why = null;
            if (ModuleLayer.boot().findModule(VECTOR_MODULE).isEmpty()) {
                why = VECTOR_MODULE + " is not in the module graph (start the JVM with --add-modules "
                        + VECTOR_MODULE + ")";
            } else {
                try {
                    kernels = (Conv2dKernels) Class.forName(VECTOR_KERNELS).getConstructor().newInstance();
                } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                    Throwable cause = e.getCause() != null ? e.getCause() : e;
                    why = "the Vector API kernels could not be loaded: " + cause;
                }
            }
            KERNELS = kernels;
            UNAVAILABLE_BECAUSE = why;
        }
    }

    private static final class Auto {
        static final Conv2dKernels KERNELS = chooseAuto();
    }

    static Conv2dKernels select(Implementation requested) {
        return switch (requested) {
            case SCALAR -> SCALAR;
            case SIMD -> simd();
            case AUTO -> Auto.KERNELS;
        };
    }

    /** The block of the channel-blocked layout: the Vector API kernels' lanes, or 8 without them. */
    static int channelBlock() {
        return Simd.KERNELS != null ? Simd.KERNELS.channelBlock() : 8;
    }

    /** True when the Vector API path can run in this JVM. */
    static boolean simdAvailable() {
        return Simd.KERNELS != null;
    }

    private static Conv2dKernels simd() {
        if (Simd.KERNELS == null) {
            throw new UnsupportedOperationException("implementation SIMD is not available: " + Simd.UNAVAILABLE_BECAUSE);
        }
        return Simd.KERNELS;
    }

    private static Conv2dKernels chooseAuto() {
        String forced = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        Conv2dKernels chosen = switch (forced) {
            case "scalar" -> SCALAR;
            case "simd" -> simd();
            case "auto" -> {
                if (Simd.KERNELS == null) {
                    LOG.log(Level.WARNING, "simdconv: using the scalar path, because " + Simd.UNAVAILABLE_BECAUSE);
                    yield SCALAR;
                }
                yield Simd.KERNELS;
            }
            default -> throw new IllegalArgumentException("system property " + PROPERTY + "='" + forced
                    + "' must be auto, scalar or simd");
        };
        LOG.log(Level.DEBUG, "simdconv: convolution kernels: " + chosen.name());
        return chosen;
    }
}
