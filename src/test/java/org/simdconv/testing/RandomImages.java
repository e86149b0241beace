package org.simdconv.testing;

import java.util.Random;
import org.simdconv.data.ImageDataset;

/** A data set of random 28x28 images and labels of ten classes, for tests that need training to run, not to learn. */
public final class RandomImages {

    private RandomImages() {
    }

    public static ImageDataset of(int count, long seed) {
        Random random = new Random(seed);
        byte[] pixels = new byte[count * 28 * 28], labels = new byte[count];
        random.nextBytes(pixels);
        for (int i = 0; i < count; i++) {
            labels[i] = (byte) random.nextInt(10);
        }
        return new ImageDataset(count, 28, 28, pixels, labels, 10);
    }
}
