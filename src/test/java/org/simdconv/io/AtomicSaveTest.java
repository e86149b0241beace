package org.simdconv.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.simdconv.tensor.Tensor;
import org.simdconv.testing.ChildJvm;
import org.simdconv.testing.SavesForever;

/**
 * A process killed with SIGKILL while it saves a model leaves the previous save whole: the file
 * always reads as one complete save (every value equal to the save number its metadata names),
 * however the kill falls on the writing (a 32 MB save takes tens of milliseconds).
 */
class AtomicSaveTest {

    @TempDir
    Path dir;

    @Test
    @Timeout(120)
    void aSaveKilledHalfwayLeavesTheLastWholeFile() throws Exception {
        Path file = dir.resolve("model.safetensors");
        int[] delaysMillis = {0, 7, 23, 41, 77};
        int lastSave = -1;
        for (int delay : delaysMillis) {
            Process saver = startSaver(file);
            try {
                waitForSaves(saver, file, lastSave);
                Thread.sleep(delay);
            } finally {
                saver.destroyForcibly(); // SIGKILL: no shutdown hook, no finally block of the saver runs
                assertTrue(saver.waitFor(30, TimeUnit.SECONDS));
            }
            lastSave = assertWhole(file);
        }
    }

    private Process startSaver(Path file) throws IOException {
        return ChildJvm.start(dir.resolve("saver.log"), SavesForever.class.getName(), file.toString());
    }

    /** Waits until the saver has replaced the file at least twice since {@code after}. */
    private static void waitForSaves(Process saver, Path file, int after) throws Exception {
        for (int polls = 0; polls < 6000; polls++) {
            assertTrue(saver.isAlive(), "the saver ended early");
            if (Files.exists(file)) {
                try (Arena arena = Arena.ofConfined()) {
                    int save = Integer.parseInt(Safetensors.read(file, arena).metadata().get("save"));
                    if (save >= after + 2 || (after < 0 && save >= 1)) {
                        return;
                    }
                }
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the saver made no progress");
    }

    /** Reads the file as one whole save and returns its number. */
    private static int assertWhole(Path file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            Safetensors.Contents contents = Safetensors.read(file, arena);
            int save = Integer.parseInt(contents.metadata().get("save"));
            Tensor weights = contents.tensors().get("0.weight");
            assertEquals(2048L * 4096, weights.elementCount());
            float[] values = weights.toArray();
            for (int i = 0; i < values.length; i++) {
                if (values[i] != save) {
                    throw new AssertionError("save " + save + " holds " + values[i] + " at element " + i);
                }
            }
            return save;
        }
    }
}
