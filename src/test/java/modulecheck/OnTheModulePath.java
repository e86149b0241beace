package modulecheck;

import java.lang.foreign.Arena;
import org.simdconv.conv.Conv2d;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.tensor.Tensor;

/**
 * A user of simdconv on the module path, run by {@code ModulePathTest} in a JVM of its own: the
 * library is the named module {@code org.simdconv}, its API works (with the Vector API path), and
 * its internal packages are closed to the user. Prints {@code ok} and exits 0, or says what failed.
 */
public final class OnTheModulePath {

    private OnTheModulePath() {
    }

    public static void main(String[] args) throws Exception {
        Module module = Conv2d.class.getModule();
        check(module.isNamed() && module.getName().equals("org.simdconv"), "Conv2d is in " + module);
        check(!module.isExported("org.simdconv.internal"), "org.simdconv.internal is exported");
        check(!module.isExported("org.simdconv.internal.simd.common"), "the kernels' package is exported");
        check(module.isExported("org.simdconv.conv") && module.isExported("org.simdconv.tensor"), "the API is not exported");
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults());
        check(conv.kernelsName().startsWith("simd-direct-"), "kernels " + conv.kernelsName());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = Tensor.allocate(arena, 1, 1, 3, 3).fill(1f);
            Tensor w = Tensor.allocate(arena, 1, 1, 2, 2).fill(2f);
            Tensor y = conv.forward(arena, x, w, null);
            check(y.get(0, 0, 1, 1) == 8f, "forward gave " + y.get(0, 0, 1, 1));
        }
        Class<?> internal = Class.forName("org.simdconv.internal.Backends");
        try {
            internal.getMethod("simd").invoke(null);
            check(false, "an internal class could be called from outside the module");
        } catch (IllegalAccessException expected) {
            // the package is not exported: as it must be
        }
        System.out.println("ok");
    }

    private static void check(boolean condition, String message) {
        if (!condition) {
            System.out.println("failed: " + message);
            System.exit(1);
        }
    }
}
