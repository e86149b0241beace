package org.simdconv.jmh.report;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.Locale;

/** How the report writes its numbers: locale-independent, NaN as "-". */
final class Formats {

    static final String NONE = "-";

    private Formats() {
    }

    /** Milliseconds to four significant digits, never in exponent notation: 0.01234, 1.234, 1234. */
    static String ms(double ms) {
        return significant(ms, 4);
    }

    /** {@code value} to {@code digits} significant digits (trailing zeros kept), plainly written: 50.00, 0.01235. */
    static String significant(double value, int digits) {
        if (!Double.isFinite(value)) {
            return NONE;
        }
        if (value == 0) {
            return "0";
        }
        int decimals = Math.max(0, digits - 1 - (int) Math.floor(Math.log10(Math.abs(value))));
        return BigDecimal.valueOf(value).setScale(decimals, RoundingMode.HALF_UP).toPlainString();
    }

    /** GFLOP/s: one decimal, two below 10. */
    static String gflops(double gflops) {
        if (!Double.isFinite(gflops)) {
            return NONE;
        }
        return String.format(Locale.ROOT, Math.abs(gflops) < 10 ? "%.2f" : "%.1f", gflops);
    }

    /** A percentage with one decimal: 23.4%. */
    static String percent(double percent) {
        return Double.isFinite(percent) ? String.format(Locale.ROOT, "%.1f%%", percent) : NONE;
    }

    /** A ratio with two decimals: 0.64x. */
    static String ratio(double ratio) {
        return Double.isFinite(ratio) ? String.format(Locale.ROOT, "%.2fx", ratio) : NONE;
    }

    /** "1 thread", "2 threads". */
    static String threads(int threads) {
        return threads + (threads == 1 ? " thread" : " threads");
    }

    /** Seconds as m:ss. */
    static String duration(long seconds) {
        return String.format(Locale.ROOT, "%d:%02d", seconds / 60, seconds % 60);
    }
}
