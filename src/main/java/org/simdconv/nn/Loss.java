package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.util.function.Function;
import org.simdconv.tensor.Tensor;

/**
 * What the losses share: the gradient with respect to their input, kept per input shape (so that
 * a training step allocates nothing) and returned by {@link #backward()}. The losses compute a few
 * values per item, in double: plain Java, no kernel.
 */
public abstract sealed class Loss implements AutoCloseable permits CrossEntropyLoss, MSELoss {

    private final PerShape<Gradient> perShape = new PerShape<>();
    private final Function<int[], Gradient> make = Gradient::new;
    private Gradient last;

    Loss() {
    }

    /** The gradient tensor for an input like {@code input}, to be written by this forward pass. */
    Tensor gradientFor(Tensor input) {
        last = perShape.of(input, make);
        return last.tensor;
    }

    /** The gradient of the last forward pass's loss with respect to its input; owned by this loss. */
    public Tensor backward() {
        if (last == null) {
            throw new IllegalStateException("backward needs a forward pass first");
        }
        return last.tensor;
    }

    /** Releases the gradient buffers. */
    @Override
    public void close() {
        perShape.close();
        last = null;
    }

    /** The gradient of one input shape, plain. */
    private static final class Gradient implements PerShape.State {
        private final Arena arena = Arena.ofShared();
        final Tensor tensor;

        Gradient(int[] shape) {
            tensor = Tensor.allocate(arena, shape);
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
