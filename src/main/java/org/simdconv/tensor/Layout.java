package org.simdconv.tensor;

import java.util.Arrays;

/**
 * Where the elements of a tensor lie in memory: data that every tensor carries, as a oneDNN memory
 * descriptor carries its format tag. The shape of a tensor is always its logical shape (N, C, H, W
 * for an activation); the layout maps it to memory.
 * <ul>
 *   <li>{@link #plain()}: row-major (C order), or the strides of a view. An activation is NCHW,
 *       weights OIHW, as in PyTorch.</li>
 *   <li>{@link #channelBlocked(int) channelBlocked(b)}, oneDNN's {@code nChw<b>c}: a 4-D tensor
 *       {@code N x C x H x W} stored as {@code N x ceil(C/b) x H x W x b}, channel {@code c} of pixel
 *       (h, w) at {@code [c / b][h][w][c % b]}. One vector of {@code b} floats then holds one
 *       pixel's channels of a block, which is what the fast convolution kernels compute on. The
 *       channels past {@code C} in the last block are padding and hold zeros.</li>
 * </ul>
 * Blocks of one channel are the plain layout itself, so {@code channelBlocked(1)} is {@code plain()}.
 */
public final class Layout {

    private static final Layout PLAIN = new Layout(1);
    /** The layouts of blocks up to 64 channels, made once: asking for one allocates nothing. */
    private static final Layout[] BLOCKED = new Layout[65];

    static {
        BLOCKED[1] = PLAIN;
        for (int b = 2; b < BLOCKED.length; b++) {
            BLOCKED[b] = new Layout(b);
        }
    }

    private final int block;

    private Layout(int block) {
        this.block = block;
    }

    /** Row-major (C order): NCHW for activations. */
    public static Layout plain() {
        return PLAIN;
    }

    /** Channels in blocks of {@code block} ({@code nChw<block>c}); a block of 1 is {@link #plain()}. */
    public static Layout channelBlocked(int block) {
        if (block < 1) {
            throw new IllegalArgumentException("block must be >= 1, got " + block);
        }
        return block < BLOCKED.length ? BLOCKED[block] : new Layout(block);
    }

    public boolean isPlain() {
        return block == 1;
    }

    public boolean isBlocked() {
        return block > 1;
    }

    /** Channels per block: 1 for the plain layout. */
    public int block() {
        return block;
    }

    /**
     * Floats that a dense tensor of logical {@code shape} occupies in this layout: the element count
     * when plain, with the channels rounded up to whole blocks when blocked.
     */
    public long storageElements(int[] shape) {
        requireFits(shape);
        long count = 1;
        for (int i = 0; i < shape.length; i++) {
            long d = isBlocked() && i == 1 ? (long) Math.ceilDiv(shape[1], block) * block : shape[i];
            count = Math.multiplyExact(count, d);
        }
        return count;
    }

    /** Checks that a tensor of {@code shape} can have this layout: a blocked one must be 4-D (N, C, H, W). */
    void requireFits(int[] shape) {
        if (isBlocked() && shape.length != 4) {
            throw new IllegalArgumentException("layout " + this + " needs a 4-D shape (N, C, H, W), got "
                    + Arrays.toString(shape));
        }
    }

    /**
     * Float index, from the tensor's first element, of element (n, c, h, w) of a dense 4-D tensor of
     * logical {@code shape} in this layout.
     */
    long index(int[] shape, int n, int c, int h, int w) {
        int channels = shape[1], height = shape[2], width = shape[3];
        if (isPlain()) {
            return (((long) n * channels + c) * height + h) * width + w;
        }
        int blocks = Math.ceilDiv(channels, block);
        return ((((long) n * blocks + c / block) * height + h) * width + w) * block + c % block;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Layout other && other.block == block;
    }

    @Override
    public int hashCode() {
        return block;
    }

    /** {@code plain}, or oneDNN's name of the blocked layout: {@code nChw16c}. */
    @Override
    public String toString() {
        return isPlain() ? "plain" : "nChw" + block + "c";
    }
}
