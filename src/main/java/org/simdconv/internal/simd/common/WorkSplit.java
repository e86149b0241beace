package org.simdconv.internal.simd.common;

/**
 * How a pass is cut into tasks. Batch items come first; when there are fewer items than threads,
 * the channels a task writes are split too, so that every thread has work. The split depends only
 * on the sizes and the thread count, never on scheduling.
 */
public final class WorkSplit {

    private WorkSplit() {
    }

    /** Into how many slices to cut {@code channels} so that {@code batch} items feed {@code threads}. */
    public static int channelSplits(int batch, int channels, int threads) {
        return batch >= threads ? 1 : Math.min(channels, Math.ceilDiv(threads, batch));
    }

    /** First index of slice {@code part} when {@code total} indices are cut into {@code parts} slices. */
    public static int start(int total, int parts, int part) {
        return (int) ((long) total * part / parts);
    }
}
