package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.function.Function;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * {@code N x C x H x W} to {@code N x (C*H*W)}, in C, H, W order as PyTorch's {@code nn.Flatten}, so
 * that a dense layer's weights mean the same here and there. A plain input is viewed under the new
 * shape without copying; a channel-blocked one is reordered to plain first (the one reorder a
 * network makes after its input), and the gradient is reordered back.
 */
public final class Flatten extends Layer {

    private final PerShape<Buffers> perShape = new PerShape<>();
    private final Function<int[], Buffers> make = Buffers::new;
    private final Workspace workspace = new Workspace();
    private Buffers last;

    public Flatten() {
    }

    @Override
    public int[] outputShape(int... inputShape) {
        if (inputShape.length < 2) {
            throw new IllegalArgumentException(this + ": input must have at least two dimensions (N and the rest), "
                    + "got shape " + Arrays.toString(inputShape));
        }
        long features = 1;
        for (int i = 1; i < inputShape.length; i++) {
            features *= inputShape[i];
        }
        if (features > Integer.MAX_VALUE) {
            throw new IllegalArgumentException(this + ": " + features + " features per item exceed 2^31 - 1");
        }
        return new int[] {inputShape[0], (int) features};
    }

    @Override
    Tensor forward(Tensor x) {
        last = perShape.of(x, make);
        Buffers b = last;
        b.inputLayout = x.layout();
        if (x.layout().isPlain()) {
            if (b.viewedInput != x) {
                b.viewedInput = x;
                b.inputView = x.reshape(b.outputShape);
            }
            return b.inputView;
        }
        b.plain();
        backend().reorder(x, b.plainInput, workspace, execution().parallelism());
        return b.plainOutput;
    }

    @Override
    Tensor backward(Tensor gradOutput, boolean inputGradient) {
        Buffers b = last;
        requireGradient(gradOutput, b == null ? null : b.inputLayout.isPlain() ? b.inputView : b.plainOutput);
        if (!inputGradient) {
            return null;
        }
        if (b.viewedGradient != gradOutput) {
            b.viewedGradient = gradOutput;
            b.gradientView = gradOutput.reshape(b.inputShape);
        }
        if (b.inputLayout.isPlain()) {
            return b.gradientView;
        }
        b.blockedGradient(b.inputLayout);
        backend().reorder(b.gradientView, b.gradInput, workspace, execution().parallelism());
        return b.gradInput;
    }

    @Override
    void release() {
        perShape.close();
        workspace.release();
        last = null;
    }

    @Override
    public String toString() {
        return "Flatten()";
    }

    /** Views and buffers for one input shape. */
    private final class Buffers implements PerShape.State {
        final int[] inputShape;
        final int[] outputShape;
        Layout inputLayout;
        Tensor viewedInput;
        Tensor inputView;
        Tensor viewedGradient;
        Tensor gradientView;
        private Arena arena;
        Tensor plainInput;
        Tensor plainOutput;
        Tensor gradInput;

        Buffers(int[] inputShape) {
            this.inputShape = inputShape;
            this.outputShape = outputShape(inputShape);
        }

        /** The plain copy of a blocked input, and its flat view. */
        void plain() {
            if (plainInput == null) {
                arenaOpen();
                plainInput = Tensor.allocate(arena, inputShape);
                plainOutput = plainInput.reshape(outputShape);
            }
        }

        /** The input gradient in the input's (blocked) layout. */
        void blockedGradient(Layout layout) {
            if (gradInput == null || !gradInput.layout().equals(layout)) {
                arenaOpen();
                gradInput = Tensor.allocate(arena, layout, inputShape);
            }
        }

        private void arenaOpen() {
            if (arena == null) {
                arena = Arena.ofShared();
            }
        }

        @Override
        public void close() {
            viewedInput = null;
            inputView = null;
            viewedGradient = null;
            gradientView = null;
            plainInput = null;
            plainOutput = null;
            gradInput = null;
            if (arena != null) {
                arena.close();
                arena = null;
            }
        }
    }
}
