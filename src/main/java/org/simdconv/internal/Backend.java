package org.simdconv.internal;

import org.simdconv.internal.conv.KernelList;
import org.simdconv.internal.nn.LayerKernels;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * One implementation of everything simdconv computes: the scalar reference, which is the oracle,
 * or the Vector API path. {@link Backends} chooses once per JVM, in the manner of Lucene's
 * {@code VectorizationProvider}; the public API asks the chosen backend for its kernels.
 */
public abstract class Backend {

    /** A short name, such as {@code simd-direct-512bit}, for logs and reports. */
    public abstract String name();

    /** The convolution's kernel families, in the order they are tried. */
    public abstract KernelList convolution();

    /** The arithmetic of the other layers: dense, ReLU, pooling, the SGD step. */
    public abstract LayerKernels layers();

    /**
     * Channels per block of the layout this backend's kernels compute on (the vector lanes of the
     * Vector API path); 1, the plain layout, for the reference.
     */
    public abstract int channelBlock();

    /**
     * The layout this backend prefers for an activation of {@code channels} channels (oneDNN's
     * "format any"): channel blocks of {@link #channelBlock()}, unless the channels fill less than
     * half a block. Padding a first layer's one or three channels to 16 would multiply its memory by
     * up to 16 and leave most lanes idle; the kernels for so few channels read plain rows instead
     * (oneDNN keeps such tensors plain too).
     */
    public Layout preferredLayout(int channels) {
        int block = channelBlock();
        return 2 * channels < block ? Layout.plain() : Layout.channelBlocked(block);
    }

    /**
     * Copies {@code from} into {@code to}, same shape, any two layouts, on the threads of {@code par},
     * with scratch memory from {@code workspace}.
     */
    public abstract void reorder(Tensor from, Tensor to, Workspace workspace, Parallelism par);

    /**
     * True when the convolution flushes subnormal activations to zero before a pass (the Vector
     * API path: {@code conv.Subnormals} says why); the reference computes them as IEEE says.
     */
    public boolean flushesSubnormals() {
        return false;
    }

    /**
     * Replaces every subnormal of {@code t} by a zero of its sign, in place, on the threads of
     * {@code par}: only for a backend that {@link #flushesSubnormals}.
     */
    public void flushSubnormals(Tensor t, Parallelism par) {
        throw new UnsupportedOperationException(name() + " computes subnormals as IEEE says; it flushes none");
    }

    /** True when this backend ignores the parallelism and computes on the calling thread. */
    public boolean runsOnCallingThread() {
        return false;
    }

    @Override
    public String toString() {
        return name();
    }
}
