package org.simdconv.nn;

import java.util.function.Function;
import org.simdconv.tensor.Tensor;

/**
 * What a layer keeps for each input shape it has seen (its outputs, gradients, convolution plan),
 * so that the batches of an epoch, all of one size but the last, allocate nothing after the first.
 * Up to {@value #KEPT} shapes are kept (a training batch, its last partial batch, the test batches);
 * a further one replaces the one seen longest ago, whose memory is closed.
 */
final class PerShape<S extends PerShape.State> implements AutoCloseable {

    /** Memory kept for one input shape, released by {@link #close()}. */
    interface State extends AutoCloseable {
        @Override
        void close();
    }

    static final int KEPT = 4;

    private final int[][] shapes = new int[KEPT][];
    private final Object[] states = new Object[KEPT];
    private final long[] lastUse = new long[KEPT];
    private long clock;

    /**
     * The state for {@code x}'s shape, made by {@code make} from the shape when there is none yet
     * ({@code make} is a field of the layer, not a lambda per call: a repeated call allocates nothing).
     */
    @SuppressWarnings("unchecked")
    S of(Tensor x, Function<int[], S> make) {
        clock++;
        int oldest = 0;
        for (int i = 0; i < KEPT; i++) {
            if (shapes[i] != null && x.hasShape(shapes[i])) {
                lastUse[i] = clock;
                return (S) states[i];
            }
            if (lastUse[i] < lastUse[oldest]) {
                oldest = i;
            }
        }
        closeSlot(oldest);
        int[] shape = x.shape();
        S state = make.apply(shape);
        shapes[oldest] = shape;
        states[oldest] = state;
        lastUse[oldest] = clock;
        return state;
    }

    private void closeSlot(int i) {
        Object state = states[i];
        shapes[i] = null;
        states[i] = null;
        lastUse[i] = 0;
        if (state != null) {
            ((State) state).close();
        }
    }

    @Override
    public void close() {
        for (int i = 0; i < KEPT; i++) {
            closeSlot(i);
        }
    }
}
