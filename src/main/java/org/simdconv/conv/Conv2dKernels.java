package org.simdconv.conv;

import java.lang.foreign.Arena;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.ChannelBlockedLayout;
import org.simdconv.tensor.Tensor;

/**
 * One implementation of every pass of a 2-D convolution: the scalar reference, or the Vector API
 * path. {@link Conv2d} checks the geometry and every tensor before it calls a kernel, so a kernel
 * may assume contiguous, live, correctly shaped, non-overlapping tensors.
 */
public interface Conv2dKernels {

    /** A short name, shown in logs and benchmark reports. */
    String name();

    /**
     * The name of the kernel that runs {@code pass} on {@code g}, when an implementation picks among
     * several by geometry (the first in its ordered list that accepts the problem); by default
     * {@link #name()}.
     */
    default String kernelName(Conv2dPass pass, Conv2dGeometry g) {
        return name();
    }

    /** True when the kernels ignore the parallelism and run everything on the calling thread. */
    default boolean runsOnCallingThread() {
        return false;
    }

    /** {@code output = W * input + bias} (cross-correlation); {@code bias} may be null. */
    void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, Parallelism par);

    /** The gradient with respect to the input, from the gradient of the output. */
    void backwardData(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput,
                      Accumulation mode, Parallelism par);

    /**
     * The gradients with respect to the weights and (when {@code gradBias} is not null) the bias,
     * summed over the batch.
     */
    void backwardWeights(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight, Tensor gradBias,
                         Accumulation mode, Parallelism par);

    /**
     * Channels per block of the channel-blocked layout that the blocked entry points take
     * ({@link ChannelBlockedLayout}): the float lanes of the Vector API kernels' species, the same
     * for every implementation in a JVM, so that blocked tensors work with any of them.
     */
    default int channelBlock() {
        return KernelSelection.channelBlock();
    }

    /**
     * {@link #forward} on channel-blocked input and output. By default through NCHW copies (the
     * scalar oracle and kernels without a blocked form); blocked kernels override it.
     */
    default void forwardBlocked(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output,
                                Parallelism par) {
        try (Arena arena = Arena.ofShared()) {
            Tensor x = fromBlocked(arena, input, g.inputShape());
            Tensor y = Tensor.allocate(arena, g.outputShape());
            forward(g, x, weight, bias, y, par);
            layout(g.outputShape()).toBlocked(y, output);
        }
    }

    /** {@link #backwardData} on channel-blocked gradients; by default through NCHW copies. */
    default void backwardDataBlocked(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput,
                                     Accumulation mode, Parallelism par) {
        try (Arena arena = Arena.ofShared()) {
            Tensor dy = fromBlocked(arena, gradOutput, g.outputShape());
            Tensor dx = fromBlocked(arena, gradInput, g.inputShape());
            backwardData(g, dy, weight, dx, mode, par);
            layout(g.inputShape()).toBlocked(dx, gradInput);
        }
    }

    /** {@link #backwardWeights} on channel-blocked input and gradient; by default through NCHW copies. */
    default void backwardWeightsBlocked(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight,
                                        Tensor gradBias, Accumulation mode, Parallelism par) {
        try (Arena arena = Arena.ofShared()) {
            backwardWeights(g, fromBlocked(arena, input, g.inputShape()), fromBlocked(arena, gradOutput, g.outputShape()),
                    gradWeight, gradBias, mode, par);
        }
    }

    private ChannelBlockedLayout layout(int[] nchw) {
        return new ChannelBlockedLayout(nchw[1], nchw[2], nchw[3], ChannelBlockedLayout.blockFor(nchw[1], channelBlock()));
    }

    private Tensor fromBlocked(Arena arena, Tensor blocked, int[] nchw) {
        Tensor t = Tensor.allocate(arena, nchw);
        layout(nchw).toNchw(blocked, t);
        return t;
    }
}
