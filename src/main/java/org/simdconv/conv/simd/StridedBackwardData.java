package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.DirectRowKernel.LANES;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.tensor.Tensor;

/**
 * Backward-data with a stride above 1, without the zero insertion of the seeds (seed 001, 17.3.2):
 * of the zero-inserted gradient, a tap at a given input position meets either a real gradient
 * entry or a zero, and which taps meet real entries depends only on the position's stride phase.
 * So every input-gradient row {@code y} belongs to a row class {@code rho = (y + pt) mod sh}, every
 * column {@code x} to a column phase {@code phi = (x + pl) mod sw}, and
 * <pre>
 *   dX[c][y][x] = sum over k, and taps (r, s) with r*dh = rho and s*dw = phi (mod stride), of
 *                 W[k][c][r][s] * dZ[k][(y + pt - r*dh)/sh][(x + pl - s*dw)/sw]
 * </pre>
 * For one row and phase that is a dense stride-1 correlation of the (un-dilated) gradient with a
 * subset of the taps, along {@code m} where {@code x = x0(phi) + sw*m}: {@link DirectRowKernel}
 * computes it into a scratch row, and the phases are interleaved back into the input-gradient row.
 * The multiplications by inserted zeros, {@code 1 - 1/(sh*sw)} of all, are never done.
 */
final class StridedBackwardData {

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final Conv2dGeometry g;
    private final PackedPlanes layout;
    private final int padTop, padLeft;
    /** Per column phase: its first input column and how many columns it has. */
    private final int[] firstColumn, columns;
    /** Per (row class, column phase): packed tap offsets and the matching weights, blocks interleaved. */
    private final int[][] taps;
    private final float[][] weights;
    private final int scratchRow;

    StridedBackwardData(Conv2dGeometry g, float[] w) {
        this.g = g;
        int sh = g.strideH(), sw = g.strideW();
        this.padTop = (g.r() - 1) * g.dilationH() / sh + 1;
        this.padLeft = (g.s() - 1) * g.dilationW() / sw + 1;
        this.firstColumn = new int[sw];
        this.columns = new int[sw];
        int maxColumns = 0;
        for (int phi = 0; phi < sw; phi++) {
            firstColumn[phi] = Math.floorMod(phi - g.padLeft(), sw);
            columns[phi] = Math.max(0, Math.ceilDiv(g.w() - firstColumn[phi], sw));
            maxColumns = Math.max(maxColumns, columns[phi]);
        }
        int maxShift = (sw - 1 + g.padLeft()) / sw + 1;
        int rowLength = PackedPlanes.roundUp(padLeft + maxShift + PackedPlanes.roundUp(maxColumns, LANES) + LANES, LANES);
        int rows = padTop + (g.h() - 1 + g.padTop()) / sh + 2;
        this.layout = PackedPlanes.plain(rows, rowLength);
        this.scratchRow = PackedPlanes.roundUp(Math.max(1, maxColumns), LANES);
        this.taps = new int[sh * sw][];
        this.weights = new float[sh * sw][];
        for (int rho = 0; rho < sh; rho++) {
            for (int phi = 0; phi < sw; phi++) {
                prepare(rho, phi, w, rowLength);
            }
        }
    }

    /** The taps of row class {@code rho} and column phase {@code phi}, and their weights per input channel. */
    private void prepare(int rho, int phi, float[] w, int rowLength) {
        int sh = g.strideH(), sw = g.strideW();
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
        java.util.List<int[]> chosen = new java.util.ArrayList<>();
        int columnBase = firstColumn[phi] + g.padLeft();
        for (int r = 0; r < g.r(); r++) {
            if (Math.floorMod(r * g.dilationH() - rho, sh) != 0) {
                continue;
            }
            for (int s = 0; s < g.s(); s++) {
                if (Math.floorMod(columnBase - s * g.dilationW(), sw) != 0) {
                    continue;
                }
                int rowShift = (rho - r * g.dilationH()) / sh;          // exact: divisible by sh
                int columnShift = (columnBase - s * g.dilationW()) / sw; // exact: divisible by sw
                chosen.add(new int[] {r, s, rowShift * rowLength + columnShift});
            }
        }
        int t = chosen.size();
        int[] offsets = new int[t];
        for (int i = 0; i < t; i++) {
            offsets[i] = chosen.get(i)[2];
        }
        // [c][kl][t], then four-channel blocks of c interleaved, as DirectRowKernel reads them
        float[] plain = new float[g.c() * kg * t];
        for (int c = 0; c < g.c(); c++) {
            int group = c / cg, local = c % cg;
            for (int kl = 0; kl < kg; kl++) {
                int k = group * kg + kl;
                for (int i = 0; i < t; i++) {
                    int[] tap = chosen.get(i);
                    plain[(c * kg + kl) * t + i] = w[((k * cg + local) * g.r() + tap[0]) * g.s() + tap[1]];
                }
            }
        }
        taps[rho * sw + phi] = offsets;
        weights[rho * sw + phi] = FourChannelBlocks.interleave(plain, g.c(), cg, kg * t);
    }

    /** Input channels {@code [c0, c1)} of batch item {@code n}, as {@code tiles} of four channels and single ones. */
    void run(int n, int c0, int c1, FourChannelBlocks.ChannelTiles tiles, Tensor gradOutput, Tensor gradInput,
             boolean accumulate) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), sw = g.strideW();
        int kFirst = (c0 / cg) * kg;
        int kEnd = ((c1 - 1) / cg + 1) * kg;
        long outPlaneBytes = (long) g.outH() * g.outW() * Float.BYTES;
        long inPlaneBytes = (long) g.h() * g.w() * Float.BYTES;
        MemorySegment packed = layout.workspace(kEnd - kFirst);
        layout.pack(gradOutput.segment(), gradOutput.byteOffset() + outPlaneBytes * ((long) n * g.k() + kFirst),
                kEnd - kFirst, g.outH(), g.outW(), padTop, padLeft, packed);
        long scratchChannel = (long) scratchRow * Float.BYTES;
        Scratch held = Scratch.of(FourChannelBlocks.SIZE * scratchChannel, scratchRow + g.w());
        MemorySegment scratch = held.segment;
        float[] phaseRow = held.phaseRow;
        float[][] rows = held.rows;
        for (int y = 0; y < g.h(); y++) {
            int rho = Math.floorMod(y + g.padTop(), g.strideH());
            long rowBase = (long) (padTop + (y + g.padTop() - rho) / g.strideH()) * layout.rowLength() + padLeft;
            for (int c : tiles.blockStarts()) {
                long channelBase = (long) ((c / cg) * kg - kFirst) * layout.channelSize() + rowBase;
                computeRows(rho, c, FourChannelBlocks.SIZE, packed, channelBase, scratch, scratchChannel,
                        phaseRow, rows);
                writeRows(rows, FourChannelBlocks.SIZE, gradInput, inPlaneBytes * ((long) n * g.c() + c), y,
                        inPlaneBytes, accumulate);
            }
            for (int c : tiles.singles()) {
                long channelBase = (long) ((c / cg) * kg - kFirst) * layout.channelSize() + rowBase;
                computeRows(rho, c, 1, packed, channelBase, scratch, scratchChannel, phaseRow, rows);
                writeRows(rows, 1, gradInput, inPlaneBytes * ((long) n * g.c() + c), y, inPlaneBytes, accumulate);
            }
        }
    }

    /**
     * Row {@code y} (of row class {@code rho}) of input channels {@code c .. c+count-1} into
     * {@code rows}: each column phase computed into {@code scratch}, then spread to its columns.
     */
    private void computeRows(int rho, int c, int count, MemorySegment packed, long channelBase,
                             MemorySegment scratch, long scratchChannel, float[] phaseRow, float[][] rows) {
        int sw = g.strideW(), cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
        for (int j = 0; j < count; j++) {
            java.util.Arrays.fill(rows[j], 0, g.w(), 0f);
        }
        for (int phi = 0; phi < sw; phi++) {
            int[] t = taps[rho * sw + phi];
            int m = columns[phi];
            if (m == 0 || t.length == 0) {
                continue; // no tap meets a gradient entry: these columns get nothing
            }
            if (count == FourChannelBlocks.SIZE) {
                DirectRowKernel.rowsOfFourChannels(packed, channelBase, layout.channelSize(), kg, t,
                        weights[rho * sw + phi], c * kg * t.length, null, 0, scratch, 0, scratchChannel, m, false);
            } else {
                DirectRowKernel.row(packed, channelBase, layout.channelSize(), kg, t, weights[rho * sw + phi],
                        FourChannelBlocks.weightBase(c, cg, kg * t.length), FourChannelBlocks.weightStride(c, cg),
                        0f, scratch, 0, m, false);
            }
            for (int j = 0; j < count; j++) {
                MemorySegment.copy(scratch, FLOAT, j * scratchChannel, phaseRow, 0, m);
                for (int i = 0, x = firstColumn[phi]; i < m; i++, x += sw) {
                    rows[j][x] = phaseRow[i];
                }
            }
        }
    }

    private void writeRows(float[][] rows, int count, Tensor gradInput, long planeOffset, int y, long planeBytes,
                           boolean accumulate) {
        int w = g.w();
        for (int j = 0; j < count; j++) {
            long at = gradInput.byteOffset() + planeOffset + j * planeBytes + (long) y * w * Float.BYTES;
            if (accumulate) {
                float[] old = rows[FourChannelBlocks.SIZE];
                MemorySegment.copy(gradInput.segment(), FLOAT, at, old, 0, w);
                for (int x = 0; x < w; x++) {
                    rows[j][x] = old[x] + rows[j][x];
                }
            }
            MemorySegment.copy(rows[j], 0, gradInput.segment(), FLOAT, at, w);
        }
    }

    /**
     * Each thread's scratch rows, kept from call to call (a confined arena and arrays per task
     * allocated on every call): phase results off-heap for the row kernel, the phase row, and
     * four input-gradient rows plus one for the old values when accumulating.
     */
    private static final class Scratch {
        private static final ThreadLocal<Scratch> OF_THREAD = ThreadLocal.withInitial(() -> new Scratch(0, 0));

        final MemorySegment segment;
        final float[] phaseRow;
        final float[][] rows;

        private Scratch(long bytes, int floats) {
            this.segment = bytes == 0 ? MemorySegment.NULL : Arena.ofAuto().allocate(bytes, Tensor.ALIGNMENT);
            this.phaseRow = new float[floats];
            this.rows = new float[FourChannelBlocks.SIZE + 1][floats];
        }

        /** This thread's scratch with at least {@code bytes} off-heap and rows of at least {@code floats}. */
        static Scratch of(long bytes, int floats) {
            Scratch held = OF_THREAD.get();
            if (held.segment.byteSize() < bytes || held.phaseRow.length < floats) {
                held = new Scratch(Math.max(bytes, held.segment.byteSize()), Math.max(floats, held.phaseRow.length));
                OF_THREAD.set(held);
            }
            return held;
        }
    }
}
