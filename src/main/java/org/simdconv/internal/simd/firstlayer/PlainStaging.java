package org.simdconv.internal.simd.firstlayer;

import java.lang.foreign.MemorySegment;
import org.simdconv.tensor.Tensor;

/**
 * One batch item of a first layer's plain input (a few channels, NCHW), staged into a heap array
 * that the tiles read their broadcasts from (a scalar read of a segment in a tile made C2 box its
 * vectors; an array read is one broadcast instruction): one plane
 * per channel, every row split into its {@code strideW} column phases, {@code [c][ih][q][j]} with
 * input column {@code iw = j*strideW + q}. At any tap, the pixels of consecutive output columns are
 * then one float apart. No padding is stored: the tiles clip their taps.
 *
 * <p>The caller gives the arrays (its worker's, from the call's workspace), so staging allocates nothing.
 */
final class PlainStaging {

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

    /** Floats of one staged item. */
    int itemFloats() {
        return channels * height * rowFloats();
    }

    /** Floats of the row scratch {@link #stage} needs: one input row. */
    int rowScratchFloats() {
        return width;
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
     * Stages item {@code n} of the NCHW tensor {@code x} into {@code staged} ({@link #itemFloats}),
     * through {@code row} ({@link #rowScratchFloats}), and returns it.
     */
    float[] stage(Tensor x, int n, float[] staged, float[] row) {
        long plane = (long) height * width;
        long item = x.byteOffset() + (long) n * channels * plane * Float.BYTES;
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
}
