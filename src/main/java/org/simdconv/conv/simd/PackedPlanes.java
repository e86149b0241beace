package org.simdconv.conv.simd;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

/**
 * A batch item's input planes rearranged so that every tap of a direct convolution is one
 * contiguous, unmasked vector load: zero padding is written out, and with a horizontal stride
 * {@code sw} each padded row is split into {@code sw} phase rows, phase {@code q} holding columns
 * {@code q, q+sw, q+2sw, ...}. Output columns {@code ow, ow+1, ...} of tap column {@code s} then read
 * phase {@code (s*dw) mod sw}, consecutive elements from {@code ow + (s*dw) div sw}.
 *
 * <p>The source plane may itself be virtual: with an insertion factor above 1 it is the seed's
 * zero-inserted gradient (element {@code (y, x)} is {@code src[y/ih][x/iw]} when both divide, else 0),
 * read in place, so backward-data runs on the same kernel as forward without materialising it.
 * Negative padding crops the source instead.
 *
 * <p>Layout of one channel, in floats: {@code [phase][row][column]}, rows of {@link #rowLength()}
 * floats (a multiple of the vector length, so rows start on cache lines).
 */
final class PackedPlanes {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final int phases;
    private final int rows;
    private final int rowLength;
    private final int outW;
    private final int[] tapOffsets;

    /**
     * The layout for an output of {@code outH x outW} computed with the given strides and an
     * {@code r x s} kernel dilated by {@code (dh, dw)}; {@code lanes} is the vector length.
     */
    PackedPlanes(int outH, int outW, int strideH, int strideW, int r, int s, int dh, int dw, int lanes) {
        this.phases = strideW;
        this.rows = (outH - 1) * strideH + dh * (r - 1) + 1;
        this.outW = outW;
        int paddedOut = roundUp(outW, lanes);
        this.rowLength = roundUp(paddedOut + (s - 1) * dw / strideW, lanes);
        this.tapOffsets = new int[r * s];
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < s; j++) {
                int phase = (j * dw) % strideW;
                int shift = (j * dw) / strideW;
                tapOffsets[i * s + j] = (phase * rows + i * dh) * rowLength + shift;
            }
        }
    }

    /** Floats per packed channel. */
    long channelSize() {
        return (long) phases * rows * rowLength;
    }

    int rowLength() {
        return rowLength;
    }

    int outW() {
        return outW;
    }

    /**
     * Float offset, relative to output row {@code oh*strideH}'s first element in phase 0, of tap
     * {@code (r, s)} in row-major tap order.
     */
    int[] tapOffsets() {
        return tapOffsets;
    }

    /**
     * Packs {@code channels} planes of a contiguous NCHW source, starting at byte {@code srcOffset},
     * each {@code srcH x srcW}, into {@code dst} (channel after channel).
     *
     * @param insertH zero rows inserted between source rows, plus one (1 = none)
     * @param insertW zero columns inserted between source columns, plus one
     * @param padTop  padded row 0 is virtual source row {@code -padTop} (negative crops)
     * @param padLeft padded column 0 is virtual source column {@code -padLeft}
     */
    void pack(MemorySegment src, long srcOffset, int channels, int srcH, int srcW, int insertH, int insertW,
              int padTop, int padLeft, MemorySegment dst) {
        long planeBytes = (long) srcH * srcW * Float.BYTES;
        RowBuffers buffers = new RowBuffers(new float[srcW], new float[rowLength]);
        for (int c = 0; c < channels; c++) {
            long srcPlane = srcOffset + c * planeBytes;
            for (int q = 0; q < phases; q++) {
                for (int y = 0; y < rows; y++) {
                    long dstRow = ((c * channelSize()) + ((long) q * rows + y) * rowLength) * Float.BYTES;
                    int vy = y - padTop;
                    if (vy < 0 || vy % insertH != 0 || vy / insertH >= srcH) {
                        dst.asSlice(dstRow, (long) rowLength * Float.BYTES).fill((byte) 0);
                        continue;
                    }
                    long srcRow = srcPlane + (long) (vy / insertH) * srcW * Float.BYTES;
                    packRow(src, srcRow, srcW, insertW, q - padLeft, dst, dstRow, buffers);
                }
            }
        }
    }

    /** A source row and a packed row on the heap, reused for every row of one {@link #pack} call. */
    private record RowBuffers(float[] source, float[] packed) {
    }

    /** Packed element {@code t} of this row is virtual column {@code t*phases + first}. */
    private void packRow(MemorySegment src, long srcRow, int srcW, int insertW, int first,
                         MemorySegment dst, long dstRow, RowBuffers buffers) {
        if (phases == 1 && insertW == 1) {
            // The common case is a shifted copy: zeros, a block of the source row, zeros.
            int from = Math.max(0, -first);
            int to = Math.min(rowLength, srcW - first);
            if (to <= from) {
                dst.asSlice(dstRow, (long) rowLength * Float.BYTES).fill((byte) 0);
                return;
            }
            dst.asSlice(dstRow, (long) from * Float.BYTES).fill((byte) 0);
            MemorySegment.copy(src, srcRow + (long) (from + first) * Float.BYTES,
                    dst, dstRow + (long) from * Float.BYTES, (long) (to - from) * Float.BYTES);
            dst.asSlice(dstRow + (long) to * Float.BYTES, (long) (rowLength - to) * Float.BYTES).fill((byte) 0);
            return;
        }
        // Strided (a stride phase) or spread out (zero insertion): one bulk copy in, plain array
        // loops without a division per element, one bulk copy out.
        float[] row = buffers.source(), out = buffers.packed();
        MemorySegment.copy(src, FLOAT, srcRow, row, 0, srcW);
        java.util.Arrays.fill(out, 0f);
        if (insertW == 1) {
            // out[t] = row[t*phases + first] where that column exists
            int from = Math.max(0, Math.ceilDiv(-first, phases));
            int to = Math.min(rowLength, Math.ceilDiv(srcW - first, phases));
            for (int t = from, x = from * phases + first; t < to; t++, x += phases) {
                out[t] = row[x];
            }
        } else {
            // column j of the source sits at virtual column j*insertW, packed at (j*insertW - first)/phases
            for (int j = 0; j < srcW; j++) {
                int v = j * insertW - first;
                if (v >= 0 && v % phases == 0 && v / phases < rowLength) {
                    out[v / phases] = row[j];
                }
            }
        }
        MemorySegment.copy(out, 0, dst, FLOAT, dstRow, rowLength);
    }

    static int roundUp(int value, int multiple) {
        return Math.ceilDiv(value, multiple) * multiple;
    }
}
