package org.simdconv.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.simdconv.tensor.Tensor;
import org.simdconv.testing.IdxFiles;

/** IDX files, plain and gzipped, and the data set made of them; every damaged file is refused. */
class IdxTest {

    @TempDir
    Path dir;

    @Test
    void readsPlainAndGzippedFiles() throws IOException {
        byte[] data = {0, 1, 2, (byte) 255, 4, 5};
        byte[] file = IdxFiles.idx(new int[] {3, 2}, data);
        for (byte[] bytes : new byte[][] {file, IdxFiles.gzip(file)}) {
            Path f = Files.write(dir.resolve("x"), bytes);
            Idx.Content c = Idx.read(f);
            assertArrayEquals(new int[] {3, 2}, c.dims());
            assertArrayEquals(data, c.data());
        }
    }

    @Test
    void refusesDamagedFiles() throws IOException {
        byte[] good = IdxFiles.idx(new int[] {2, 2}, new byte[] {1, 2, 3, 4});
        assertRefused(Arrays.copyOf(good, 14), "ends early: 2 of 4 bytes of the data of dimensions [2, 2]");
        assertRefused(Arrays.copyOf(good, good.length + 1), "has bytes after the 4 data bytes");
        assertRefused(Arrays.copyOf(good, 6), "ends early: 2 of 8 bytes of the 2 dimensions");
        byte[] magic = good.clone();
        magic[0] = 7;
        assertRefused(magic, "not an IDX file (it starts with 07 00 08 02");
        byte[] type = good.clone();
        type[2] = 0x0D;
        assertRefused(type, "data type 0x0d is not supported");
        byte[] rank = good.clone();
        rank[3] = 9;
        assertRefused(rank, "rank 9 is not between 1 and 4");
        assertRefused(IdxFiles.idx(new int[] {0, 2}, new byte[0]), "dimension 0 is 0, must be >= 1");
        assertRefused(IdxFiles.idx(new int[] {1 << 16, 1 << 16}, new byte[0]), "hold more than 2^31 bytes");
        byte[] gz = IdxFiles.gzip(good);
        assertRefused(Arrays.copyOf(gz, gz.length - 12), "damaged gzip data");
    }

    private void assertRefused(byte[] bytes, String part) throws IOException {
        Path f = Files.write(dir.resolve("bad"), bytes);
        IOException e = assertThrows(IOException.class, () -> Idx.read(f));
        assertTrue(e.getMessage().startsWith(f.toString()) && e.getMessage().contains(part), e.getMessage());
    }

    /** A tiny data set in Fashion-MNIST's file names: read, batched, pixels scaled as NumPy does. */
    @Test
    void loadsADataSetAndMakesBatches() throws IOException {
        byte[] pixels = new byte[3 * 2 * 2];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 20);
        }
        for (String split : new String[] {"train", "t10k"}) {
            Files.write(dir.resolve(split + "-images-idx3-ubyte.gz"), IdxFiles.gzip(IdxFiles.idx(new int[] {3, 2, 2}, pixels)));
            Files.write(dir.resolve(split + "-labels-idx1-ubyte"), IdxFiles.idx(new int[] {3}, new byte[] {9, 0, 4}));
        }
        FashionMnist.Splits splits = FashionMnist.load(dir);
        assertEquals(3, splits.train().size());
        assertEquals(4, splits.test().label(2));
        try (Arena arena = Arena.ofConfined()) {
            Tensor batch = Tensor.allocate(arena, 2, 1, 2, 2);
            int[] labels = new int[2];
            splits.train().batch(new int[] {2, 0, 1}, 0, batch, labels);
            assertArrayEquals(new int[] {4, 9}, labels);
            float[] v = batch.toArray();
            assertEquals(160 / 255f, v[0]);
            assertEquals(0f, v[4]);
            assertEquals(60 / 255f, v[7]);
        }
    }

    @Test
    void aMissingDataSetSaysHowToGetIt() {
        IOException e = assertThrows(IOException.class, () -> FashionMnist.load(dir.resolve("nowhere")));
        assertTrue(e.getMessage().contains("train-images-idx3-ubyte") && e.getMessage().contains("--data DIR"),
                e.getMessage());
        assertTrue(FashionMnist.INSTALL_COMMAND.contains("dataset-fashion-mnist"));
    }

    @Test
    void labelsOutsideTheClassesAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new ImageDataset(2, 1, 1, new byte[2], new byte[] {3, 12}, 10));
        assertTrue(e.getMessage().contains("label 12 of image 1"), e.getMessage());
    }
}
