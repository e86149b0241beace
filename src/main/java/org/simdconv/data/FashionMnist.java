package org.simdconv.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017): 60,000 training and 10,000 test images of 28x28
 * pixels, ten classes of clothing, in IDX files; MNIST's files have the same names and format. The
 * default directory is where the Debian package {@code dataset-fashion-mnist} puts them.
 */
public final class FashionMnist {

    /** Where {@code apt-get install dataset-fashion-mnist} puts the files. */
    public static final Path DEFAULT_DIRECTORY = Path.of("/usr/share/datasets/fashion-mnist");

    /** The command that installs the default data set, printed when it is missing. */
    public static final String INSTALL_COMMAND = "sudo apt-get install -y dataset-fashion-mnist";

    /** Its ten classes, by label. */
    public static final java.util.List<String> CLASS_NAMES = java.util.List.of("T-shirt/top", "Trouser", "Pullover",
            "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    private static final int CLASSES = 10;

    private FashionMnist() {
    }

    /** The training and test sets. */
    public record Splits(ImageDataset train, ImageDataset test) {
    }

    /** A directory without the data set's files; the message says which file and how to install it. */
    public static final class MissingException extends IOException {
        MissingException(String message) {
            super(message);
        }
    }

    /** Reads both splits from {@code directory}. */
    public static Splits load(Path directory) throws IOException {
        return new Splits(load(directory, "train"), load(directory, "t10k"));
    }

    /** Reads one split, {@code train} or {@code t10k}, from {@code directory}. */
    public static ImageDataset load(Path directory, String split) throws IOException {
        Idx.Content images = Idx.read(find(directory, split + "-images-idx3-ubyte"));
        Idx.Content labels = Idx.read(find(directory, split + "-labels-idx1-ubyte"));
        if (images.rank() != 3 || labels.rank() != 1 || images.dim(0) != labels.dim(0)) {
            throw new IOException(directory + ": " + split + " images " + Arrays.toString(images.dims())
                    + " and labels " + Arrays.toString(labels.dims()) + " do not match (need N x H x W and N)");
        }
        return new ImageDataset(images.dim(0), images.dim(1), images.dim(2), images.data(), labels.data(), CLASSES);
    }

    /** {@code name.gz} or {@code name} in {@code directory}. */
    private static Path find(Path directory, String name) throws MissingException {
        for (Path candidate : new Path[] {directory.resolve(name + ".gz"), directory.resolve(name)}) {
            if (Files.isRegularFile(candidate)) {
                return candidate;
            }
        }
        String install = directory.equals(DEFAULT_DIRECTORY)
                ? "; install Fashion-MNIST with: " + INSTALL_COMMAND
                : "; give the directory that holds it with --data DIR";
        throw new MissingException("no " + name + "(.gz) in " + directory + install);
    }
}
