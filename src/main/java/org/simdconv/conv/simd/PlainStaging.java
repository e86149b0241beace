package org.simdconv.conv.simd;

import java.lang.foreign.MemorySegment;
import org.simdconv.tensor.Tensor;

/**
 * One batch item of a first layer's plain input (a few channels, NCHW), staged into a heap array
 * that the tiles read their broadcasts from ({@link BlockedTiles} says why an array): one plane
 * per channel, every row split into its {@code strideW} column phases, {@code [c][ih][q][j]} with
 * input column {@code iw = j*strideW + q}. At any tap, the pixels of consecutive output columns are
 * then one float apart. No padding is stored: the tiles clip their taps.
 *
 * <p>Each thread keeps its array and reuses it from call to call.
 */
final class PlainStaging {

    private static final ThreadLocal<float[]> STAGED = ThreadLocal.withInitial(() -> new float[0]);
    private static final ThreadLocal<float[]> ROW = ThreadLocal.withInitial(() -> new float[0]);

    private final int channels;
    private final int height;
    private final int width;
    private final int strideW;
    private final int phaseLength;

    PlainStaging(int channels, int height, int width, int strideW) {
        this.channels = channels;
        this.height = height;
        this.width = width;
        this.strideW = strideW;
        this.phaseLength = Math.ceilDiv(width, strideW);
    }

    /** True when a staged item of these sizes fits a Java array. */
    static boolean fits(int channels, int height, int width, int strideW) {
        return (long) channels * height * strideW * Math.ceilDiv(width, strideW) < Integer.MAX_VALUE - 64;
    }

    /** Floats between two staged rows. */
    int rowFloats() {
        return strideW * phaseLength;
    }

    /**
     * Offset, from the staged index of an output pixel ({@code (oh*strideH - padTop) * rowFloats +
     * ow}), of its tap that reads channel {@code c}, {@code rowShift} rows further down and input
     * column {@code ow*strideW + column}.
     */
    int tapOffset(int c, int rowShift, int column) {
        return (c * height + rowShift) * rowFloats() + Math.floorMod(column, strideW) * phaseLength
                + Math.floorDiv(column, strideW);
    }

    /**
     * Stages item {@code n} of the NCHW tensor {@code x} into this thread's array, which it
     * returns; it stays valid until this thread stages again.
     */
    float[] stage(Tensor x, int n) {
        int floats = channels * height * rowFloats();
        float[] staged = STAGED.get();
        if (staged.length < floats) {
            staged = new float[floats];
            STAGED.set(staged);
        }
        long plane = (long) height * width;
        long item = x.byteOffset() + (long) n * channels * plane * Float.BYTES;
        float[] row = strideW == 1 ? null : rowScratch(width);
        for (int c = 0; c < channels; c++) {
            for (int ih = 0; ih < height; ih++) {
                long from = item + (c * plane + (long) ih * width) * Float.BYTES;
                int to = (c * height + ih) * rowFloats();
                if (strideW == 1) {
                    MemorySegment.copy(x.segment(), Tensor.FLOAT, from, staged, to, width);
                } else { // the row in bulk, then split into its phases between arrays
                    MemorySegment.copy(x.segment(), Tensor.FLOAT, from, row, 0, width);
                    for (int q = 0; q < strideW; q++) {
                        for (int iw = q, j = to + q * phaseLength; iw < width; iw += strideW, j++) {
                            staged[j] = row[iw];
                        }
                    }
                }
            }
        }
        return staged;
    }

    /** This thread's array for one input row, at least {@code width} floats. */
    private static float[] rowScratch(int width) {
        if (ROW.get().length < width) {
            ROW.set(new float[width]);
        }
        return ROW.get();
    }
}
