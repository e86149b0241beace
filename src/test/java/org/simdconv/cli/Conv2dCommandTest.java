package org.simdconv.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2d;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Implementation;
import org.simdconv.conv.Padding;
import org.simdconv.io.Npy;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/** {@code simdconv conv2d}, run in-process on small .npy files. */
class Conv2dCommandTest {

    @TempDir
    Path dir;

    private static CliRun run(String... args) {
        return CliRun.of(args);
    }

    private Path write(String name, long seed, int... shape) throws IOException {
        Random random = new Random(seed);
        float[] values = new float[Arrays.stream(shape).reduce(1, (a, b) -> a * b)];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        Path file = dir.resolve(name);
        Npy.write(file, Tensor.wrap(values, shape));
        return file;
    }

    private static float[] read(Path file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            return Npy.read(file, arena).toArray();
        }
    }

    private static int[] shape(Path file) throws IOException {
        try (Arena arena = Arena.ofConfined()) {
            return Npy.read(file, arena).shape();
        }
    }

    /** Flags, the same options for the library, and the shapes they work on. */
    static Stream<Arguments> cases() {
        return Stream.of(
                Arguments.of("stride 2, padding 1, bias",
                        List.of("--stride", "2", "--padding", "1"),
                        Conv2dOptions.defaults().withStride(2).withPadding(Padding.of(1)),
                        new int[] {2, 3, 7, 6}, new int[] {4, 3, 3, 3}, true),
                Arguments.of("stride 1,2, same, dilation 2",
                        List.of("--stride", "1,2", "--padding", "same", "--dilation", "2"),
                        Conv2dOptions.defaults().withStride(1, 2).withPadding(Padding.same()).withDilation(2),
                        new int[] {1, 2, 9, 8}, new int[] {3, 2, 3, 3}, false),
                Arguments.of("groups 2, padding T,B,L,R, dilation 2,1, bias",
                        List.of("--groups", "2", "--padding", "0,1,1,2", "--dilation", "2,1"),
                        Conv2dOptions.defaults().withGroups(2).withPadding(Padding.of(0, 1, 1, 2)).withDilation(2, 1),
                        new int[] {2, 4, 6, 5}, new int[] {6, 2, 2, 3}, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void forwardAndBackwardMatchConv2d(String name, List<String> flags, Conv2dOptions options,
                                       int[] inputShape, int[] weightShape, boolean withBias) throws IOException {
        Conv2d conv = Conv2d.create(options).withImplementation(Implementation.SCALAR)
                .withParallelism(Parallelism.serial());
        int[] outputShape = conv.geometry(inputShape, weightShape).outputShape();
        Path x = write("x.npy", 1, inputShape);
        Path w = write("w.npy", 2, weightShape);
        Path b = withBias ? write("b.npy", 3, weightShape[0]) : null;
        Path dy = write("dy.npy", 4, outputShape);
        Path out = dir.resolve("out/nested");   // created, with its parent

        List<String> args = new ArrayList<>(List.of("conv2d", "--input", x.toString(), "--weight", w.toString(),
                "--grad-output", dy.toString(), "--impl", "scalar", "--threads", "2", "--out", out.toString()));
        if (b != null) {
            args.addAll(List.of("--bias", b.toString()));
        }
        args.addAll(flags);
        CliRun result = run(args.toArray(String[]::new));
        assertEquals(0, result.exitCode(), result.err());
        assertEquals("", result.err());

        try (Arena arena = Arena.ofConfined()) {
            Tensor xt = Npy.read(x, arena);
            Tensor wt = Npy.read(w, arena);
            Tensor bt = b == null ? null : Npy.read(b, arena);
            Tensor dyt = Npy.read(dy, arena);
            Tensor y = conv.forward(arena, xt, wt, bt);
            Tensor dx = Tensor.allocate(arena, inputShape);
            conv.backwardData(dyt, wt, dx, Accumulation.OVERWRITE);
            Tensor dw = Tensor.allocate(arena, weightShape);
            Tensor db = b == null ? null : Tensor.allocate(arena, weightShape[0]);
            conv.backwardWeights(xt, dyt, dw, db, Accumulation.OVERWRITE);

            assertArrayEquals(outputShape, shape(out.resolve("output.npy")));
            assertArrayEquals(y.toArray(), read(out.resolve("output.npy")));
            assertArrayEquals(inputShape, shape(out.resolve("grad_input.npy")));
            assertArrayEquals(dx.toArray(), read(out.resolve("grad_input.npy")));
            assertArrayEquals(weightShape, shape(out.resolve("grad_weight.npy")));
            assertArrayEquals(dw.toArray(), read(out.resolve("grad_weight.npy")));
            if (db != null) {
                assertArrayEquals(db.toArray(), read(out.resolve("grad_bias.npy")));
            } else {
                assertFalse(Files.exists(out.resolve("grad_bias.npy")), "no bias, no grad_bias.npy");
            }
        }
    }

    /** A second run into the same directory replaces the first's files: no stale gradient stays beside it. */
    @Test
    void aRunNeverLeavesAnEarlierRunsFilesBesideItsOwn() throws IOException {
        Path x = write("x.npy", 1, 1, 2, 5, 5);
        Path w = write("w.npy", 2, 3, 2, 3, 3);
        Path dy = write("dy.npy", 3, 1, 3, 3, 3);
        Path out = dir.resolve("out");
        assertEquals(0, run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--grad-output", dy.toString(),
                "--out", out.toString()).exitCode());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(3, files.count());
        }
        CliRun second = run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--out", out.toString());
        assertEquals(0, second.exitCode(), second.err());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of(out.resolve("output.npy")), files.toList());
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(), files.filter(f -> f.getFileName().toString().startsWith(".out.")).toList(),
                    "no temporary folder left beside the output");
        }
    }

    /** A directory with a file the command did not write is refused, before anything runs, and kept as it is. */
    @Test
    void aDirectoryOfOtherFilesIsRefusedAndKept() throws IOException {
        Path x = write("x.npy", 1, 1, 2, 5, 5);
        Path w = write("w.npy", 2, 3, 2, 3, 3);
        CliRun result = run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--out", dir.toString());
        assertOneLineError(result, "--out", "holds", "did not write");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(2, files.count(), "x.npy and w.npy, nothing added, nothing removed");
        }
    }

    @Test
    void forwardOnlyWritesOnlyTheOutput() throws IOException {
        Path x = write("x.npy", 1, 1, 2, 5, 5);
        Path w = write("w.npy", 2, 3, 2, 3, 3);
        Path out = dir.resolve("out");
        CliRun result = run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--out", out.toString());
        assertEquals(0, result.exitCode(), result.err());
        try (Stream<Path> files = Files.list(out)) {
            assertEquals(List.of(out.resolve("output.npy")), files.toList());
        }
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults()).withImplementation(Implementation.SCALAR)
                .withParallelism(Parallelism.serial());
        try (Arena arena = Arena.ofConfined()) {
            float[] expected = conv.forward(arena, Npy.read(x, arena), Npy.read(w, arena), null).toArray();
            assertArrayEquals(new int[] {1, 3, 3, 3}, shape(out.resolve("output.npy")));
            assertArrayEquals(expected, read(out.resolve("output.npy")), 1e-5f);   // default implementation
        }
    }

    @Test
    void simdMatchesConv2dWithTheSameThreads() throws IOException {
        assumeTrue(Conv2d.simdAvailable(), "Vector API not available");
        Path x = write("x.npy", 1, 2, 8, 13, 11);
        Path w = write("w.npy", 2, 16, 8, 3, 3);
        Path out = dir.resolve("out");
        CliRun result = run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--padding", "same",
                "--impl", "SIMD", "--threads", "2", "--out", out.toString());
        assertEquals(0, result.exitCode(), result.err());
        try (ForkJoinPool pool = new ForkJoinPool(2); Arena arena = Arena.ofShared()) {
            Conv2d conv = Conv2d.create(Conv2dOptions.defaults().withPadding(Padding.same()))
                    .withImplementation(Implementation.SIMD).withParallelism(Parallelism.on(pool));
            float[] expected = conv.forward(arena, Npy.read(x, arena), Npy.read(w, arena), null).toArray();
            assertArrayEquals(expected, read(out.resolve("output.npy")));
        }
    }

    private static void assertOneLineError(CliRun result, String... mentions) {
        assertEquals(2, result.exitCode(), result.err());
        String err = result.err().strip();
        assertEquals(1, err.lines().count(), "one line: " + err);
        assertTrue(err.startsWith("simdconv conv2d: error: "), err);
        for (String mention : mentions) {
            assertTrue(err.contains(mention), "'" + err + "' should mention " + mention);
        }
        assertEquals("", result.out());
    }

    @ParameterizedTest
    @ValueSource(strings = {"0", "1,0", "-2"})
    void badStrideIsOneLineAndWritesNothing(String stride) throws IOException {
        Path x = write("x.npy", 1, 1, 1, 5, 5);
        Path w = write("w.npy", 2, 1, 1, 3, 3);
        Path out = dir.resolve("out");
        CliRun result = run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--stride", stride,
                "--out", out.toString());
        assertOneLineError(result, "--stride");
        assertFalse(Files.exists(out));
    }

    @Test
    void missingFileIsOneLineAndNamesIt() throws IOException {
        Path w = write("w.npy", 2, 1, 1, 3, 3);
        Path missing = dir.resolve("missing.npy");
        Path out = dir.resolve("out");
        CliRun result = run("conv2d", "--input", missing.toString(), "--weight", w.toString(), "--out", out.toString());
        assertOneLineError(result, "--input", "no such file", missing.toString());
        assertFalse(Files.exists(out));
    }

    @Test
    void notAnNpyFileIsOneLine() throws IOException {
        Path x = dir.resolve("x.npy");
        Files.writeString(x, "not numpy\nat all\n");
        Path w = write("w.npy", 2, 1, 1, 3, 3);
        CliRun result = run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--out", dir.resolve("o").toString());
        assertOneLineError(result, "--input", x.toString());
    }

    @Test
    void mismatchedShapesAreOneLineAndWriteNothing() throws IOException {
        Path x = write("x.npy", 1, 1, 3, 6, 6);
        Path w = write("w.npy", 2, 4, 2, 3, 3);        // needs C = 3 in dimension 1
        Path b = write("b.npy", 3, 4);
        Path dy = write("dy.npy", 4, 1, 4, 5, 5);       // the output is 4 x 4
        Path out = dir.resolve("out");
        CliRun badWeight = run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--out", out.toString());
        assertOneLineError(badWeight, "weight");

        Path goodW = write("w3.npy", 2, 4, 3, 3, 3);
        CliRun badGrad = run("conv2d", "--input", x.toString(), "--weight", goodW.toString(), "--bias", b.toString(),
                "--grad-output", dy.toString(), "--out", out.toString());
        assertOneLineError(badGrad, "gradOutput");
        assertFalse(Files.exists(out), "nothing written, not even output.npy");
    }

    @Test
    void otherBadValuesAreOneLine() throws IOException {
        Path x = write("x.npy", 1, 1, 2, 5, 5);
        Path w = write("w.npy", 2, 2, 1, 3, 3);
        String[] base = {"conv2d", "--input", x.toString(), "--weight", w.toString(), "--out", dir.resolve("o").toString()};
        assertOneLineError(run(concat(base, "--padding", "1,2,3")), "padding");
        assertOneLineError(run(concat(base, "--padding", "-1")), "padding");
        assertOneLineError(run(concat(base, "--dilation", "0")), "--dilation");
        assertOneLineError(run(concat(base, "--groups", "3")), "groups");
        assertOneLineError(run(concat(base, "--threads", "0")), "--threads");
        Path file = Files.writeString(dir.resolve("file"), "");
        assertOneLineError(run("conv2d", "--input", x.toString(), "--weight", w.toString(), "--out", file.toString()),
                "not a directory");
    }

    @Test
    void usageErrorsPrintTheUsage() {
        CliRun unknown = run("conv2d", "--input", "x.npy", "--weight", "w.npy", "--out", "o", "--bogus");
        assertEquals(2, unknown.exitCode());
        assertTrue(unknown.err().contains("Unknown option: '--bogus'"), unknown.err());
        assertTrue(unknown.err().contains("Usage: simdconv conv2d"), unknown.err());

        CliRun missing = run("conv2d", "--input", "x.npy");
        assertEquals(2, missing.exitCode());
        assertTrue(missing.err().contains("Missing required options"), missing.err());

        CliRun none = run();
        assertEquals(2, none.exitCode());
        assertTrue(none.err().contains("Usage: simdconv"), none.err());
    }

    @ParameterizedTest
    @ValueSource(strings = {"--help", "conv2d --help", "learn-kernel --help", "help conv2d", "help learn-kernel"})
    void everyCommandHasHelp(String args) {
        CliRun result = run(args.split(" "));
        assertEquals(0, result.exitCode(), result.err());
        assertTrue(result.out().startsWith("Usage: simdconv"), result.out());
        String command = args.replace("--help", "").replace("help", "").strip();
        assertTrue(result.out().contains("Usage: simdconv " + command), result.out());
    }

    @Test
    void versionNamesJavaAndTheVectorApi() {
        CliRun result = run("--version");
        assertEquals(0, result.exitCode());
        assertTrue(result.out().startsWith("simdconv "), result.out());
        assertTrue(result.out().contains("Vector API: "), result.out());
    }

    private static String[] concat(String[] base, String... more) {
        String[] all = Arrays.copyOf(base, base.length + more.length);
        System.arraycopy(more, 0, all, base.length, more.length);
        return all;
    }
}
