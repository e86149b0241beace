package org.simdconv.internal.simd.common;

import static org.simdconv.internal.simd.common.Vectors.LANES;

import org.simdconv.internal.conv.ConvPrimitive;
import org.simdconv.internal.conv.ConvProblem;
import org.simdconv.internal.conv.Side;
import org.simdconv.tensor.Layout;
import org.simdconv.tensor.Tensor;

/**
 * A primitive of the Vector API path bound to problem {@link #g}. By default it reads and writes
 * plain activations and activations in blocks of the vector lanes, in any combination, and prefers
 * the blocked layout for an activation of at least half a block of channels ({@link #preferredLayout}).
 */
public abstract class SimdPrimitive implements ConvPrimitive {

    protected final ConvProblem g;

    protected SimdPrimitive(ConvProblem g) {
        this.g = g;
    }

    /** The problem this primitive is bound to. */
    public ConvProblem problem() {
        return g;
    }

    /**
     * The layout the Vector API kernels compute on for {@code channels} channels: blocks of the
     * vector lanes, unless the channels fill less than half a block (then plain: see
     * {@code Backend.preferredLayout}).
     */
    public static Layout preferredLayout(int channels) {
        return 2 * channels < LANES ? Layout.plain() : Layout.channelBlocked(LANES);
    }

    @Override
    public boolean takes(Layout input, Layout output) {
        return plainOrLanes(input) && plainOrLanes(output);
    }

    /** True for the plain layout and for blocks of the vector lanes. */
    protected static boolean plainOrLanes(Layout layout) {
        return layout.isPlain() || layout.block() == LANES;
    }

    /** True when both layouts are plain, or both are blocks of the vector lanes. */
    protected static boolean bothPlainOrBothLanes(Layout input, Layout output) {
        return input.isPlain() ? output.isPlain() : input.block() == LANES && output.block() == LANES;
    }

    @Override
    public Layout preferred(Side side) {
        return preferredLayout(g.channels(side));
    }

    /** True when {@code t} is channel-blocked (in blocks of the lanes, as {@link #takes} allows), false when plain. */
    protected static boolean blocked(Tensor t) {
        return t.layout().isBlocked();
    }
}
