package org.simdconv.jmh.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

class ArithmeticTest {

    @Test
    void gflopsFromFlopsAndMilliseconds() {
        // 1.85 GFLOP in 50 ms = 37 GFLOP/s
        assertEquals(37.0, Flops.gflops(1_850_000_000L, 50.0), 1e-12);
        assertEquals(1.0, Flops.gflops(1_000_000L, 1.0), 1e-12);   // 1 MFLOP per ms
        assertTrue(Double.isNaN(Flops.gflops(1000, 0)));
        BenchRow row = new BenchRow("s", Pass.FWD, 1, "simd", 2.0, 4_000_000_000L, "k");
        assertEquals(2000.0, row.gflops(), 1e-9);
    }

    @Test
    void peakIsScoreTimesTwoTimesLanesOverAThousand() {
        Peak avx2 = new Peak(1, 4764.378728, 206.9, 8);
        assertEquals(4764.378728 * 2 * 8 / 1000, avx2.gflops(), 1e-12);
        assertEquals(76.230, avx2.gflops(), 1e-3);
        Peak twoThreads = new Peak(2, 9860.68, Double.NaN, 16);
        assertEquals(315.54176, twoThreads.gflops(), 1e-9);
        assertEquals(157.77088, twoThreads.gflopsPerThread(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> new Peak(0, 1, 0, 8));
    }

    @Test
    void percentOfPeakAndRatio() {
        Peak peak = new Peak(1, 5000, 0, 8);   // 80 GFLOP/s
        assertEquals(25.0, peak.percent(20.0), 1e-12);
        assertEquals(50.0, Flops.percent(1, 2), 1e-12);
        assertTrue(Double.isNaN(Flops.percent(1, 0)));
        assertEquals(0.5, Flops.ratio(10, 20), 1e-12);
        assertTrue(Double.isNaN(Flops.ratio(10, 0)));

        BenchRow row = new BenchRow("s", Pass.FWD, 1, "simd", 1.0, 20_000_000L, "k");   // 20 GFLOP/s
        BenchReport report = new BenchReport(List.of(row), java.util.Map.of(1, peak), PeerResults.none());
        assertEquals(25.0, report.percentOfPeak(row), 1e-9);
        BenchRow other = new BenchRow("s", Pass.FWD, 2, "simd", 1.0, 20_000_000L, "k");
        assertTrue(Double.isNaN(report.percentOfPeak(other)), "no peak at 2 threads");
    }

    @Test
    void numberFormats() {
        assertEquals("0.01235", Formats.ms(0.0123456));
        assertEquals("12.35", Formats.ms(12.3456));
        assertEquals("1235", Formats.ms(1234.56));
        assertEquals("1.50", Formats.gflops(1.5));
        assertEquals("37.0", Formats.gflops(37.0));
        assertEquals("25.0%", Formats.percent(25));
        assertEquals("0.64x", Formats.ratio(0.6412));
        assertEquals("-", Formats.ratio(Double.NaN));
        assertEquals("1:05", Formats.duration(65));
    }

    @Test
    void threadLists() {
        assertEquals(List.of(1, 2), ThreadCounts.oneAndAll(2));
        assertEquals(List.of(1), ThreadCounts.oneAndAll(1));
        assertEquals(List.of(1, 2), ThreadCounts.parse(null, List.of(1, 2)));
        assertEquals(List.of(2, 1), ThreadCounts.parse("2, 1,2", List.of()));
        assertThrows(IllegalArgumentException.class, () -> ThreadCounts.parse("0", List.of()));
        assertThrows(IllegalArgumentException.class, () -> ThreadCounts.parse("1,x", List.of()));
    }
}
