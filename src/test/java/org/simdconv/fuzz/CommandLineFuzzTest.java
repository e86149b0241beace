package org.simdconv.fuzz;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.simdconv.cli.ErrorHandler;
import org.simdconv.cli.SimdconvCli;
import org.simdconv.io.Npy;
import org.simdconv.tensor.Tensor;
import org.simdconv.testing.IdxFiles;
import picocli.CommandLine;

/**
 * The command line against fuzzed flags: a command, then options drawn from every command's own
 * with values of their type, of a wrong type or arbitrary text, and file paths inside a sandbox (a
 * tiny IDX data set, small {@code .npy} files, a missing file, a folder where a file belongs). Every
 * run must end with exit code 0, or 2 with one line on standard error (followed by the usage after
 * a usage error): never an internal error, an {@link Error} or a stack trace, and never a file
 * deleted that the command did not write.
 */
class CommandLineFuzzTest {

    private static Path sandbox;

    private static final List<String> COMMANDS = List.of("train", "evaluate", "conv2d", "help", "--version", "bogus");
    private static final List<String> OPTIONS = List.of("--model", "--epochs", "--batch", "--lr", "--momentum",
            "--weight-decay", "--schedule", "--threads", "--seed", "--data", "--save", "--log", "--checkpoint",
            "--resume", "--impl", "--load", "--json", "--input", "--weight", "--bias", "--grad-output", "--stride",
            "--padding", "--dilation", "--groups", "--out", "--help", "--profile", "--unknown");
    private static final List<String> FLAGS = List.of("--json", "--help", "--profile");
    private static final List<String> FILES = List.of("data", "missing", "x.npy", "w.npy", "b.npy", "dy.npy",
            "not-npy.npy", "model.safetensors", "log.csv", "ck.safetensors", "out", "folder", "");

    @BeforeAll
    static void makeSandbox() throws IOException {
        sandbox = Files.createTempDirectory("simdconv-cli-fuzz");
        Path data = Files.createDirectory(sandbox.resolve("data"));
        Random random = new Random(1);
        for (String split : List.of("train", "t10k")) {
            byte[] pixels = new byte[16 * 28 * 28];
            byte[] labels = new byte[16];
            random.nextBytes(pixels);
            for (int i = 0; i < labels.length; i++) {
                labels[i] = (byte) random.nextInt(10);
            }
            Files.write(data.resolve(split + "-images-idx3-ubyte"), IdxFiles.idx(new int[] {16, 28, 28}, pixels));
            Files.write(data.resolve(split + "-labels-idx1-ubyte"), IdxFiles.idx(new int[] {16}, labels));
        }
        try (Arena arena = Arena.ofConfined()) {
            write(arena, "x.npy", 1, 2, 6, 6);
            write(arena, "w.npy", 3, 2, 3, 3);
            write(arena, "b.npy", 3);
            write(arena, "dy.npy", 1, 3, 4, 4);
        }
        Files.writeString(sandbox.resolve("not-npy.npy"), "not numpy");
        Files.createDirectory(sandbox.resolve("folder"));
        Files.writeString(sandbox.resolve("folder").resolve("keep.txt"), "a user's file");
    }

    @AfterAll
    static void removeSandbox() throws IOException {
        try (var paths = Files.walk(sandbox)) {
            for (Path p : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    private static void write(Arena arena, String name, int... shape) throws IOException {
        Tensor t = Tensor.allocate(arena, shape);
        for (long i = 0; i < t.elementCount(); i++) {
            t.setFlat(i, (float) Math.sin(i));
        }
        Npy.write(sandbox.resolve(name), t);
    }

    private static String value(String option, FuzzedDataProvider in) {
        if (in.consumeInt(0, 9) == 0) {
            return in.consumeString(12); // anything at all
        }
        return switch (option) {
            case "--data", "--save", "--log", "--checkpoint", "--resume", "--load", "--input", "--weight", "--bias",
                 "--grad-output", "--out" -> sandbox.resolve(in.pickValue(FILES)).toString();
            case "--model" -> in.pickValue(List.of("seed-cnn", "tf-cnn", "TF-CNN", "resnet"));
            case "--schedule" -> in.pickValue(List.of("none", "step", "cosine", "COSINE", "linear"));
            case "--impl" -> in.pickValue(List.of("auto", "scalar", "simd", "gpu"));
            case "--epochs" -> Integer.toString(in.consumeInt(-1, 2));
            case "--batch" -> Integer.toString(in.pickValue(List.of(-1, 0, 1, 5, 16, 17, 64, Integer.MAX_VALUE)));
            case "--threads" -> Integer.toString(in.consumeInt(-1, 3));
            case "--seed" -> Long.toString(in.consumeLong());
            case "--lr", "--momentum", "--weight-decay" -> in.pickValue(List.of("0.05", "0", "-1", "1", "NaN",
                    "Infinity", "1e-300", "0.9", "1e308"));
            case "--stride", "--dilation" -> in.pickValue(List.of("1", "2", "0", "-1", "1,2", "2,1,3", "99"));
            case "--padding" -> in.pickValue(List.of("0", "1", "same", "valid", "1,2", "0,1,1,2", "-1", "9,9,9,9"));
            case "--groups" -> Integer.toString(in.consumeInt(-1, 4));
            default -> in.consumeString(6);
        };
    }

    @FuzzTest(maxDuration = "10m")
    void commandLine(FuzzedDataProvider in) {
        List<String> args = new ArrayList<>();
        args.add(in.pickValue(COMMANDS));
        int options = in.consumeInt(0, 10);
        for (int i = 0; i < options; i++) {
            String option = in.pickValue(OPTIONS);
            args.add(option);
            if (!FLAGS.contains(option)) {
                args.add(value(option, in));
            }
        }
        if (!args.contains("--data") && (args.get(0).equals("train") || args.get(0).equals("evaluate"))) {
            args.addAll(List.of("--data", sandbox.resolve("data").toString())); // never the installed data set
        }
        StringWriter out = new StringWriter(), err = new StringWriter();
        CommandLine cli = SimdconvCli.commandLine();
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        int exitCode = ErrorHandler.execute(cli, args.toArray(String[]::new));

        String errors = err.toString();
        assertFalse(errors.contains("internal error") || errors.contains("\tat "), args + " -> " + errors);
        if (exitCode != 0) {
            assertEquals(2, exitCode, args + " -> " + errors);
            List<String> lines = errors.lines().toList();
            assertTrue(lines.get(0).startsWith("simdconv") && lines.get(0).contains(": error: "), args + " -> " + errors);
            assertTrue(lines.size() == 1 || lines.get(1).startsWith("Usage: simdconv"), args + " -> " + errors);
        }
        assertTrue(Files.exists(sandbox.resolve("folder").resolve("keep.txt")), args + " deleted a user's file");
    }
}
