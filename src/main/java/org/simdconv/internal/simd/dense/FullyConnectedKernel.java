package org.simdconv.internal.simd.dense;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.ORDER;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import jdk.incubator.vector.FloatVector;
import org.simdconv.internal.conv.BackwardDataPrimitive;
import org.simdconv.internal.conv.BackwardWeightsPrimitive;
import org.simdconv.internal.conv.ConvKernel;
import org.simdconv.internal.conv.ConvPass;
import org.simdconv.internal.conv.ConvPrimitive;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.ForwardPrimitive;
import org.simdconv.internal.conv.Side;
import org.simdconv.internal.simd.common.SimdPrimitive;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * A convolution whose kernel covers its whole input, without padding, in one group: one output
 * pixel per item, {@code y[n][k] = b[k] + sum over c, r, s of w[k][c][r][s] x[n][c][r][s]}. That is
 * a fully connected layer with {@code C*R*S} inputs (seed 000, eq. 1 with the window at its only
 * place), so it runs on the dense layer's matrix products ({@link DenseProducts}): an NCHW item is
 * a row of that matrix, and OIHW weights are its {@code [K][C*R*S]} weight matrix. Classifiers
 * written as convolutions take this path (MobileNet's last 1x1 layer on a 1x1 plane, VGG's first
 * dense layer as a 7x7 convolution over 7x7), where the kernels that vectorise over pixels would
 * leave all but one lane idle.
 *
 * <p>Activations are plain; a 1x1 plane in blocks of the lanes is the same memory when its
 * channels fill whole blocks, so such tensors are taken as they are. The backward passes, when
 * accumulating, compute into the workspace and add.
 */
public final class FullyConnectedKernel implements ConvKernel {

    /** Workspace slot of the product that an accumulating backward pass adds. */
    private static final int PRODUCT = 7;

    @Override
    public String name() {
        return "fully-connected";
    }

    /**
     * One group, no padding, and a kernel as large as the input (so one output pixel); every pass.
     * Dilation would make the kernel's extent larger than the input, which no valid problem has.
     */
    @Override
    public boolean accepts(ConvPass pass, ConvProblem g) {
        return g.groups() == 1 && g.r() == g.h() && g.s() == g.w() && g.outH() == 1 && g.outW() == 1
                && g.padTop() == 0 && g.padBottom() == 0 && g.padLeft() == 0 && g.padRight() == 0
                && (long) g.c() * g.r() * g.s() * g.k() < Integer.MAX_VALUE;
    }

    @Override
    public ForwardPrimitive<Weights> forward(ConvProblem g) {
        return new Forward(g);
    }

    @Override
    public BackwardDataPrimitive<Weights> backwardData(ConvProblem g) {
        return new BackwardData(g);
    }

    @Override
    public BackwardWeightsPrimitive backwardWeights(ConvProblem g) {
        return new BackwardWeights(g);
    }

    /**
     * The OIHW weights, off-heap (where the matrix products read fastest), in memory the garbage
     * collector frees with the plan.
     */
    public record Weights(MemorySegment matrix) implements ConvPrimitive.PackedForm {
        @Override
        public long bytes() {
            return matrix.byteSize();
        }

        static Weights copyOf(float[] oihw, Weights previous) {
            Weights w = previous != null ? previous
                    : new Weights(Arena.ofAuto().allocate((long) oihw.length * Float.BYTES, 64));
            MemorySegment.copy(oihw, 0, w.matrix(), Tensor.FLOAT, 0, oihw.length);
            return w;
        }
    }

    /** The primitives' common ground: the matrix sizes and the layouts. */
    private abstract static class Dense extends SimdPrimitive {
        final int items;
        final int inputs;
        final int outputs;

        Dense(ConvProblem g) {
            super(g);
            this.items = g.n();
            this.inputs = g.c() * g.r() * g.s();
            this.outputs = g.k();
        }

        /** Plain, or blocks of the lanes where they are the same memory: a 1x1 plane of whole blocks. */
        @Override
        public boolean takes(Layout input, Layout output) {
            return sameAsPlain(input, g.c(), g.h() * g.w()) && sameAsPlain(output, g.k(), 1);
        }

        private static boolean sameAsPlain(Layout layout, int channels, int pixels) {
            return layout.isPlain() || (layout.block() == LANES && pixels == 1 && channels % LANES == 0);
        }

        /** The blocked layout where it is the same memory and the other kernels would pick it, else plain. */
        @Override
        public Layout preferred(Side side) {
            int channels = g.channels(side), pixels = side == Side.INPUT ? g.h() * g.w() : 1;
            Layout blocked = preferredLayout(channels);
            return pixels == 1 && channels % LANES == 0 ? blocked : Layout.plain();
        }

        /** {@code target += product}, {@code count} floats from bytes {@code at} and {@code productAt}. */
        static void add(MemorySegment product, long productAt, MemorySegment target, long at, long count) {
            long i = 0;
            for (long bound = SPECIES.loopBound(count); i < bound; i += LANES) {
                long t = at + i * Float.BYTES, p = productAt + i * Float.BYTES;
                FloatVector.fromMemorySegment(SPECIES, target, t, ORDER)
                        .add(FloatVector.fromMemorySegment(SPECIES, product, p, ORDER))
                        .intoMemorySegment(target, t, ORDER);
            }
            for (; i < count; i++) {
                long t = at + i * Float.BYTES, p = productAt + i * Float.BYTES;
                target.set(Tensor.FLOAT, t, target.get(Tensor.FLOAT, t) + product.get(Tensor.FLOAT, p));
            }
        }
    }

    /** The passes that read the weights: a copy of them, off-heap. */
    private abstract static class ReadsWeights extends Dense {
        ReadsWeights(ConvProblem g) {
            super(g);
        }

        public Weights pack(float[] oihw, Weights previous) {
            return Weights.copyOf(oihw, previous);
        }
    }

    private static final class Forward extends ReadsWeights implements ForwardPrimitive<Weights> {
        Forward(ConvProblem g) {
            super(g);
        }

        /** {@code y = x w^T + b}. */
        @Override
        public void forward(Tensor input, Weights weights, Tensor bias, Tensor output, Workspace workspace,
                            Parallelism par) {
            DenseProducts.forward(input.segment(), input.byteOffset(), weights.matrix(), 0,
                    bias == null ? null : bias.segment(), bias == null ? 0 : bias.byteOffset(), output.segment(),
                    output.byteOffset(), items, inputs, outputs, workspace, par);
        }
    }

    /** Backward-data: {@code dx = dy w}, seed 000's full convolution with the rotated kernel at its one place. */
    private static final class BackwardData extends ReadsWeights implements BackwardDataPrimitive<Weights> {
        BackwardData(ConvProblem g) {
            super(g);
        }

        @Override
        public void backwardData(Tensor gradOutput, Weights weights, Tensor gradInput, boolean accumulate,
                                 Workspace workspace, Parallelism par) {
            long count = (long) items * inputs;
            MemorySegment target = gradInput.segment();
            long at = gradInput.byteOffset();
            try (Workspace.Lease lease = workspace.lease()) {
                if (accumulate) {
                    target = lease.segment(PRODUCT, 0, count * Float.BYTES);
                    at = 0;
                }
                DenseProducts.backwardData(gradOutput.segment(), gradOutput.byteOffset(), weights.matrix(), 0, target,
                        at, items, inputs, outputs, workspace, par);
                if (accumulate) {
                    add(target, 0, gradInput.segment(), gradInput.byteOffset(), count);
                }
            }
        }
    }

    /** Backward-weights and bias: {@code dw = dy^T x}, {@code db = sum over items of dy}. */
    private static final class BackwardWeights extends Dense implements BackwardWeightsPrimitive {
        BackwardWeights(ConvProblem g) {
            super(g);
        }

        @Override
        public void backwardWeights(Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                                    boolean accumulate, Workspace workspace, Parallelism par) {
            long weightCount = (long) outputs * inputs;
            try (Workspace.Lease lease = workspace.lease()) {
                MemorySegment dw = gradWeight.segment(), db = gradBias == null ? null : gradBias.segment();
                long dwAt = gradWeight.byteOffset(), dbAt = gradBias == null ? 0 : gradBias.byteOffset();
                if (accumulate) {
                    MemorySegment product = lease.segment(PRODUCT, 0, (weightCount + outputs) * Float.BYTES);
                    dw = product;
                    dwAt = 0;
                    db = gradBias == null ? null : product;
                    dbAt = weightCount * Float.BYTES;
                }
                DenseProducts.backwardWeights(input.segment(), input.byteOffset(), gradOutput.segment(),
                        gradOutput.byteOffset(), dw, dwAt, db, dbAt, items, inputs, outputs, workspace, par);
                if (accumulate) {
                    add(dw, 0, gradWeight.segment(), gradWeight.byteOffset(), weightCount);
                    if (gradBias != null) {
                        add(dw, dbAt, gradBias.segment(), gradBias.byteOffset(), outputs);
                    }
                }
            }
        }
    }
}
