package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import org.simdconv.internal.nn.PoolProblem;
import org.simdconv.tensor.Tensor;

/**
 * The memory of a ReLU or pooling layer for one input shape: its output and its input gradient, in
 * the layout of the input (made again if an input of another layout comes), and for max pooling the
 * arg-max, a 32-bit int per element of the output's storage.
 */
final class ActivationBuffers implements PerShape.State {

    /** The pooling of this input shape, or null for a ReLU. */
    final PoolProblem pooling;
    private final int[] inputShape;
    private final int[] outputShape;
    private final boolean withArgmax;
    private Arena arena;
    Tensor output;
    Tensor gradInput;
    MemorySegment argmax;

    private ActivationBuffers(PoolProblem pooling, int[] inputShape, int[] outputShape, boolean withArgmax) {
        this.pooling = pooling;
        this.inputShape = inputShape;
        this.outputShape = outputShape;
        this.withArgmax = withArgmax;
    }

    /** For an element-by-element layer: the output has the input's shape. */
    static ActivationBuffers elementwise(int[] shape) {
        return new ActivationBuffers(null, shape, shape, false);
    }

    /** For a pooling layer, with an arg-max for max pooling. */
    static ActivationBuffers pooling(PoolProblem p, boolean withArgmax) {
        return new ActivationBuffers(p, p.inputShape(), p.outputShape(), withArgmax);
    }

    /** Makes the buffers, in {@code x}'s layout, unless they are already. */
    ActivationBuffers matching(Tensor x) {
        if (output == null || !output.layout().equals(x.layout())) {
            close();
            arena = Arena.ofShared();
            output = Tensor.allocate(arena, x.layout(), outputShape);
            gradInput = Tensor.allocate(arena, x.layout(), inputShape);
            argmax = withArgmax ? arena.allocate(output.storageBytes(), Tensor.ALIGNMENT) : null;
        }
        return this;
    }

    @Override
    public void close() {
        if (arena != null) {
            arena.close();
            arena = null;
            output = null;
            gradInput = null;
            argmax = null;
        }
    }
}
