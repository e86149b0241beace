package org.simdconv.jmh.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import javax.xml.XMLConstants;
import javax.xml.parsers.DocumentBuilderFactory;
import javax.xml.parsers.ParserConfigurationException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.w3c.dom.Document;
import org.w3c.dom.Element;
import org.w3c.dom.NodeList;
import org.xml.sax.InputSource;
import org.xml.sax.SAXException;

class BenchReportTest {

    private static final long FLOPS = 1_849_688_064L;   // resnet_3x3: 2 * 8 * 64 * 64 * 9 * 56 * 56

    static List<BenchRow> rows() {
        return List.of(
                new BenchRow("resnet_3x3", Pass.FWD, 1, "simd", 50.0, FLOPS, "simd-direct-row"),
                new BenchRow("resnet_3x3", Pass.FWD, 2, "simd", 25.0, FLOPS, "simd-direct-row"),
                new BenchRow("resnet_3x3", Pass.BWD_WEIGHTS, 1, "simd", 100.0, FLOPS, "simd-direct-row"),
                new BenchRow("a<b&\"c\"", Pass.BWD_DATA, 1, "simd", 0.0123456, 2_000_000L, "k,with comma"));
    }

    static Map<Integer, Peak> peaks() {
        return Map.of(1, new Peak(1, 5000, 10, 8), 2, new Peak(2, 10000, 20, 8));   // 80 and 160 GFLOP/s
    }

    @Test
    void csvHasExactlyTheAgreedColumns() {
        String csv = new BenchReport(rows(), peaks(), PeerResultsTest.both()).csv();
        List<String> lines = csv.lines().toList();
        assertEquals("name,pass,threads,ms,gflops,kernel", lines.get(0));
        assertEquals(List.of("name", "pass", "threads", "ms", "gflops", "kernel"), Csv.split(lines.get(0)));
        assertEquals(5, lines.size());
        assertEquals("resnet_3x3,fwd,1,50.0000,36.994,simd-direct-row", lines.get(1));
        assertEquals("resnet_3x3,bwd_weights,1,100.000,18.497,simd-direct-row", lines.get(3));
        List<String> quoted = Csv.split(lines.get(4));
        assertEquals(List.of("a<b&\"c\"", "bwd_data", "1", "0.0123456", "162.001", "k,with comma"), quoted);
        for (String line : lines) {
            assertEquals(6, Csv.split(line).size(), line);
        }
    }

    @Test
    void tableHasTheColumnsAndThePeerRatio() {
        String table = new BenchReport(rows(), peaks(), PeerResultsTest.both()).table();
        List<String> lines = table.lines().toList();
        assertEquals(List.of("shape", "pass", "threads", "ms", "GFLOP/s", "% of peak", "kernel", "peer GFLOP/s",
                "ratio to peer"), cells(lines.get(0)));
        assertEquals("| ---", lines.get(1).substring(0, 5));
        // 36.99 GFLOP/s of 80 = 46.2%; the peer has 46.24 at 1 thread: 0.80x
        assertEquals(List.of("resnet_3x3", "fwd", "1", "50.00", "37.0", "46.2%", "simd-direct-row", "46.2", "0.80x"),
                cells(lines.get(2)));
        // 73.99 of 160 = 46.2%; peer 90.23: 0.82x
        assertEquals(List.of("resnet_3x3", "fwd", "2", "25.00", "74.0", "46.2%", "simd-direct-row", "90.2", "0.82x"),
                cells(lines.get(3)));
        assertEquals(List.of("resnet_3x3", "bwd_weights", "1", "100.0", "18.5", "23.1%", "simd-direct-row", "37.0",
                "0.50x"), cells(lines.get(4)));
        assertEquals("-", cells(lines.get(5)).get(8), "no peer row: no ratio");
        assertEquals(6, lines.size());
    }

    @Test
    void withoutPeerThereAreNoPeerColumns() {
        BenchReport report = new BenchReport(rows(), peaks(), PeerResults.none());
        assertEquals(7, cells(report.table().lines().findFirst().orElseThrow()).size());
        assertFalse(String.join("\n", report.notes()).contains("peer"));
        assertTrue(String.join("\n", report.notes()).contains("fwd_nchw times the same plan on NCHW tensors"));
        assertTrue(String.join("\n", report.notes()).contains("1 thread 80.0 GFLOP/s, 2 threads 160.0 GFLOP/s"));
    }

    @Test
    void notesSayHowManyRowsMatchedThePeer() {
        String notes = String.join("\n", new BenchReport(rows(), peaks(), PeerResultsTest.both()).notes());
        assertTrue(notes.contains("3 of 4 rows matched"), notes);
        assertTrue(notes.contains("fwd_nchw = fwd_e2e and bwd_weights = bwd_wei"), notes);
    }

    @Test
    void peerSummaryGivesEachPassItsGeomeanAndWorstRow() {
        PeerResults peer = PeerResults.parse(Map.of("p.csv", List.of(
                "shape,threads,pass,ms,gflops,impl,src_fmt,wei_fmt,dst_fmt",
                "a,2,fwd,1,100,jit,x,x,x", "b,2,fwd,1,100,jit,x,x,x", "c,2,fwd,1,100,jit,x,x,x",
                "a,2,bwd_data,1,100,jit,x,x,x")));
        long flops = 100_000_000L;   // 0.1 GFLOP: 1 ms is 100 GFLOP/s, the peer's speed
        List<BenchRow> rows = List.of(
                new BenchRow("a", Pass.FWD, 2, "simd", 0.5, flops, "k"),        // 2x
                new BenchRow("b", Pass.FWD, 2, "simd", 2.0, flops, "k"),        // 0.5x
                new BenchRow("c", Pass.FWD, 2, "simd", 4.0, flops, "k"),        // 0.25x
                new BenchRow("a", Pass.BWD_DATA, 2, "simd", 1.0, flops, "k"),   // 1x
                new BenchRow("d", Pass.FWD, 2, "simd", 9.0, flops, "k"));       // no peer row: left out
        List<String> lines = new BenchReport(rows, peaks(), peer).peerSummary().lines().toList();
        assertEquals(List.of("pass", "threads", "rows", "geomean ratio", "worst row", "worst ratio",
                "rows below 0.60x"), cells(lines.get(0)));
        // (2 * 0.5 * 0.25)^(1/3) = 0.63
        assertEquals(List.of("fwd", "2", "3", "0.63x", "c", "0.25x", "2"), cells(lines.get(2)));
        assertEquals(List.of("bwd_data", "2", "1", "1.00x", "a", "1.00x", "0"), cells(lines.get(3)));
        assertEquals(4, lines.size());
        assertEquals("", new BenchReport(rows, peaks(), PeerResults.none()).peerSummary());
    }

    @Test
    void svgIsWellFormedWithABarPerRow() throws Exception {
        Document svg = parse(new BenchReport(rows(), peaks(), PeerResultsTest.both()).svg());
        Element root = svg.getDocumentElement();
        assertEquals("svg", root.getLocalName());
        assertEquals("http://www.w3.org/2000/svg", root.getNamespaceURI());
        assertEquals(4, byClass(svg, "rect", "bar"));
        assertEquals(3, byClass(svg, "rect", "peer"));
        String text = root.getTextContent();
        assertTrue(text.contains("resnet_3x3"), text);
        assertTrue(text.contains("a<b&\"c\""), "escaped text comes back whole");
        assertTrue(text.contains("1 thread 80.0 GFLOP/s"), text);
    }

    @Test
    void svgWithoutPeerOrPeaksIsStillWellFormed() throws Exception {
        Document svg = parse(new BenchReport(rows().subList(0, 1), Map.of(), PeerResults.none()).svg());
        assertEquals(1, byClass(svg, "rect", "bar"));
        assertEquals(0, byClass(svg, "rect", "peer"));
    }

    @Test
    void writesTheCsvAndTheChartBesideIt(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("out/results.csv");
        Path svg = new BenchReport(rows(), peaks(), PeerResults.none()).write(csv);
        assertEquals(dir.resolve("out/results.svg"), svg);
        assertTrue(Files.readString(csv).startsWith(BenchReport.CSV_HEADER + "\n"));
        assertEquals("svg", parse(Files.readString(svg)).getDocumentElement().getLocalName());
        assertEquals(Path.of("x/run.svg"), BenchReport.svgPathFor(Path.of("x/run.CSV")));
        assertEquals(Path.of("run.txt.svg"), BenchReport.svgPathFor(Path.of("run.txt")));
    }

    @Test
    void niceAxisSteps() {
        assertEquals(20.0, SvgChart.niceStep(14.8), 1e-12);
        assertEquals(5.0, SvgChart.niceStep(5.0), 1e-12);
        assertEquals(0.5, SvgChart.niceStep(0.3), 1e-12);
        assertEquals(100.0, SvgChart.niceStep(51), 1e-12);
    }

    @Test
    void peakTableGivesGflopsAndScaling() {
        String table = PeakReport.table(List.of(new Peak(1, 4764.4, 206.9, 8), new Peak(2, 9528.8, 100, 8)));
        List<String> lines = table.lines().toList();
        assertEquals(List.of("threads", "vector FMAs/us", "± (99.9%)", "GFLOP/s", "GFLOP/s per thread", "vs 1 thread"),
                cells(lines.get(0)));
        assertEquals(List.of("1", "4764.4", "206.9", "76.2", "76.2", "1.00x"), cells(lines.get(2)));
        assertEquals(List.of("2", "9528.8", "100.0", "152.5", "76.2", "2.00x"), cells(lines.get(3)));
        assertTrue(PeakReport.header(8, 256).contains("one vector FMA is 2 x 8 = 16 FLOP"));
    }

    private static List<String> cells(String markdownLine) {
        String inner = markdownLine.strip();
        inner = inner.substring(1, inner.length() - 1);
        return java.util.Arrays.stream(inner.split("(?<!\\\\)\\|")).map(String::strip).toList();
    }

    private static long byClass(Document document, String element, String cssClass) {
        NodeList nodes = document.getElementsByTagNameNS("http://www.w3.org/2000/svg", element);
        long count = 0;
        for (int i = 0; i < nodes.getLength(); i++) {
            if (cssClass.equals(((Element) nodes.item(i)).getAttribute("class"))) {
                count++;
            }
        }
        return count;
    }

    private static Document parse(String xml) throws ParserConfigurationException, SAXException, IOException {
        DocumentBuilderFactory factory = DocumentBuilderFactory.newInstance();
        factory.setNamespaceAware(true);
        factory.setFeature("http://apache.org/xml/features/disallow-doctype-decl", true);
        factory.setFeature(XMLConstants.FEATURE_SECURE_PROCESSING, true);
        return factory.newDocumentBuilder().parse(new InputSource(new StringReader(xml)));
    }
}
