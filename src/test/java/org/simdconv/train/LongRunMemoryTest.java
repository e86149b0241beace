package org.simdconv.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.management.ManagementFactory;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.JMException;
import javax.management.ObjectName;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ForkJoinPool;
import org.junit.jupiter.api.Test;
import org.simdconv.conv.Implementation;
import org.simdconv.data.ImageDataset;
import org.simdconv.nn.Execution;
import org.simdconv.nn.Sequential;
import org.simdconv.parallel.Parallelism;
import org.simdconv.testing.RandomImages;

/**
 * Twenty epochs of training keep memory flat: the off-heap memory in use (every arena's allocation,
 * as Native Memory Tracking counts it) is the same after the last epoch as after the second, to the
 * kilobyte, and the heap after a collection grows by less than 1 MiB. Prints both series.
 */
class LongRunMemoryTest {

    /**
     * Off-heap bytes malloc'ed by the JVM for "Other" uses, where Native Memory Tracking counts every
     * arena's allocation ({@code -XX:NativeMemoryTracking=summary}, set for the tests in the pom).
     */
    private static long offHeap() {
        try {
            String summary = (String) ManagementFactory.getPlatformMBeanServer().invoke(
                    new ObjectName("com.sun.management:type=DiagnosticCommand"), "vmNativeMemory",
                    new Object[] {new String[] {"summary"}}, new String[] {String[].class.getName()});
            Matcher other = Pattern.compile("Other \\(reserved=(\\d+)KB").matcher(summary);
            assumeTrue(other.find(), "Native Memory Tracking is off: " + summary.strip());
            return Long.parseLong(other.group(1)) * 1024;
        } catch (JMException e) {
            throw new AssertionError(e);
        }
    }

    private static long heapAfterCollection() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }

    @Test
    void twentyEpochsKeepHeapAndOffHeapFlat() {
        ImageDataset train = RandomImages.of(1000, 1), test = RandomImages.of(300, 2); // 1000 = 15 batches of 64 and one of 40
        List<Long> directs = new ArrayList<>(), heaps = new ArrayList<>();
        try (ForkJoinPool pool = new ForkJoinPool(2);
             Sequential model = Models.seedCnn(new Execution(Implementation.AUTO, Parallelism.on(pool)));
             Trainer trainer = new Trainer(model, TrainingOptions.peerRecipe().withEpochs(20))) {
            for (int epoch = 1; epoch <= 20; epoch++) {
                trainer.epoch(epoch, train, test, new Trainer.Listener() { });
                directs.add(offHeap());
                heaps.add(heapAfterCollection());
            }
        }
        System.out.println("off-heap bytes in use (NMT Other) after each epoch: " + directs);
        System.out.println("heap bytes after a collection, each epoch: " + heaps);
        assertEquals(directs.get(1), directs.get(19), "off-heap memory from epoch 2 to 20: " + directs);
        assertTrue(heaps.get(19) - heaps.get(1) < (1 << 20), "heap from epoch 2 to 20: " + heaps);
    }
}
