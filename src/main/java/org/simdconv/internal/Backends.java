package org.simdconv.internal;

import java.lang.System.Logger.Level;
import java.util.Locale;

/**
 * Chooses the backend once per JVM, in the manner of Lucene's vectorization provider: the Vector
 * API backend is loaded reflectively, so no class links against {@code jdk.incubator.vector}
 * unless the module is in the boot layer. When it is not, {@link #auto()} falls back to the scalar
 * reference and says so in one warning; it never fails and never falls back silently.
 * {@code -Dsimdconv.implementation=scalar|simd} forces one for the whole JVM.
 */
public final class Backends {

    /** The system property that forces a backend: {@code auto} (the default), {@code scalar} or {@code simd}. */
    public static final String PROPERTY = "simdconv.implementation";

    private static final System.Logger LOG = System.getLogger("org.simdconv");
    private static final String VECTOR_MODULE = "jdk.incubator.vector";
    private static final String SIMD_BACKEND = "org.simdconv.internal.simd.SimdBackend";
    private static final Backend REFERENCE = new ReferenceBackend();

    private Backends() {
    }

    /** Loaded on first use of the SIMD path: either the backend or why it cannot be had. */
    private static final class Simd {
        static final Backend BACKEND;
        static final String UNAVAILABLE_BECAUSE;

        static {
            Backend backend = null;
            String why = null;
            Module vector = ModuleLayer.boot().findModule(VECTOR_MODULE).orElse(null);
            if (vector == null) {
                why = VECTOR_MODULE + " is not in the module graph (start the JVM with --add-modules "
                        + VECTOR_MODULE + ")";
            } else {
                try {
                    Backends.class.getModule().addReads(vector); // a named module reads it only when asked
                    backend = (Backend) Class.forName(SIMD_BACKEND).getConstructor().newInstance();
                } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                    Throwable cause = e.getCause() != null ? e.getCause() : e;
                    why = "the Vector API kernels could not be loaded: " + cause;
                }
            }
            BACKEND = backend;
            UNAVAILABLE_BECAUSE = why;
        }
    }

    private static final class Auto {
        static final Backend BACKEND = chooseAuto();
    }

    /** The scalar reference, always available. */
    public static Backend reference() {
        return REFERENCE;
    }

    /** The Vector API backend; {@link UnsupportedOperationException} with the reason when this JVM cannot run it. */
    public static Backend simd() {
        if (Simd.BACKEND == null) {
            throw new UnsupportedOperationException("implementation SIMD is not available: " + Simd.UNAVAILABLE_BECAUSE);
        }
        return Simd.BACKEND;
    }

    /** The Vector API backend when this JVM can run it (or as {@link #PROPERTY} says), else the reference. */
    public static Backend auto() {
        return Auto.BACKEND;
    }

    /** True when the Vector API backend can run in this JVM. */
    public static boolean simdAvailable() {
        return Simd.BACKEND != null;
    }

    private static Backend chooseAuto() {
        String forced = System.getProperty(PROPERTY, "auto").trim().toLowerCase(Locale.ROOT);
        Backend chosen = switch (forced) {
            case "scalar" -> REFERENCE;
            case "simd" -> simd();
            case "auto" -> {
                if (Simd.BACKEND == null) {
                    LOG.log(Level.WARNING, "simdconv: using the scalar path, because " + Simd.UNAVAILABLE_BECAUSE);
                    yield REFERENCE;
                }
                yield Simd.BACKEND;
            }
            default -> throw new IllegalArgumentException("system property " + PROPERTY + "='" + forced
                    + "' must be auto, scalar or simd");
        };
        LOG.log(Level.DEBUG, "simdconv: backend: " + chosen.name());
        return chosen;
    }
}
