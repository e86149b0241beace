package org.simdconv.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.Objects;

/**
 * A float32 tensor: a view of a {@link MemorySegment} with a shape and element strides.
 *
 * <p>A tensor never owns its memory. It is either allocated in a caller's {@link Arena}
 * ({@link #allocate}), or wraps memory the caller already has, without copying: a segment
 * ({@link #wrap(MemorySegment, int...)}) or a {@code float[]} ({@link #wrap(float[], int...)}).
 * Closing the arena releases the memory; any later use of the tensor fails with an
 * {@link IllegalStateException} that says so, never with a crash.
 *
 * <p>Every tensor carries its {@link Layout}. Its shape is the logical one (N, C, H, W for an
 * activation, whatever the layout), and element access ({@link #get}, {@link #toArray},
 * {@link #copyFrom}) is in logical row-major order in every layout. A {@link Layout#plain() plain}
 * tensor is row-major (C order) by default, so a 4-D one is NCHW; strided views of plain memory
 * exist for reading and writing element by element. A {@link Layout#channelBlocked channel-blocked}
 * tensor is always dense. {@link #copyTo} copies between any two layouts.
 *
 * <p>Kernels require a dense tensor ({@link #isContiguous()}).
 *
 * <p>A tensor is an immutable view; who may touch its memory is its arena's rule: a confined
 * arena's segment only from the thread that owns it ({@code WrongThreadException} from any other),
 * a closed arena's from none ({@code IllegalStateException}), a shared or automatic one's from any.
 */
public final class Tensor {

    /** Native-order float: what the Vector API loads without a byte swap. */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** 64 bytes: one cache line, and one 512-bit vector. */
    public static final long ALIGNMENT = 64;

    private final MemorySegment segment;
    private final int[] shape;
    private final Layout layout;
    /** Element strides of a plain tensor; null for a blocked one, whose place of an element the layout gives. */
    private final long[] strides;
    private final long offset;
    /** {@link #isContiguous}, decided once: the kernels' entry points ask on every call. */
    private final boolean contiguous;

    private Tensor(MemorySegment segment, int[] shape, Layout layout, long[] strides, long offset) {
        this.segment = segment;
        this.shape = shape;
        this.layout = layout;
        this.strides = strides;
        this.offset = offset;
        this.contiguous = layout.isBlocked() || Arrays.equals(strides, rowMajorStrides(shape))
                || elementCount(shape) <= 1;
    }

    /** Allocates a zero-filled, contiguous plain tensor in {@code arena}, aligned to a cache line. */
    public static Tensor allocate(Arena arena, int... shape) {
        return allocate(arena, Layout.plain(), shape);
    }

    /**
     * Allocates a zero-filled tensor of logical {@code shape} in {@code layout} in {@code arena},
     * aligned to a cache line (a blocked tensor's padding channels are zero, as they must be).
     *
     * @throws IllegalArgumentException if a dimension is not positive, or the machine refuses the
     *                                  memory (the message says how many bytes)
     */
    public static Tensor allocate(Arena arena, Layout layout, int... shape) {
        Objects.requireNonNull(arena, "arena");
        Objects.requireNonNull(layout, "layout");
        int[] dims = checkShape(shape);
        long bytes = Math.max(Float.BYTES, byteSize(layout, dims));
        MemorySegment segment;
        try {
            segment = arena.allocate(bytes, ALIGNMENT);
        } catch (OutOfMemoryError e) { // native memory refused: the JVM's heap is fine, the shape is at fault
            throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " in layout " + layout + " needs "
                    + bytes + " bytes, more than the machine gives (" + e.getMessage() + ")", e);
        }
        return dense(segment, layout, dims);
    }

    /** Wraps a caller's segment as a contiguous plain tensor, without copying. */
    public static Tensor wrap(MemorySegment segment, int... shape) {
        return wrap(segment, Layout.plain(), shape);
    }

    /**
     * Wraps a caller's segment as a dense tensor of logical {@code shape} in {@code layout}, without
     * copying. The padding channels of a blocked layout must hold zeros.
     */
    public static Tensor wrap(MemorySegment segment, Layout layout, int... shape) {
        Objects.requireNonNull(segment, "segment");
        Objects.requireNonNull(layout, "layout");
        int[] dims = checkShape(shape);
        long needed = byteSize(layout, dims);
        if (segment.byteSize() < needed) {
            throw new IllegalArgumentException("segment of " + segment.byteSize()
                    + " bytes is too small for shape " + Arrays.toString(dims) + " in layout " + layout + " ("
                    + needed + " bytes)");
        }
        return dense(segment, layout, dims);
    }

    private static Tensor dense(MemorySegment segment, Layout layout, int[] dims) {
        return new Tensor(segment, dims, layout, layout.isPlain() ? rowMajorStrides(dims) : null, 0);
    }

    /** Wraps a caller's array as a contiguous tensor, without copying: writes go to the array. */
    public static Tensor wrap(float[] data, int... shape) {
        Objects.requireNonNull(data, "data");
        int[] dims = checkShape(shape);
        if (data.length != elementCount(dims)) {
            throw new IllegalArgumentException("array of " + data.length + " floats does not match shape "
                    + Arrays.toString(dims) + " (" + elementCount(dims) + " elements)");
        }
        return dense(MemorySegment.ofArray(data), Layout.plain(), dims);
    }

    /**
     * A strided view of a caller's segment, in the plain layout: element {@code (i0, i1, ...)} lives at float index
     * {@code offset + i0*strides[0] + i1*strides[1] + ...}.
     */
    public static Tensor view(MemorySegment segment, long offset, int[] shape, long[] strides) {
        Objects.requireNonNull(segment, "segment");
        int[] dims = checkShape(shape);
        Objects.requireNonNull(strides, "strides");
        if (strides.length != dims.length) {
            throw new IllegalArgumentException("strides " + Arrays.toString(strides) + " and shape "
                    + Arrays.toString(dims) + " differ in rank");
        }
        if (offset < 0) {
            throw new IllegalArgumentException("offset must be >= 0, got " + offset);
        }
        long lastByte;
        try {
            long last = offset;
            for (int d = 0; d < dims.length; d++) {
                if (strides[d] < 0) {
                    throw new IllegalArgumentException("strides must be >= 0, got " + Arrays.toString(strides));
                }
                last = Math.addExact(last, Math.multiplyExact((long) (dims[d] - 1), strides[d]));
            }
            lastByte = Math.multiplyExact(Math.addExact(last, 1), (long) Float.BYTES);
        } catch (ArithmeticException e) {
            lastByte = Long.MAX_VALUE;   // beyond any segment
        }
        if (elementCount(dims) > 0 && lastByte > segment.byteSize()) {
            throw new IllegalArgumentException("view with offset " + offset + ", shape " + Arrays.toString(dims)
                    + " and strides " + Arrays.toString(strides) + " reaches past the segment of "
                    + segment.byteSize() + " bytes");
        }
        return new Tensor(segment, dims, Layout.plain(), strides.clone(), offset);
    }

    /**
     * The same contiguous plain elements under another shape with as many elements, without copying
     * (a flatten: {@code N x C x H x W} as {@code N x CHW}).
     */
    public Tensor reshape(int... shape) {
        int[] dims = checkShape(shape);
        if (layout.isBlocked() || !isContiguous() || elementCount(dims) != elementCount()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " cannot view the "
                    + (layout.isBlocked() ? layout + " " : isContiguous() ? "" : "non-contiguous ")
                    + "tensor of shape " + Arrays.toString(this.shape));
        }
        return new Tensor(segment, dims, Layout.plain(), rowMajorStrides(dims), offset);
    }

    /** Where the elements lie in memory. */
    public Layout layout() {
        return layout;
    }

    /** The memory behind this tensor (the whole segment it was created on). */
    public MemorySegment segment() {
        return segment;
    }

    /** Byte offset of element (0, 0, ...) in {@link #segment()}. */
    public long byteOffset() {
        return offset * Float.BYTES;
    }

    public int rank() {
        return shape.length;
    }

    public int dim(int axis) {
        return shape[axis];
    }

    public int[] shape() {
        return shape.clone();
    }

    /** The element strides of a plain tensor; a channel-blocked one has none (its layout places the elements). */
    public long[] strides() {
        if (strides == null) {
            throw new IllegalStateException("a " + layout + " tensor has no strides: its layout places the elements");
        }
        return strides.clone();
    }

    /** Logical elements: the product of the shape (a blocked tensor's padding channels not counted). */
    public long elementCount() {
        return elementCount(shape);
    }

    /** Bytes of memory a dense tensor of this shape and layout occupies (padding channels included). */
    public long storageBytes() {
        return layout.storageElements(shape) * Float.BYTES;
    }

    /**
     * True when the elements are dense in their layout: row-major (C order) when plain, always when
     * channel-blocked. The kernels need this.
     */
    public boolean isContiguous() {
        return contiguous;
    }

    /** True while the memory can still be used (its arena is open). */
    public boolean isAlive() {
        return segment.scope().isAlive();
    }

    /**
     * Fails with a clear message if the memory was released, or belongs to another thread's
     * confined arena. Kernels call this for every tensor before they touch any memory.
     */
    public void requireAlive(String name) {
        if (!isAlive()) {
            throw new IllegalStateException(name + ": the tensor's memory was released (its Arena is closed)");
        }
        if (!segment.isAccessibleBy(Thread.currentThread())) {
            throw new WrongThreadException(name + ": the tensor's memory is confined to another thread ("
                    + "Arena.ofConfined()); allocate it in Arena.ofShared() to use it from " + Thread.currentThread());
        }
    }

    public float get(int... index) {
        requireAlive("tensor");
        return segment.get(FLOAT, Float.BYTES * elementIndex(index));
    }

    public void set(float value, int... index) {
        requireAlive("tensor");
        segment.set(FLOAT, Float.BYTES * elementIndex(index), value);
    }

    /** The element at row-major position {@code i}, whatever the strides. */
    public float getFlat(long i) {
        requireAlive("tensor");
        return readFlat(i);
    }

    /** Sets the element at row-major position {@code i}, whatever the strides. */
    public void setFlat(long i, float value) {
        requireAlive("tensor");
        writeFlat(i, value);
    }

    private float readFlat(long i) {
        return segment.get(FLOAT, Float.BYTES * flatToElement(i));
    }

    private void writeFlat(long i, float value) {
        segment.set(FLOAT, Float.BYTES * flatToElement(i), value);
    }

    /** A copy of the elements in row-major order. */
    public float[] toArray() {
        requireAlive("tensor");
        long count = elementCount();
        if (count > Integer.MAX_VALUE - 8) {
            throw new IllegalStateException("tensor of " + count + " elements does not fit in a Java array");
        }
        float[] out = new float[(int) count];
        if (isContiguous() && layout.isPlain()) {
            MemorySegment.copy(segment, FLOAT, byteOffset(), out, 0, out.length);
        } else {
            for (int i = 0; i < out.length; i++) {
                out[i] = readFlat(i);
            }
        }
        return out;
    }

    /** Copies {@code values} (row-major) into this tensor. */
    public Tensor copyFrom(float[] values) {
        requireAlive("tensor");
        if (values.length != elementCount()) {
            throw new IllegalArgumentException("array of " + values.length + " floats does not match shape "
                    + Arrays.toString(shape));
        }
        if (isContiguous() && layout.isPlain()) {
            MemorySegment.copy(values, 0, segment, FLOAT, byteOffset(), values.length);
        } else {
            for (int i = 0; i < values.length; i++) {
                writeFlat(i, values[i]);
            }
        }
        return this;
    }

    /** Sets every element to {@code value} (a blocked tensor's padding channels stay zero). */
    public Tensor fill(float value) {
        requireAlive("tensor");
        long count = elementCount();
        for (long i = 0; i < count; i++) {
            writeFlat(i, value);
        }
        return this;
    }

    /**
     * Copies every element into {@code target}, which has this shape and any layout: a reorder
     * between layouts (plain to channel-blocked and back, one block size to another), or a plain copy.
     * Row by row on the calling thread; the convolution and the layers reorder their own tensors
     * with their faster, parallel kernels. The padding channels of a blocked target are set to zero.
     */
    public void copyTo(Tensor target) {
        Objects.requireNonNull(target, "target");
        requireAlive("tensor");
        target.requireAlive("target");
        if (!Arrays.equals(shape, target.shape)) {
            throw new IllegalArgumentException("target: shape " + Arrays.toString(target.shape) + " differs from "
                    + Arrays.toString(shape));
        }
        if (layout.equals(target.layout) && isContiguous() && target.isContiguous()) {
            MemorySegment.copy(segment, byteOffset(), target.segment, target.byteOffset(), storageBytes());
            return;
        }
        if (shape.length != 4 || (!isContiguous() && layout.isPlain()) || (!target.isContiguous() && target.layout.isPlain())) {
            for (long i = 0, count = elementCount(); i < count; i++) {
                target.writeFlat(i, readFlat(i));
            }
            return;
        }
        int n = shape[0], c = shape[1], h = shape[2], w = shape[3];
        float[] row = new float[w];
        for (int in = 0; in < n; in++) {
            for (int ic = 0; ic < c; ic++) {
                for (int ih = 0; ih < h; ih++) {
                    readRow(in, ic, ih, row);
                    target.writeRow(in, ic, ih, row);
                }
            }
        }
        target.zeroPaddingChannels();
    }

    /** Row (n, c, h) of a dense 4-D tensor into {@code row}. */
    private void readRow(int n, int c, int h, float[] row) {
        long at = byteOffset() + layout.index(shape, n, c, h, 0) * Float.BYTES;
        if (layout.isPlain()) {
            MemorySegment.copy(segment, FLOAT, at, row, 0, row.length);
        } else {
            long step = (long) layout.block() * Float.BYTES;
            for (int x = 0; x < row.length; x++) {
                row[x] = segment.get(FLOAT, at + x * step);
            }
        }
    }

    private void writeRow(int n, int c, int h, float[] row) {
        long at = byteOffset() + layout.index(shape, n, c, h, 0) * Float.BYTES;
        if (layout.isPlain()) {
            MemorySegment.copy(row, 0, segment, FLOAT, at, row.length);
        } else {
            long step = (long) layout.block() * Float.BYTES;
            for (int x = 0; x < row.length; x++) {
                segment.set(FLOAT, at + x * step, row[x]);
            }
        }
    }

    /** Zeroes the lanes past the last channel of a blocked tensor's last block. */
    private void zeroPaddingChannels() {
        int b = layout.block(), c = shape.length == 4 ? shape[1] : 0;
        if (layout.isPlain() || c % b == 0) {
            return;
        }
        long pixels = (long) shape[2] * shape[3];
        for (int n = 0; n < shape[0]; n++) {
            long first = byteOffset() + layout.index(shape, n, c - c % b, 0, 0) * Float.BYTES;
            for (long p = 0; p < pixels; p++) {
                for (int lane = c % b; lane < b; lane++) {
                    segment.set(FLOAT, first + (p * b + lane) * Float.BYTES, 0f);
                }
            }
        }
    }

    /** True when {@code other} has exactly this shape. */
    public boolean hasShape(int... dims) {
        return Arrays.equals(shape, dims);
    }

    /** True when {@code other} has this tensor's logical shape (any layout); allocates nothing. */
    public boolean hasShapeOf(Tensor other) {
        return Arrays.equals(shape, other.shape);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape) + (layout.isBlocked() ? " " + layout : "");
    }

    private long elementIndex(int[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has rank " + index.length
                    + ", tensor has shape " + Arrays.toString(shape));
        }
        for (int d = 0; d < shape.length; d++) {
            if (index[d] < 0 || index[d] >= shape[d]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape "
                        + Arrays.toString(shape));
            }
        }
        if (layout.isBlocked()) {
            return offset + layout.index(shape, index[0], index[1], index[2], index[3]);
        }
        long at = offset;
        for (int d = 0; d < shape.length; d++) {
            at += index[d] * strides[d];
        }
        return at;
    }

    private long flatToElement(long flat) {
        if (layout.isBlocked()) {
            int w = (int) (flat % shape[3]);
            flat /= shape[3];
            int h = (int) (flat % shape[2]);
            flat /= shape[2];
            return offset + layout.index(shape, (int) (flat / shape[1]), (int) (flat % shape[1]), h, w);
        }
        long at = offset;
        for (int d = shape.length - 1; d >= 0; d--) {
            at += (flat % shape[d]) * strides[d];
            flat /= shape[d];
        }
        return at;
    }

    private static int[] checkShape(int[] shape) {
        Objects.requireNonNull(shape, "shape");
        for (int d : shape) {
            if (d <= 0) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has a non-positive dimension");
            }
        }
        return shape.clone();
    }

    private static long elementCount(int[] shape) {
        long count = 1;
        for (int d : shape) {
            try {
                count = Math.multiplyExact(count, d);
            } catch (ArithmeticException e) {
                throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has more than "
                        + Long.MAX_VALUE + " elements");
            }
        }
        return count;
    }

    /** The bytes a dense tensor of {@code shape} in {@code layout} needs; fails if that does not fit in a long. */
    private static long byteSize(Layout layout, int[] shape) {
        layout.requireFits(shape);
        long count;
        try {
            count = layout.storageElements(shape);
        } catch (ArithmeticException e) {
            count = Long.MAX_VALUE;
        }
        if (count > Long.MAX_VALUE / Float.BYTES) {
            throw new IllegalArgumentException("shape " + Arrays.toString(shape) + " has " + count
                    + " elements, more bytes than a memory segment can hold");
        }
        return count * Float.BYTES;
    }

    static long[] rowMajorStrides(int[] shape) {
        long[] strides = new long[shape.length];
        long stride = 1;
        for (int d = shape.length - 1; d >= 0; d--) {
            strides[d] = stride;
            stride *= shape[d];
        }
        return strides;
    }
}
