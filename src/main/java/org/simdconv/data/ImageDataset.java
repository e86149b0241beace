package org.simdconv.data;

import java.util.Arrays;
import java.util.Objects;
import org.simdconv.tensor.Tensor;

/**
 * Labelled grayscale images held as bytes (a quarter of the memory of floats), turned into float
 * batches on demand: pixel {@code p} becomes {@code p / 255f}, as {@code x.astype(float32) / 255.0}
 * does in NumPy, bit for bit.
 */
public final class ImageDataset {

    private final int count;
    private final int height;
    private final int width;
    private final byte[] pixels;
    private final byte[] labels;
    private final int classes;

    /**
     * {@code count} images of {@code height x width} bytes, row-major one after another, and one label
     * byte per image, each in {@code [0, classes)}.
     */
    public ImageDataset(int count, int height, int width, byte[] pixels, byte[] labels, int classes) {
        Objects.requireNonNull(pixels, "pixels");
        Objects.requireNonNull(labels, "labels");
        if (count < 1 || height < 1 || width < 1 || classes < 2) {
            throw new IllegalArgumentException("count, height, width must be >= 1 and classes >= 2, got count="
                    + count + ", height=" + height + ", width=" + width + ", classes=" + classes);
        }
        if ((long) count * height * width != pixels.length || labels.length != count) {
            throw new IllegalArgumentException(pixels.length + " pixel bytes and " + labels.length + " labels for "
                    + count + " images of " + height + "x" + width);
        }
        for (int i = 0; i < count; i++) {
            if ((labels[i] & 0xFF) >= classes) {
                throw new IllegalArgumentException("label " + (labels[i] & 0xFF) + " of image " + i
                        + " is not a class in [0, " + classes + ")");
            }
        }
        this.count = count;
        this.height = height;
        this.width = width;
        this.pixels = pixels;
        this.labels = labels;
        this.classes = classes;
    }

    public int size() {
        return count;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    public int classes() {
        return classes;
    }

    /** The label of image {@code i}. */
    public int label(int i) {
        return labels[i] & 0xFF;
    }

    /**
     * Fills {@code images} (plain, {@code n x 1 x H x W}) and {@code batchLabels} (length {@code n})
     * with the images {@code order[from] .. order[from + n - 1]}.
     */
    public void batch(int[] order, int from, Tensor images, int[] batchLabels) {
        int n = images.dim(0), plane = height * width;
        if (!images.hasShape(n, 1, height, width) || !images.layout().isPlain() || !images.isContiguous()) {
            throw new IllegalArgumentException("images must be a dense plain N x 1 x " + height + " x " + width
                    + " tensor, got " + images);
        }
        if (batchLabels.length != n || from < 0 || from + n > order.length) {
            throw new IllegalArgumentException("a batch of " + n + " from " + from + " of " + order.length
                    + " indices into " + batchLabels.length + " labels");
        }
        var segment = images.segment();
        long at = images.byteOffset();
        for (int b = 0; b < n; b++) {
            int item = order[from + b];
            int first = item * plane;
            for (int p = 0; p < plane; p++) {
                segment.set(Tensor.FLOAT, at, (pixels[first + p] & 0xFF) / 255f);
                at += Float.BYTES;
            }
            batchLabels[b] = labels[item] & 0xFF;
        }
    }

    /** The images in their stored order: {@code 0, 1, ..., size - 1}. */
    public int[] identityOrder() {
        int[] order = new int[count];
        Arrays.setAll(order, i -> i);
        return order;
    }

    @Override
    public String toString() {
        return count + " images " + height + "x" + width + ", " + classes + " classes";
    }
}
