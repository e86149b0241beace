package org.simdconv.internal.simd.rows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.simdconv.parallel.Workspace;

/**
 * A batch item's input planes rearranged so that every tap of a direct convolution is one
 * contiguous, unmasked vector load: zero padding is written out, and with a horizontal stride
 * {@code sw} each padded row is split into {@code sw} phase rows, phase {@code q} holding columns
 * {@code q, q+sw, q+2sw, ...}. Output columns {@code ow, ow+1, ...} of tap column {@code s} then read
 * phase {@code (s*dw) mod sw}, consecutive elements from {@code ow + (s*dw) div sw}.
 *
 * <p>Negative padding crops the source instead. Backward-data at stride 1 packs the gradient the
 * same way, padded by the kernel extent; at larger strides it is split into stride phases
 * ({@link StridedBackwardData}), so no zero-inserted gradient is ever built here.
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

    private PackedPlanes(int rows, int rowLength) {
        this.phases = 1;
        this.rows = rows;
        this.rowLength = rowLength;
        this.outW = 0;
        this.tapOffsets = new int[0];
    }

    /** A plain layout of {@code rows} rows of {@code rowLength} floats (one phase, no taps of its own). */
    static PackedPlanes plain(int rows, int rowLength) {
        return new PackedPlanes(rows, rowLength);
    }

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

    /** Workspace slots of a worker: the packed planes, the source row and the packed row. */
    private static final int PACKED = RowsKernel.PACKED_PLANES_SLOTS;
    private static final int SOURCE_ROW = PACKED + 1;
    private static final int PACKED_ROW = PACKED + 2;

    /**
     * The worker's memory for {@code channels} packed channels: {@link #pack} writes every float of
     * it. A confined arena per task cost more than the kernels on small layers (the seed's first
     * layer: a quarter of a forward call in the kernel's page clearing), so the memory is kept.
     */
    MemorySegment workspace(int channels, Workspace.Worker worker) {
        return worker.segment(PACKED, channelSize() * channels * Float.BYTES);
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
     * @param padTop  padded row 0 is source row {@code -padTop} (negative crops)
     * @param padLeft padded column 0 is virtual source column {@code -padLeft}
     */
    void pack(MemorySegment src, long srcOffset, int channels, int srcH, int srcW, int padTop, int padLeft,
              MemorySegment dst, Workspace.Worker worker) {
        long planeBytes = (long) srcH * srcW * Float.BYTES;
        float[] row = worker.floats(SOURCE_ROW, srcW), packedRow = worker.floats(PACKED_ROW, rowLength);
        for (int c = 0; c < channels; c++) {
            long srcPlane = srcOffset + c * planeBytes;
            for (int q = 0; q < phases; q++) {
                for (int y = 0; y < rows; y++) {
                    long dstRow = ((c * channelSize()) + ((long) q * rows + y) * rowLength) * Float.BYTES;
                    int vy = y - padTop;
                    if (vy < 0 || vy >= srcH) {
                        dst.asSlice(dstRow, (long) rowLength * Float.BYTES).fill((byte) 0);
                        continue;
                    }
                    long srcRow = srcPlane + (long) vy * srcW * Float.BYTES;
                    packRow(src, srcRow, srcW, q - padLeft, dst, dstRow, row, packedRow);
                }
            }
        }
    }

    /**
     * Packed element {@code t} of this row is source column {@code t*phases + first}; through the
     * heap arrays {@code row} (the source row) and {@code out} (the packed row).
     */
    private void packRow(MemorySegment src, long srcRow, int srcW, int first,
                         MemorySegment dst, long dstRow, float[] row, float[] out) {
        if (phases == 1) {
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
        // A stride phase: one bulk copy in, a plain strided array loop, one bulk copy out.
        MemorySegment.copy(src, FLOAT, srcRow, row, 0, srcW);
        java.util.Arrays.fill(out, 0, rowLength, 0f);
        // out[t] = row[t*phases + first] where that column exists
        int from = Math.max(0, Math.ceilDiv(-first, phases));
        int to = Math.min(rowLength, Math.ceilDiv(srcW - first, phases));
        for (int t = from, x = from * phases + first; t < to; t++, x += phases) {
            out[t] = row[x];
        }
        MemorySegment.copy(out, 0, dst, FLOAT, dstRow, rowLength);
    }

    static int roundUp(int value, int multiple) {
        return Math.ceilDiv(value, multiple) * multiple;
    }
}
