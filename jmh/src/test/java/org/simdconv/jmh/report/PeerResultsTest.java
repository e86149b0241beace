package org.simdconv.jmh.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeerResultsTest {

    /** As the oneDNN harness writes them (shared/peers/onednn/onednn_conv_bench.cpp). */
    static final String T1 = """
            shape,threads,pass,ms,gflops,impl,src_fmt,wei_fmt,dst_fmt
            resnet_3x3,1,fwd,40.0000,46.24,jit:avx2,aBcd8b,ABcd8b8a,aBcd8b
            resnet_3x3,1,fwd_e2e,45.0000,41.10,jit:avx2,abcd,abcd,abcd
            resnet_3x3,1,bwd_data,42.0000,44.04,jit:avx2,aBcd8b,ABcd8b8a,aBcd8b
            resnet_3x3,1,bwd_wei,50.0000,36.99,jit:avx2,aBcd8b,ABcd8b8a,aBcd8b
            """;
    static final String T2 = """
            shape,threads,pass,ms,gflops,impl,src_fmt,wei_fmt,dst_fmt
            resnet_3x3,2,fwd,20.5000,90.23,jit:avx2,aBcd8b,ABcd8b8a,aBcd8b
            """;

    static PeerResults both() {
        Map<String, List<String>> files = new LinkedHashMap<>();
        files.put("onednn_t1.csv", T1.lines().toList());
        files.put("onednn_t2.csv", T2.lines().toList());
        return PeerResults.parse(files);
    }

    @Test
    void readsEveryRecordOfEveryFile() {
        PeerResults peer = both();
        assertEquals(5, peer.size());
        assertEquals(List.of("onednn_t1.csv", "onednn_t2.csv"), peer.sources());
        PeerResults.Row row = peer.match("resnet_3x3", 2, Pass.FWD).orElseThrow();
        assertEquals(20.5, row.ms(), 0);
        assertEquals(90.23, row.gflops(), 0);
        assertEquals("jit:avx2", row.impl());
        assertEquals("onednn_t2.csv", row.source());
    }

    @Test
    void matchesByShapeThreadsAndThePeersPassName() {
        PeerResults peer = both();
        assertEquals(46.24, peer.match("resnet_3x3", 1, Pass.FWD).orElseThrow().gflops(), 0);
        assertEquals(41.10, peer.match("resnet_3x3", 1, Pass.FWD_NCHW).orElseThrow().gflops(), 0);
        assertEquals(44.04, peer.match("resnet_3x3", 1, Pass.BWD_DATA).orElseThrow().gflops(), 0);
        assertEquals(36.99, peer.match("resnet_3x3", 1, Pass.BWD_WEIGHTS).orElseThrow().gflops(), 0);
        assertFalse(peer.match("resnet_3x3", 2, Pass.BWD_DATA).isPresent(), "no such thread count in the files");
        assertFalse(peer.match("resnet_1x1", 1, Pass.FWD).isPresent(), "no such shape");
        assertFalse(peer.match("resnet_3x3", 4, Pass.FWD).isPresent());
    }

    @Test
    void ratioIsOursOverThePeers() {
        PeerResults peer = both();
        // 1.85 GFLOP in 20 ms = 92.5 GFLOP/s against 46.24
        BenchRow ours = new BenchRow("resnet_3x3", Pass.FWD, 1, "simd", 20.0, 1_850_000_000L, "k");
        assertEquals(92.5 / 46.24, peer.ratio(ours), 1e-12);
        BenchRow unmatched = new BenchRow("resnet_3x3", Pass.BWD_DATA, 2, "simd", 20.0, 1_850_000_000L, "k");
        assertTrue(Double.isNaN(peer.ratio(unmatched)));
    }

    @Test
    void columnsAreFoundByName() {
        PeerResults peer = PeerResults.parse(Map.of("p.csv", List.of(
                "# written by hand", "pass,gflops,shape,threads", "bwd_wei,12.5,a,1")));
        PeerResults.Row row = peer.match("a", 1, Pass.BWD_WEIGHTS).orElseThrow();
        assertEquals(12.5, row.gflops(), 0);
        assertTrue(Double.isNaN(row.ms()));
        assertEquals("", row.impl());
    }

    @Test
    void badFilesAreRejectedWithFileAndLine() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> PeerResults.parse(Map.of("p.csv", List.of("shape,threads,pass,ms", "a,1,fwd,2"))));
        assertTrue(e.getMessage().contains("p.csv line 1: the header has no column 'gflops'"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PeerResults.parse(Map.of("p.csv",
                List.of("shape,threads,pass,ms,gflops", "a,one,fwd,2,3"))));
        assertTrue(e.getMessage().contains("p.csv line 2: threads 'one' is not an integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PeerResults.parse(Map.of("p.csv",
                List.of("shape,threads,pass,ms,gflops", "a,1,fwd"))));
        assertTrue(e.getMessage().contains("p.csv line 2: expected at least 5 fields, got 3"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> PeerResults.parse(Map.of("p.csv", List.of())));
        assertTrue(e.getMessage().contains("empty file"), e.getMessage());
    }

    @Test
    void theSameRecordInTwoFilesIsAnError() {
        Map<String, List<String>> files = new LinkedHashMap<>();
        files.put("a.csv", T2.lines().toList());
        files.put("b.csv", T2.lines().toList());
        var e = assertThrows(IllegalArgumentException.class, () -> PeerResults.parse(files));
        assertTrue(e.getMessage().contains("b.csv") && e.getMessage().contains("also in a.csv"), e.getMessage());
    }

    @Test
    void readsFilesAndRejectsMissingOnes(@TempDir Path dir) throws IOException {
        Path t1 = Files.writeString(dir.resolve("onednn_t1.csv"), T1);
        Path t2 = Files.writeString(dir.resolve("onednn_t2.csv"), T2);
        assertEquals(5, PeerResults.read(List.of(t1, t2)).size());
        var e = assertThrows(IllegalArgumentException.class, () -> PeerResults.read(List.of(dir.resolve("nope.csv"))));
        assertTrue(e.getMessage().contains("nope.csv: no such file"), e.getMessage());
    }

    @Test
    void csvFieldsMayBeQuoted() {
        assertEquals(List.of("a", "b,c", "say \"hi\"", ""), Csv.split("a,\"b,c\",\"say \"\"hi\"\"\","));
        assertEquals("\"b,c\"", Csv.field("b,c"));
        assertEquals("plain", Csv.field("plain"));
    }
}
