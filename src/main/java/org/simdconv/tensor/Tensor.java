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
 * <p>Shapes are row-major (C order) by default, so a 4-D tensor is NCHW. Kernels require a
 * contiguous tensor ({@link #isContiguous()}); strided views exist for reading and writing
 * other layouts element by element.
 */
public final class Tensor {

    /** Native-order float: what the Vector API loads without a byte swap. */
    public static final ValueLayout.OfFloat FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED;

    /** 64 bytes: one cache line, and one 512-bit vector. */
    public static final long ALIGNMENT = 64;

    private final MemorySegment segment;
    private final int[] shape;
    private final long[] strides;
    private final long offset;
    /** {@link #isContiguous}, decided once: the kernels' entry points ask on every call. */
    private final boolean contiguous;

    private Tensor(MemorySegment segment, int[] shape, long[] strides, long offset) {
        this.segment = segment;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
        this.contiguous = Arrays.equals(strides, rowMajorStrides(shape)) || elementCount(shape) <= 1;
    }

    /** Allocates a zero-filled, contiguous tensor in {@code arena}, aligned to a cache line. */
    public static Tensor allocate(Arena arena, int... shape) {
        Objects.requireNonNull(arena, "arena");
        int[] dims = checkShape(shape);
        MemorySegment segment = arena.allocate(Math.max(Float.BYTES, byteSize(dims)), ALIGNMENT);
        return new Tensor(segment, dims, rowMajorStrides(dims), 0);
    }

    /** Wraps a caller's segment as a contiguous tensor, without copying. */
    public static Tensor wrap(MemorySegment segment, int... shape) {
        Objects.requireNonNull(segment, "segment");
        int[] dims = checkShape(shape);
        long needed = byteSize(dims);
        if (segment.byteSize() < needed) {
            throw new IllegalArgumentException("segment of " + segment.byteSize()
                    + " bytes is too small for shape " + Arrays.toString(dims) + " (" + needed + " bytes)");
        }
        return new Tensor(segment, dims, rowMajorStrides(dims), 0);
    }

    /** Wraps a caller's array as a contiguous tensor, without copying: writes go to the array. */
    public static Tensor wrap(float[] data, int... shape) {
        Objects.requireNonNull(data, "data");
        int[] dims = checkShape(shape);
        if (data.length != elementCount(dims)) {
            throw new IllegalArgumentException("array of " + data.length + " floats does not match shape "
                    + Arrays.toString(dims) + " (" + elementCount(dims) + " elements)");
        }
        return new Tensor(MemorySegment.ofArray(data), dims, rowMajorStrides(dims), 0);
    }

    /**
     * A strided view of a caller's segment: element {@code (i0, i1, ...)} lives at float index
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
        return new Tensor(segment, dims, strides.clone(), offset);
    }

    /**
     * The same contiguous elements under another shape with as many elements, without copying (a
     * channel-blocked tensor with blocks of one channel, {@code N x C x H x W x 1}, is its NCHW
     * tensor {@code N x C x H x W}).
     */
    public Tensor reshape(int... shape) {
        int[] dims = checkShape(shape);
        if (!isContiguous() || elementCount(dims) != elementCount()) {
            throw new IllegalArgumentException("shape " + Arrays.toString(dims) + " cannot view the "
                    + (isContiguous() ? "" : "non-contiguous ") + "tensor of shape " + Arrays.toString(this.shape));
        }
        return new Tensor(segment, dims, rowMajorStrides(dims), offset);
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

    public long[] strides() {
        return strides.clone();
    }

    public long elementCount() {
        return elementCount(shape);
    }

    /** True when the elements are laid out densely in row-major (C) order. */
    public boolean isContiguous() {
        return contiguous;
    }

    /** True while the memory can still be used (its arena is open). */
    public boolean isAlive() {
        return segment.scope().isAlive();
    }

    /**
     * Fails with a clear message if the memory was released. Kernels call this for every tensor
     * before they touch any memory.
     */
    public void requireAlive(String name) {
        if (!isAlive()) {
            throw new IllegalStateException(name + ": the tensor's memory was released (its Arena is closed)");
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
        if (isContiguous()) {
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
        if (isContiguous()) {
            MemorySegment.copy(values, 0, segment, FLOAT, byteOffset(), values.length);
        } else {
            for (int i = 0; i < values.length; i++) {
                writeFlat(i, values[i]);
            }
        }
        return this;
    }

    /** Sets every element to {@code value}. */
    public Tensor fill(float value) {
        requireAlive("tensor");
        long count = elementCount();
        for (long i = 0; i < count; i++) {
            writeFlat(i, value);
        }
        return this;
    }

    /** True when {@code other} has exactly this shape. */
    public boolean hasShape(int... dims) {
        return Arrays.equals(shape, dims);
    }

    @Override
    public String toString() {
        return "Tensor" + Arrays.toString(shape);
    }

    private long elementIndex(int[] index) {
        if (index.length != shape.length) {
            throw new IllegalArgumentException("index " + Arrays.toString(index) + " has rank " + index.length
                    + ", tensor has shape " + Arrays.toString(shape));
        }
        long at = offset;
        for (int d = 0; d < shape.length; d++) {
            if (index[d] < 0 || index[d] >= shape[d]) {
                throw new IndexOutOfBoundsException("index " + Arrays.toString(index) + " is outside shape "
                        + Arrays.toString(shape));
            }
            at += index[d] * strides[d];
        }
        return at;
    }

    private long flatToElement(long flat) {
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

    /** The bytes a contiguous tensor of {@code shape} needs; fails if that does not fit in a long. */
    private static long byteSize(int[] shape) {
        long count = elementCount(shape);
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
