package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.management.BufferPoolMXBean;
import java.lang.management.ManagementFactory;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.Tensor;

/**
 * What a convolution keeps is bounded in bytes and released when no longer needed: a thousand
 * distinct geometries, ten calls of every pass each, through one {@link Conv2d} (as a program whose
 * image sizes vary would call it) on two threads. The plans it keeps stay within its budget, the
 * plans it dropped are collected (no thread, task object or cache keeps them), and heap and
 * native memory after a collection stop growing with the number of geometries.
 */
class BoundedMemoryTest {

    /** The plan budget of the convolution under test: small, so that plans are dropped all along. */
    private static final long BUDGET = 2L << 20;
    /** Heap and native memory may grow by at most this much between the 200th and the 1000th geometry. */
    static final long GROWTH_BOUND = 16L << 20;

    @Test
    void aThousandGeometriesKeepMemoryBounded() throws InterruptedException {
        try (ForkJoinPool pool = new ForkJoinPool(2); Arena arena = Arena.ofShared()) {
            Conv2d conv = Conv2d.create(Conv2dOptions.defaults().withPadding(Padding.same()))
                    .withImplementation(Implementation.SIMD).withParallelism(Parallelism.on(pool))
                    .withPlanCacheBytes(BUDGET);
            Random random = new Random(1000);
            List<WeakReference<Conv2dPlan>> plans = new ArrayList<>();
            long[] used = new long[2];
            for (int geometry = 0; geometry < 1000; geometry++) {
                int c = 1 + random.nextInt(40), k = 1 + random.nextInt(40), r = 1 + 2 * random.nextInt(3);
                int h = 4 + random.nextInt(30), w = 4 + random.nextInt(30) + geometry % 7;
                try (Arena call = Arena.ofShared()) {
                    Tensor x = Tensor.allocate(call, 2, c, h, w).fill(1f);
                    Tensor wt = Tensor.allocate(call, k, c, r, r).fill(0.5f);
                    Tensor y = Tensor.allocate(call, 2, k, h, w), dx = Tensor.allocate(call, 2, c, h, w);
                    Tensor dw = Tensor.allocate(call, k, c, r, r);
                    for (int i = 0; i < 10; i++) {
                        conv.forward(x, wt, null, y);
                        conv.backwardData(y, wt, dx, Accumulation.OVERWRITE);
                        conv.backwardWeights(x, y, dw, null, Accumulation.OVERWRITE);
                    }
                    int pad = (r - 1) / 2; // 'same' at stride 1: the window of (h/2, w/2), clipped to the input
                    int rows = Math.min(h - 1, h / 2 - pad + r - 1) - Math.max(0, h / 2 - pad) + 1;
                    int columns = Math.min(w - 1, w / 2 - pad + r - 1) - Math.max(0, w / 2 - pad) + 1;
                    assertEquals(c * rows * columns * 0.5f, y.get(1, k - 1, h / 2, w / 2), "geometry " + geometry);
                }
                plans.add(new WeakReference<>(conv.plans().lastFor(Tensor.allocate(arena, 2, c, h, w),
                        Tensor.allocate(arena, k, c, r, r))));
                assertTrue(conv.plans().retainedBytes() <= BUDGET + 4L * 1024 * 1024,
                        "plans keep " + conv.plans().retainedBytes() + " bytes");
                if (geometry == 199) {
                    used[0] = memoryAfterCollection();
                }
            }
            used[1] = memoryAfterCollection();
            long alive = plans.stream().filter(p -> p.get() != null).count();
            System.out.printf("1000 geometries: heap+native after GC %.1f MB at the 200th, %.1f MB at the 1000th; "
                    + "%d plans kept (%d bytes), %d reachable%n", used[0] / 1e6, used[1] / 1e6, conv.plans().size(),
                    conv.plans().retainedBytes(), alive);
            assertTrue(alive <= conv.plans().size() + 1, alive + " plans reachable, " + conv.plans().size()
                    + " kept: a dropped plan is held somewhere");
            assertTrue(used[1] - used[0] < GROWTH_BOUND, "heap and native memory grew by " + (used[1] - used[0])
                    + " bytes from the 200th geometry to the 1000th (" + used[0] + " -> " + used[1] + ")");
        }
    }

    /** Heap in use plus native memory reserved (direct buffers and segments), after a collection. */
    static long memoryAfterCollection() throws InterruptedException {
        for (int i = 0; i < 3; i++) {
            System.gc();
            Thread.sleep(50);
        }
        long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
        long direct = ManagementFactory.getPlatformMXBeans(BufferPoolMXBean.class).stream()
                .filter(b -> b.getName().equals("direct")).mapToLong(BufferPoolMXBean::getMemoryUsed).sum();
        return heap + direct;
    }
}
