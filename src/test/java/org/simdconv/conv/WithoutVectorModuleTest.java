package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.simdconv.tensor.Tensor;

/**
 * Runs in its own JVM started without {@code --add-modules jdk.incubator.vector} (the Surefire
 * execution {@code without-vector-module}): the library must still work, on the scalar path, and
 * say so in one warning.
 */
@Tag("without-vector-module")
class WithoutVectorModuleTest {

    /** Every log record of the library, from before the first convolution is made in this JVM. */
    private static final List<LogRecord> RECORDS = new CopyOnWriteArrayList<>();
    private static final Handler CAPTURE = new Handler() {
        @Override
        public void publish(LogRecord record) {
            RECORDS.add(record);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    @BeforeAll
    static void captureTheLog() {
        Logger.getLogger("org.simdconv").addHandler(CAPTURE);
    }

    @AfterAll
    static void releaseTheLog() {
        Logger.getLogger("org.simdconv").removeHandler(CAPTURE);
    }

    @Test
    void fallsBackToTheScalarPathWithOneWarning() {
        assertTrue(ModuleLayer.boot().findModule("jdk.incubator.vector").isEmpty(),
                "this test must run in a JVM without the incubator module");
        Conv2d first = Conv2d.create(Conv2dOptions.defaults());
        Conv2d second = Conv2d.create(Conv2dOptions.defaults().withStride(2));
        assertFalse(Conv2d.simdAvailable());
        assertEquals(Reference.SCALAR_NAME, first.kernelsName());
        assertEquals(Reference.SCALAR_NAME, second.kernelsName());
        List<LogRecord> warnings = RECORDS.stream()
                .filter(r -> r.getLevel() == Level.WARNING && r.getMessage().contains("scalar path"))
                .toList();
        assertEquals(1, warnings.size(), "exactly one warning, however many convolutions are made");
        assertTrue(warnings.getFirst().getMessage().contains("--add-modules jdk.incubator.vector"),
                warnings.getFirst().getMessage());
    }

    @Test
    void forcingTheSimdPathFailsWithTheReason() {
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                () -> Conv2d.create(Conv2dOptions.defaults()).withImplementation(Implementation.SIMD));
        assertTrue(e.getMessage().contains("jdk.incubator.vector"), e.getMessage());
    }

    @Test
    void theScalarPathComputesWithoutTheModule() {
        try (Arena arena = Arena.ofConfined()) {
            Tensor x = Tensor.wrap(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9}, 1, 1, 3, 3);
            Tensor w = Tensor.wrap(new float[] {1, 0, 0, -1}, 1, 1, 2, 2);
            Tensor y = Conv2d.create(Conv2dOptions.defaults()).forward(arena, x, w, null);
            // z = a[i][j] - a[i+1][j+1] = -4 everywhere
            assertEquals(List.of(-4f, -4f, -4f, -4f), List.of(y.getFlat(0), y.getFlat(1), y.getFlat(2), y.getFlat(3)));
        }
    }
}
