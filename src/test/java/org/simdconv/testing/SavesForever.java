package org.simdconv.testing;

import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.Map;
import org.simdconv.io.Safetensors;
import org.simdconv.tensor.Tensor;

/**
 * A process that saves a 32 MB model over and over into one file until it is killed: save number
 * {@code i} holds a tensor whose every value is {@code i}, and says {@code i} in its metadata, so
 * the file tells by itself whether it is whole. {@code AtomicSaveTest} kills it with SIGKILL.
 */
public final class SavesForever {

    private SavesForever() {
    }

    public static void main(String[] args) throws Exception {
        Path file = Path.of(args[0]);
        try (Arena arena = Arena.ofConfined()) {
            Tensor weights = Tensor.allocate(arena, 2048, 4096);
            for (int i = 0; ; i++) {
                float value = i;
                for (long e = 0; e < weights.elementCount(); e++) {
                    weights.setFlat(e, value);
                }
                Safetensors.write(file, Map.of("0.weight", weights), Map.of("save", Integer.toString(i)));
                System.out.println("saved " + i);
            }
        }
    }
}
