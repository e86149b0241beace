package org.simdconv.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.simdconv.io.Safetensors;
import org.simdconv.testing.IdxFiles;

/**
 * {@code simdconv train} and {@code evaluate}, run in-process on a small made-up data set in
 * Fashion-MNIST's files: ten classes of 28x28 images, each a bright bar at its own place plus noise,
 * which the seed network learns in two epochs. The tests need no installed data set.
 */
class TrainCommandTest {

    @TempDir
    static Path data;

    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    @BeforeAll
    static void makeData() throws IOException {
        writeSplit("train", 640, 1);
        writeSplit("t10k", 200, 2);
    }

    private static void writeSplit(String split, int n, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] pixels = new byte[n * 28 * 28];
        byte[] labels = new byte[n];
        for (int i = 0; i < n; i++) {
            int label = random.nextInt(10);
            labels[i] = (byte) label;
            for (int p = 0; p < 28 * 28; p++) {
                int row = p / 28;
                boolean bar = row >= 2 + 2 * label && row < 4 + 2 * label;
                pixels[i * 784 + p] = (byte) Math.min(255, (bar ? 180 : 0) + random.nextInt(60));
            }
        }
        Files.write(data.resolve(split + "-images-idx3-ubyte.gz"), IdxFiles.gzip(IdxFiles.idx(new int[] {n, 28, 28}, pixels)));
        Files.write(data.resolve(split + "-labels-idx1-ubyte.gz"), IdxFiles.gzip(IdxFiles.idx(new int[] {n}, labels)));
    }

    @Test
    void trainsLogsPlotsSavesAndTheSavedModelScoresTheSame() throws IOException {
        Path log = dir.resolve("run.csv"), model = dir.resolve("m.safetensors");
        CliRun r = run("train", "--data", data.toString(), "--epochs", "3", "--batch", "32", "--threads", "2",
                "--log", log.toString(), "--save", model.toString());
        assertEquals(0, r.exitCode(), r.err() + r.out());
        assertTrue(r.out().contains("epoch 3: train"), r.out());
        assertTrue(r.out().contains("batch 20/20"), "plain progress lines when not on a terminal: " + r.out());

        List<String> rows = Files.readAllLines(log);
        assertEquals("epoch,train_seconds,images_per_second,train_loss,test_loss,test_accuracy", rows.get(0));
        assertEquals(4, rows.size(), rows.toString());
        String[] last = rows.get(3).split(",");
        double accuracy = Double.parseDouble(last[5]);
        assertTrue(accuracy > 0.8, "bars at ten places are easy to tell apart (chance: 0.1): " + rows);
        assertTrue(Double.parseDouble(last[3]) < Double.parseDouble(rows.get(1).split(",")[3]), "loss falls");

        byte[] png = Files.readAllBytes(dir.resolve("run.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4), "a PNG plot");
        try (Arena arena = Arena.ofConfined()) {
            Safetensors.Contents saved = Safetensors.read(model, arena);
            assertEquals(List.of("0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight",
                    "9.bias"), List.copyOf(saved.tensors().keySet()));
            assertEquals("seed-cnn", saved.metadata().get("model"));
        }

        CliRun eval = run("evaluate", "--load", model.toString(), "--data", data.toString(), "--json", "--threads", "1");
        assertEquals(0, eval.exitCode(), eval.err());
        String json = eval.out().strip();
        assertTrue(json.startsWith("{") && json.endsWith("}") && !json.contains("\n"), json);
        assertEquals(200, (int) number(json, "images"));
        assertEquals(accuracy, number(json, "test_accuracy"), 1e-4, "the same model, the same score: " + json);
        assertEquals(Double.parseDouble(last[4]), number(json, "test_loss"), 1e-5, json);
    }

    private static double number(String json, String key) {
        Matcher m = Pattern.compile("\"" + key + "\":([-0-9.eE]+)").matcher(json);
        assertTrue(m.find(), key + " in " + json);
        return Double.parseDouble(m.group(1));
    }

    @Test
    void theSameSeedAndThreadsGiveTheSameNumbers() throws IOException {
        Path a = dir.resolve("a.csv"), b = dir.resolve("b.csv");
        for (Path log : List.of(a, b)) {
            CliRun r = run("train", "--data", data.toString(), "--epochs", "1", "--batch", "50", "--threads", "2",
                    "--seed", "7", "--log", log.toString());
            assertEquals(0, r.exitCode(), r.err());
        }
        assertEquals(withoutTimes(Files.readAllLines(a)), withoutTimes(Files.readAllLines(b)));
    }

    private static List<String> withoutTimes(List<String> rows) {
        return rows.stream().map(row -> {
            String[] c = row.split(",");
            return c[0] + "," + c[3] + "," + c[4] + "," + c[5];
        }).toList();
    }

    @Test
    void aModelThatDoesNotFitIsOneLineNamingTheTensor() throws IOException {
        Path model = dir.resolve("m.safetensors");
        assertEquals(0, run("train", "--data", data.toString(), "--epochs", "1", "--save", model.toString())
                .exitCode());
        CliRun r = run("evaluate", "--load", model.toString(), "--model", "tf-cnn", "--data", data.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().startsWith("simdconv evaluate: error: ") && r.err().contains("tensor '0.weight' has shape"
                + " [4, 1, 3, 3], the model needs [32, 1, 5, 5]"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());

        Files.write(model, new byte[] {1, 2, 3});
        r = run("evaluate", "--load", model.toString(), "--data", data.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("cannot hold the 8-byte header size"), r.err());
    }

    @Test
    void aMissingDataSetSaysWhereToGetIt() {
        CliRun r = run("train", "--data", dir.resolve("none").toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("no train-images-idx3-ubyte(.gz)") && r.err().contains("--data DIR"), r.err());
        r = run("train", "--epochs", "0", "--data", data.toString());
        assertEquals(2, r.exitCode());
        assertTrue(r.err().contains("epochs must be >= 1, got 0"), r.err());
    }

    @Test
    void eachModelHasItsOwnDefaultRecipeAndTheFlagsOverrideIt() {
        CliRun tf = run("train", "--model", "tf-cnn", "--data", data.toString(), "--epochs", "1", "--batch", "128",
                "--threads", "2");
        assertEquals(0, tf.exitCode(), tf.err() + tf.out());
        assertTrue(tf.out().contains("weight decay 5.0E-4, schedule cosine"), tf.out());
        CliRun seed = run("train", "--data", data.toString(), "--epochs", "1", "--threads", "2");
        assertTrue(seed.out().contains("weight decay 0.0, schedule none"), seed.out());
        CliRun overridden = run("train", "--model", "tf-cnn", "--data", data.toString(), "--epochs", "1",
                "--batch", "128", "--threads", "2", "--weight-decay", "0", "--schedule", "step");
        assertTrue(overridden.out().contains("weight decay 0.0, schedule step"), overridden.out());
    }

    /**
     * A run killed with SIGKILL after its first checkpoints resumes from the last one and ends with
     * the weights of the uninterrupted run, bit for bit (same seed, same threads), and with the log
     * of every epoch.
     */
    @Test
    @org.junit.jupiter.api.Timeout(180)
    void aKilledRunResumesToTheWeightsOfAnUninterruptedOne() throws Exception {
        String epochs = "12";
        Path checkpoint = dir.resolve("run.ckpt.safetensors");
        Process child = org.simdconv.testing.ChildJvm.start(dir.resolve("child.log"), SimdconvCli.class.getName(),
                "train", "--data", data.toString(), "--epochs", epochs, "--batch", "32", "--threads", "2", "--seed", "3",
                "--schedule", "cosine", "--weight-decay", "1e-3", "--checkpoint", checkpoint.toString());
        int done;
        try {
            done = awaitCheckpoint(child, checkpoint);
        } finally {
            child.destroyForcibly();
            child.waitFor();
        }
        assertTrue(done >= 1 && done < 12, "killed after epoch " + done + " of 12");

        Path resumedModel = dir.resolve("resumed.safetensors"), log = dir.resolve("resumed.csv");
        CliRun resumed = run("train", "--data", data.toString(), "--threads", "2", "--resume", checkpoint.toString(),
                "--save", resumedModel.toString(), "--log", log.toString());
        assertEquals(0, resumed.exitCode(), resumed.err() + resumed.out());
        assertTrue(resumed.out().contains("resumed from " + checkpoint + " after epoch " + done), resumed.out());
        assertTrue(resumed.out().contains("weight decay 0.001, schedule cosine"), "the checkpoint's recipe: " + resumed.out());
        assertEquals(13, Files.readAllLines(log).size(), "the header and every epoch, those before the kill too");

        Path straightModel = dir.resolve("straight.safetensors");
        CliRun straight = run("train", "--data", data.toString(), "--epochs", epochs, "--batch", "32", "--threads", "2",
                "--seed", "3", "--schedule", "cosine", "--weight-decay", "1e-3", "--save", straightModel.toString());
        assertEquals(0, straight.exitCode(), straight.err());
        try (Arena arena = Arena.ofConfined()) {
            var a = Safetensors.read(straightModel, arena).tensors();
            var b = Safetensors.read(resumedModel, arena).tensors();
            assertEquals(a.keySet(), b.keySet());
            for (String name : a.keySet()) {
                assertArrayEquals(a.get(name).toArray(), b.get(name).toArray(), name + " bit for bit");
            }
        }
    }

    /** Polls until the child has written a checkpoint; returns its finished epochs. */
    private static int awaitCheckpoint(Process child, Path checkpoint) throws Exception {
        for (int polls = 0; polls < 20_000; polls++) {
            if (Files.exists(checkpoint)) {
                try (Arena arena = Arena.ofConfined()) {
                    return org.simdconv.train.Checkpoint.read(checkpoint, arena).checkpoint().epochsDone();
                }
            }
            assertTrue(child.isAlive(), "the training process ended before its first checkpoint");
            Thread.sleep(2);
        }
        throw new AssertionError("no checkpoint appeared");
    }

    @Test
    void aResumedRunKeepsItsRecipe() throws IOException {
        Path checkpoint = dir.resolve("c.safetensors");
        assertEquals(0, run("train", "--data", data.toString(), "--epochs", "1", "--threads", "2",
                "--checkpoint", checkpoint.toString()).exitCode());
        CliRun changed = run("train", "--data", data.toString(), "--resume", checkpoint.toString(), "--lr", "0.1");
        assertEquals(2, changed.exitCode());
        assertTrue(changed.err().contains("--lr cannot change a resumed run"), changed.err());
        CliRun notACheckpoint = run("train", "--data", data.toString(), "--resume",
                Files.writeString(dir.resolve("x.safetensors"), "nonsense").toString());
        assertEquals(2, notACheckpoint.exitCode());
        assertEquals(1, notACheckpoint.err().lines().count(), notACheckpoint.err());
        CliRun extended = run("train", "--data", data.toString(), "--resume", checkpoint.toString(), "--epochs", "2",
                "--threads", "2");
        assertEquals(0, extended.exitCode(), extended.err());
        assertTrue(extended.out().contains("epoch 2: train") && !extended.out().contains("epoch 1: train"), extended.out());
    }
}
