package org.simdconv.internal.simd.rows;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.simdconv.internal.conv.ConvPrimitive;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.parallel.Workspace;
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
 *
 * <p>An instance is a set of packed weights ({@link #load}) with the taps they belong to.
 */
final class StridedBackwardData implements ConvPrimitive.PackedForm {

    /** Workspace slots of a worker: the phase results off-heap, the phase row, and five rows. */
    private static final int PHASES = RowsKernel.STRIDED_SLOTS;
    private static final int PHASE_ROW = PHASES + 1;
    private static final int ROWS = PHASES + 2;

    private static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    private final ConvProblem g;
    private final PackedPlanes layout;
    private final int padTop, padLeft;
    /** Per column phase: its first input column and how many columns it has. */
    private final int[] firstColumn, columns;
    /** Per (row class, column phase): packed tap offsets, their kernel rows and columns, and the weights. */
    private final int[][] taps;
    private final int[][] tapRows;
    private final int[][] tapColumns;
    private final float[][] weights;
    /** The weights of one phase before their blocks are interleaved, reused by every {@link #load}. */
    private float[] plain = new float[0];
    private final int scratchRow;

    StridedBackwardData(ConvProblem g) {
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
        this.tapRows = new int[sh * sw][];
        this.tapColumns = new int[sh * sw][];
        this.weights = new float[sh * sw][];
        for (int rho = 0; rho < sh; rho++) {
            for (int phi = 0; phi < sw; phi++) {
                prepare(rho, phi, rowLength);
            }
        }
    }

    /** The taps of row class {@code rho} and column phase {@code phi}. */
    private void prepare(int rho, int phi, int rowLength) {
        int sh = g.strideH(), sw = g.strideW();
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
        int[] offsets = new int[t], rows = new int[t], cols = new int[t];
        for (int i = 0; i < t; i++) {
            rows[i] = chosen.get(i)[0];
            cols[i] = chosen.get(i)[1];
            offsets[i] = chosen.get(i)[2];
        }
        taps[rho * sw + phi] = offsets;
        tapRows[rho * sw + phi] = rows;
        tapColumns[rho * sw + phi] = cols;
        weights[rho * sw + phi] = new float[g.c() * g.filtersPerGroup() * t];
    }

    /**
     * Loads the OIHW weights {@code w}: per phase {@code [c][kl][t]}, then four-channel blocks of c
     * interleaved, as {@link DirectRowKernel} reads them.
     */
    StridedBackwardData load(float[] w) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
        for (int phase = 0; phase < taps.length; phase++) {
            int t = taps[phase].length;
            if (plain.length < weights[phase].length) {
                plain = new float[weights[phase].length];
            }
            for (int c = 0; c < g.c(); c++) {
                int group = c / cg, local = c % cg;
                for (int kl = 0; kl < kg; kl++) {
                    int k = group * kg + kl;
                    for (int i = 0; i < t; i++) {
                        plain[(c * kg + kl) * t + i] =
                                w[((k * cg + local) * g.r() + tapRows[phase][i]) * g.s() + tapColumns[phase][i]];
                    }
                }
            }
            FourChannelBlocks.interleave(plain, g.c(), cg, kg * t, weights[phase]);
        }
        return this;
    }

    @Override
    public long bytes() {
        long bytes = (long) plain.length * Float.BYTES;
        for (float[] phase : weights) {
            bytes += (long) phase.length * Float.BYTES;
        }
        return bytes;
    }

    /** Input channels {@code [c0, c1)} of batch item {@code n}, as {@code tiles} of four channels and single ones. */
    void run(int n, int c0, int c1, FourChannelBlocks.ChannelTiles tiles, Tensor gradOutput, Tensor gradInput,
             boolean accumulate, Workspace.Worker worker) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), sw = g.strideW();
        int kFirst = (c0 / cg) * kg;
        int kEnd = ((c1 - 1) / cg + 1) * kg;
        long outPlaneBytes = (long) g.outH() * g.outW() * Float.BYTES;
        long inPlaneBytes = (long) g.h() * g.w() * Float.BYTES;
        MemorySegment packed = layout.workspace(kEnd - kFirst, worker);
        layout.pack(gradOutput.segment(), gradOutput.byteOffset() + outPlaneBytes * ((long) n * g.k() + kFirst),
                kEnd - kFirst, g.outH(), g.outW(), padTop, padLeft, packed, worker);
        long scratchChannel = (long) scratchRow * Float.BYTES;
        MemorySegment scratch = worker.segment(PHASES, FourChannelBlocks.SIZE * scratchChannel);
        int floats = scratchRow + g.w();
        float[] phaseRow = worker.floats(PHASE_ROW, floats);
        float[] rows = worker.floats(ROWS, (FourChannelBlocks.SIZE + 1) * floats);
        for (int y = 0; y < g.h(); y++) {
            int rho = Math.floorMod(y + g.padTop(), g.strideH());
            long rowBase = (long) (padTop + (y + g.padTop() - rho) / g.strideH()) * layout.rowLength() + padLeft;
            for (int c : tiles.blockStarts()) {
                long channelBase = (long) ((c / cg) * kg - kFirst) * layout.channelSize() + rowBase;
                computeRows(rho, c, FourChannelBlocks.SIZE, packed, channelBase, scratch, scratchChannel,
                        phaseRow, rows, floats);
                writeRows(rows, floats, FourChannelBlocks.SIZE, gradInput, inPlaneBytes * ((long) n * g.c() + c), y,
                        inPlaneBytes, accumulate);
            }
            for (int c : tiles.singles()) {
                long channelBase = (long) ((c / cg) * kg - kFirst) * layout.channelSize() + rowBase;
                computeRows(rho, c, 1, packed, channelBase, scratch, scratchChannel, phaseRow, rows, floats);
                writeRows(rows, floats, 1, gradInput, inPlaneBytes * ((long) n * g.c() + c), y, inPlaneBytes,
                        accumulate);
            }
        }
    }

    /**
     * Row {@code y} (of row class {@code rho}) of input channels {@code c .. c+count-1} into
     * {@code rows} (row {@code j} at {@code j * rowFloats}): each column phase computed into
     * {@code scratch}, then spread to its columns.
     */
    private void computeRows(int rho, int c, int count, MemorySegment packed, long channelBase,
                             MemorySegment scratch, long scratchChannel, float[] phaseRow, float[] rows, int rowFloats) {
        int sw = g.strideW(), cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
        for (int j = 0; j < count; j++) {
            java.util.Arrays.fill(rows, j * rowFloats, j * rowFloats + g.w(), 0f);
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
                for (int i = 0, x = j * rowFloats + firstColumn[phi]; i < m; i++, x += sw) {
                    rows[x] = phaseRow[i];
                }
            }
        }
    }

    private void writeRows(float[] rows, int rowFloats, int count, Tensor gradInput, long planeOffset, int y,
                           long planeBytes, boolean accumulate) {
        int w = g.w(), old = FourChannelBlocks.SIZE * rowFloats;
        for (int j = 0; j < count; j++) {
            long at = gradInput.byteOffset() + planeOffset + j * planeBytes + (long) y * w * Float.BYTES;
            if (accumulate) {
                MemorySegment.copy(gradInput.segment(), FLOAT, at, rows, old, w);
                for (int x = 0; x < w; x++) {
                    rows[j * rowFloats + x] += rows[old + x];
                }
            }
            MemorySegment.copy(rows, j * rowFloats, gradInput.segment(), FLOAT, at, w);
        }
    }
}
