package org.simdconv.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.simdconv.conv.Implementation;
import org.simdconv.data.ImageDataset;
import org.simdconv.nn.Execution;
import org.simdconv.nn.Parameter;
import org.simdconv.nn.Sequential;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;
import org.simdconv.testing.RandomImages;

/** A checkpoint restores all of a run or nothing of it. */
class CheckpointTest {

    @TempDir
    Path dir;

    @Test
    void aMomentumBufferThatDoesNotFitChangesNoParameter() throws IOException {
        Execution serial = new Execution(Implementation.SCALAR, Parallelism.serial());
        TrainingOptions options = TrainingOptions.peerRecipe().withEpochs(2);
        Path file = dir.resolve("c.safetensors");
        ImageDataset data = RandomImages.of(96, 4);
        try (Sequential model = Models.seedCnn(serial); Trainer trainer = new Trainer(model, options)) {
            java.util.List<Trainer.EpochResult> done = java.util.List.of(trainer.epoch(1, data, data, new Trainer.Listener() { }));
            new Checkpoint("seed-cnn", options, 1, done).write(file, trainer);
        }
        try (Sequential model = Models.seedCnn(serial); Trainer fresh = new Trainer(model, options);
             Arena arena = Arena.ofConfined()) {
            Checkpoint.Saved saved = Checkpoint.read(file, arena);
            Map<String, Tensor> momentum = new LinkedHashMap<>(saved.momentum());
            momentum.put("9.bias", Tensor.allocate(arena, 11));
            Map<String, float[]> before = new LinkedHashMap<>();
            for (Parameter p : model.parameters()) {
                before.put(p.name(), p.value().toArray());
            }
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> new Checkpoint.Saved(saved.checkpoint(), saved.parameters(), momentum).restore(fresh));
            assertTrue(e.getMessage().contains("momentum buffer '9.bias'"), e.getMessage());
            for (Parameter p : model.parameters()) {
                assertArrayEquals(before.get(p.name()), p.value().toArray(), p.name() + " unchanged");
            }
            saved.restore(fresh); // the untouched checkpoint restores
            assertArrayEquals(saved.parameters().get("9.bias").toArray(), model.parameter("9.bias").value().toArray());
        }
    }
}
