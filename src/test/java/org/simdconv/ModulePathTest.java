package org.simdconv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The library works on the module path as well as on the class path (where every other test runs
 * it): a JVM started with {@code target/classes} as the module {@code org.simdconv} runs
 * {@code modulecheck.OnTheModulePath}, a user class that calls the API and finds the internals closed.
 */
class ModulePathTest {

    @Test
    void theModuleExportsTheApiAndHidesItsInternals() throws Exception {
        Path classes = Path.of("target/classes"), testClasses = Path.of("target/test-classes");
        assertTrue(Files.exists(classes.resolve("module-info.class")), "compile first: no " + classes);
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process process = new ProcessBuilder(List.of(java, "--module-path", classes.toString(),
                "--add-modules", "org.simdconv,jdk.incubator.vector",
                "-cp", testClasses.toString(), "modulecheck.OnTheModulePath"))
                .redirectErrorStream(true).start();
        assertTrue(process.waitFor(60, TimeUnit.SECONDS), "the JVM did not end");
        String out = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, process.exitValue(), out);
        assertTrue(out.lines().anyMatch("ok"::equals), out);
    }

    static {
        assertTrue(File.pathSeparatorChar == ':' || File.pathSeparatorChar == ';');
    }
}
