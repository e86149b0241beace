package org.simdconv.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.simdconv.jmh.report.RunSettings;
import picocli.CommandLine;

/** The command line's checks, which all run before any benchmark: nothing here starts JMH. */
class BenchCliTest {

    record Run(int exitCode, String out, String err) {
    }

    static Run run(String... args) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine cli = BenchCli.commandLine();
        cli.setOut(new PrintWriter(out));
        cli.setErr(new PrintWriter(err));
        int exitCode = cli.execute(args);
        return new Run(exitCode, out.toString(), err.toString());
    }

    @ParameterizedTest
    @ValueSource(strings = {"bench", "peak"})
    void helpDescribesTheOptions(String command) {
        Run run = run(command, "--help");
        assertEquals(0, run.exitCode());
        assertTrue(run.out().startsWith("Usage: simdconv " + command), run.out());
        assertTrue(run.out().contains("--quick") && run.out().contains("--threads"), run.out());
    }

    @Test
    void benchHelpNamesEveryOption() {
        String help = run("bench", "--help").out();
        for (String option : new String[] {"--shapes", "--passes", "--csv", "--peer", "fwd_nchw"}) {
            assertTrue(help.contains(option), option + " in " + help);
        }
    }

    @Test
    void badPassNameIsOneLineAndExitTwo() {
        Run run = run("bench", "--quick", "--passes", "fwd,bwd_wei");
        assertEquals(2, run.exitCode());
        assertEquals("simdconv bench: error: unknown pass 'bwd_wei' (passes: fwd, fwd_nchw, bwd_data, bwd_weights)",
                run.err().strip());
        assertEquals("", run.out());
    }

    @Test
    void missingShapesFileIsOneLineAndExitTwo(@TempDir Path dir) {
        Run run = run("bench", "--shapes", dir.resolve("nope.csv").toString());
        assertEquals(2, run.exitCode());
        assertEquals("simdconv bench: error: --shapes: no such file: " + dir.resolve("nope.csv"), run.err().strip());
    }

    @Test
    void malformedShapesFileNamesTheLine(@TempDir Path dir) throws IOException {
        Path shapes = Files.writeString(dir.resolve("s.csv"), "a,1,2,3\n");
        Run run = run("bench", "--shapes", shapes.toString());
        assertEquals(2, run.exitCode());
        assertTrue(run.err().strip().startsWith("simdconv bench: error: --shapes " + shapes + " line 1: expected 11 or 13"),
                run.err());
        assertEquals(1, run.err().strip().lines().count());
    }

    @Test
    void missingPeerFileAndBadThreadsAreUsageErrors(@TempDir Path dir) {
        Run peer = run("bench", "--peer", dir.resolve("a.csv") + "," + dir.resolve("b.csv"));
        assertEquals(2, peer.exitCode());
        assertTrue(peer.err().contains("a.csv: no such file"), peer.err());
        Run threads = run("bench", "--threads", "1,0");
        assertEquals(2, threads.exitCode());
        assertEquals("simdconv bench: error: --threads must be >= 1, got 0", threads.err().strip());
        Run peakThreads = run("peak", "--threads", "x");
        assertEquals(2, peakThreads.exitCode());
    }

    @Test
    void noSubcommandIsAUsageError() {
        Run run = run();
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("Missing required subcommand"), run.err());
    }

    @Test
    void quickAndNormalSettings() {
        assertEquals("1 fork, warmup 1 x 1 s, measurement 2 x 0.3 s", RunSettings.QUICK.describe());
        assertEquals("2 forks, warmup 5 x 1 s, measurement 5 x 1 s", RunSettings.NORMAL.describe());
    }
}
