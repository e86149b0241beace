package org.simdconv.conv;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Function;
import org.simdconv.internal.Backends;

/**
 * One convolution problem for the tests: shapes and options, plus a seeded generator of random
 * problems that covers what the kernels must get right: batch 1, channel and width counts that are
 * not multiples of the vector width, strides 1-3 (unequal in the two axes), asymmetric padding and
 * padding wider than the kernel, dilation, groups and depthwise, 1x1 and 7x7 kernels, kernels
 * larger than the unpadded input.
 */
record ConvCase(int[] inputShape, int[] weightShape, Conv2dOptions options) {

    /** The channel block of the blocked layout on this machine (the preferred species' float lanes). */
    static final int LANES = Backends.simdAvailable() ? Backends.simd().channelBlock() : 8;

    Conv2dGeometry geometry() {
        return Conv2dGeometry.of(inputShape, weightShape, options);
    }

    @Override
    public String toString() {
        return geometry().toString();
    }

    /** {@code count} valid problems of at most {@code maxFlops}, the same ones for the same seed. */
    static List<ConvCase> random(long seed, int count, long maxFlops) {
        return draw(seed, count, maxFlops, ConvCase::randomCandidate);
    }

    /** {@code count} candidates of at most {@code maxFlops} (empty outputs are drawn again). */
    private static List<ConvCase> draw(long seed, int count, long maxFlops, Function<Random, ConvCase> candidates) {
        Random random = new Random(seed);
        List<ConvCase> cases = new ArrayList<>();
        while (cases.size() < count) {
            ConvCase candidate = candidates.apply(random);
            try {
                if (candidate.geometry().flops() <= maxFlops) {
                    cases.add(candidate);
                }
            } catch (IllegalArgumentException emptyOutput) {
                // An empty output is a legitimate rejection: draw again.
            }
        }
        return cases;
    }

    /**
     * Problems with many channels, for the channel-blocked kernels: channels per group around the
     * vector widths (tails of every size), groups whose channels fill blocks of 16, and four blocks
     * of the lanes of this machine (the blocked kernels then stage four blocks per pixel).
     */
    static List<ConvCase> randomWide(long seed, int count, long maxFlops) {
        return draw(seed, count, maxFlops, ConvCase::randomWideCandidate);
    }

    /**
     * First layers: a few input channels (fewer than half a block, so blocked tensors keep them
     * plain) into four or eight blocks of filters, for the kernel that broadcasts one input channel
     * to four blocks at a time (it runs with 512-bit vectors; elsewhere these go to the others).
     */
    static List<ConvCase> randomFirstLayers(long seed, int count, long maxFlops) {
        return draw(seed, count, maxFlops, random -> {
            int c = 1 + random.nextInt(Math.max(1, LANES / 2 - 1));
            int k = 4 * LANES * pick(random, 1, 1, 2);
            int r = pick(random, 1, 3, 5, 7);
            int s = random.nextInt(4) == 0 ? pick(random, 1, 3, 7) : r;
            int h = 1 + random.nextInt(random.nextBoolean() ? 9 : 24);
            int w = 1 + random.nextInt(random.nextBoolean() ? 12 : 30);
            return withRandomOptions(random, pick(random, 1, 2, 3), 1, c, k, r, s, h, w);
        });
    }

    /**
     * 1x1 layers at stride 1 without padding, whose channels and filters fill one to eight blocks,
     * for the kernel that runs them as matrix products over pixels: planes of 1 to 280 pixels, so
     * that the tiles' tails (six pixels, three vectors, one vector) and their chunks (64, 96 and
     * 192 pixels) end anywhere; dilation now and then (it changes nothing in a 1x1 kernel).
     */
    static List<ConvCase> randomPointwise(long seed, int count, long maxFlops) {
        return draw(seed, count, maxFlops, random -> {
            int c = LANES * pick(random, 1, 2, 3, 4, 5, 8);
            int k = LANES * pick(random, 1, 2, 3, 4, 5, 8);
            int h = 1 + random.nextInt(random.nextBoolean() ? 5 : 14);
            int w = 1 + random.nextInt(random.nextBoolean() ? 7 : 20);
            Conv2dOptions options = Conv2dOptions.defaults().withDilation(random.nextInt(4) == 0 ? 2 : 1, 1);
            return new ConvCase(new int[] {pick(random, 1, 1, 2, 3), c, h, w}, new int[] {k, c, 1, 1}, options);
        });
    }

    /**
     * Kernels as large as their input, without padding, in one group: one output pixel per item,
     * a fully connected layer written as a convolution (a classifier over a 1x1 plane, or VGG's
     * first dense layer as a 7x7 kernel over 7x7). Channels and filters of every size, whole blocks
     * among them (a 1x1 plane of whole blocks is taken blocked), strides that change nothing.
     */
    static List<ConvCase> randomFullyConnected(long seed, int count, long maxFlops) {
        return draw(seed, count, maxFlops, random -> {
            int c = random.nextBoolean() ? LANES * pick(random, 1, 2, 4) : 1 + random.nextInt(3 * LANES);
            int k = random.nextBoolean() ? LANES * pick(random, 1, 2, 3) : 1 + random.nextInt(3 * LANES);
            int r = random.nextInt(3) == 0 ? 1 + random.nextInt(7) : 1;
            int s = random.nextInt(3) == 0 ? 1 + random.nextInt(7) : r;
            Conv2dOptions options = Conv2dOptions.defaults().withStride(pick(random, 1, 1, 2));
            return new ConvCase(new int[] {pick(random, 1, 2, 3, 5, 8, 17), c, r, s}, new int[] {k, c, r, s}, options);
        });
    }

    /** The network layer lists of {@code src/test/resources/shapes} (oneDNN's benchdnn lists). */
    static final List<String> NETWORKS = List.of("resnet50.csv", "mobilenet_v1.csv", "vgg11_alexnet.csv",
            "conv-shapes.csv");

    /**
     * The layers of real networks ({@link #NETWORKS}) as the kernels that carry the speed see them,
     * at a cost the oracle can afford: their channels (up to 512, and on every fourth layer a few
     * fewer, so that the last block is partial), kernel, stride, padding and groups as listed;
     * batch 8, or 16 on every third layer; planes cut down until a pass is at most
     * {@code maxFlops}, keeping at least two output rows and columns (so that both a layer's borders
     * and its interior are computed). With 512-channel layers the planes are small; the random
     * cases have the large planes.
     */
    static List<ConvCase> realLayers(long maxFlops) {
        List<ConvCase> cases = new ArrayList<>();
        int index = 0;
        for (String file : NETWORKS) {
            for (String[] f : rows(file)) {
                int c = Integer.parseInt(f[2]), h = Integer.parseInt(f[3]), k = Integer.parseInt(f[5]);
                int r = Integer.parseInt(f[6]), s = Integer.parseInt(f[7]), stride = Integer.parseInt(f[8]);
                int groups = Integer.parseInt(f[10]);
                int padH = f.length > 11 ? Integer.parseInt(f[11]) : Integer.parseInt(f[9]);
                int padW = f.length > 12 ? Integer.parseInt(f[12]) : Integer.parseInt(f[9]);
                int n = index % 3 == 2 ? 16 : 8;
                boolean depthwise = groups == c && groups == k && groups > 1;
                int tail = !depthwise && groups == 1 && c >= 2 * LANES && index % 4 == 1 ? 3 : 0;
                int cc = Math.min(c, 512) - tail, kk = Math.min(k, 512) - (tail > 0 ? 1 : 0);
                int gg = depthwise ? cc : groups;
                if (depthwise) {
                    kk = cc;
                }
                Conv2dOptions options = Conv2dOptions.defaults().withStride(stride).withGroups(gg)
                        .withPadding(Padding.of(padH, padW));
                int outH = Math.min(7, Math.max(2, (h + 2 * padH - r) / stride + 1));
                int outW = outH + 2;
                ConvCase layer;
                do {
                    int inH = Math.max(1, (outH - 1) * stride + r - 2 * padH);
                    int inW = Math.max(1, (outW - 1) * stride + s - 2 * padW);
                    layer = new ConvCase(new int[] {n, cc, inH, inW}, new int[] {kk, cc / gg, r, s}, options);
                    if (outH > 2 && layer.geometry().flops() > maxFlops) {
                        outH--;
                        outW = outH + 1;
                    } else {
                        break;
                    }
                } while (true);
                cases.add(layer);
                index++;
            }
        }
        return cases;
    }

    /** The data rows of a shapes file, split at commas. */
    private static List<String[]> rows(String file) {
        try (var in = ConvCase.class.getResourceAsStream("/shapes/" + file)) {
            if (in == null) {
                throw new IllegalStateException("test resource /shapes/" + file + " is missing");
            }
            List<String[]> rows = new ArrayList<>();
            for (String line : new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8).split("\n")) {
                String t = line.strip();
                if (!t.isEmpty() && !t.startsWith("#") && !t.startsWith("name,")) {
                    rows.add(t.split(","));
                }
            }
            return rows;
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    private static ConvCase randomWideCandidate(Random random) {
        int n = pick(random, 1, 1, 2, 3);
        int groups = pick(random, 1, 1, 1, 2, 3);
        int cPerGroup = groups == 1 ? pick(random, 4, 5, 7, 8, 9, 12, 16, 17, 24, 31, 32, 33, 4 * LANES - 1, 4 * LANES)
                : pick(random, 16, 32, 4 * LANES);
        int kPerGroup = groups == 1 ? pick(random, 4, 6, 8, 9, 15, 16, 17, 24, 32, 40, 4 * LANES)
                : pick(random, 16, 32, 4 * LANES);
        int r = pick(random, 1, 2, 3, 3, 5);
        int s = random.nextInt(4) == 0 ? pick(random, 1, 2, 3, 5) : r;
        int h = 1 + random.nextInt(random.nextBoolean() ? 10 : 24);
        int w = 1 + random.nextInt(random.nextBoolean() ? 12 : 30);
        return withRandomOptions(random, n, groups, cPerGroup, kPerGroup, r, s, h, w);
    }

    private static ConvCase randomCandidate(Random random) {
        int n = pick(random, 1, 1, 2, 3);
        int groups = pick(random, 1, 1, 1, 2, 3, -1);
        int cPerGroup = pick(random, 1, 2, 3, 4, 5, 7, 17);
        int kPerGroup = pick(random, 1, 2, 3, 5, 6, 16);
        if (groups == -1) { // depthwise, with a channel multiplier now and then
            groups = 1 + random.nextInt(20);
            cPerGroup = 1;
            kPerGroup = pick(random, 1, 1, 2);
        }
        int r = pick(random, 1, 2, 3, 3, 5, 7);
        int s = random.nextInt(4) == 0 ? pick(random, 1, 2, 3, 5, 7) : r;
        int h = 1 + random.nextInt(random.nextBoolean() ? 12 : 40);
        int w = 1 + random.nextInt(random.nextBoolean() ? 20 : 70);
        return withRandomOptions(random, n, groups, cPerGroup, kPerGroup, r, s, h, w);
    }

    /** The case of these sizes with a random stride, dilation and padding. */
    private static ConvCase withRandomOptions(Random random, int n, int groups, int cPerGroup, int kPerGroup, int r,
                                              int s, int h, int w) {
        Conv2dOptions options = Conv2dOptions.defaults()
                .withStride(1 + weighted(random), 1 + weighted(random))
                .withDilation(random.nextInt(4) == 0 ? 2 : 1, random.nextInt(4) == 0 ? 2 : 1)
                .withGroups(groups)
                .withPadding(randomPadding(random, r, s));
        return new ConvCase(new int[] {n, groups * cPerGroup, h, w}, new int[] {groups * kPerGroup, cPerGroup, r, s},
                options);
    }

    private static Padding randomPadding(Random random, int r, int s) {
        return switch (random.nextInt(6)) {
            case 0 -> Padding.valid();
            case 1 -> Padding.same();
            case 2 -> Padding.of(r / 2, s / 2);
            default -> Padding.of(random.nextInt(r + 2), random.nextInt(r + 2), random.nextInt(s + 2), random.nextInt(s + 2));
        };
    }

    /** 0 half the time, else 1 or 2: strides 1, 2 and 3. */
    private static int weighted(Random random) {
        return random.nextBoolean() ? 0 : 1 + random.nextInt(2);
    }

    private static int pick(Random random, int... values) {
        return values[random.nextInt(values.length)];
    }
}
