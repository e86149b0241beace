package org.simdconv.cli;

import java.io.PrintWriter;
import java.util.Locale;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;
import org.simdconv.train.Trainer;

/**
 * What {@code train} shows while it trains: on a terminal, a progress bar per epoch (batches, loss,
 * images per second, time left) drawn by the {@code progressbar} library; elsewhere (a pipe, a file,
 * CI logs) a plain line every tenth of an epoch. After each epoch, one line with the test figures.
 */
abstract class TrainingProgress implements Trainer.Listener {

    protected final PrintWriter out;

    TrainingProgress(PrintWriter out) {
        this.out = out;
    }

    /** A bar when standard output is a terminal, else plain lines. */
    static TrainingProgress forOutput(PrintWriter out, boolean terminal) {
        return terminal ? new Bar(out) : new Lines(out);
    }

    @Override
    public void epochDone(Trainer.EpochResult r) {
        out.println(String.format(Locale.ROOT,
                "epoch %d: train %.1f s, %.0f img/s, train loss %.4f | test loss %.4f, test accuracy %.2f%%",
                r.epoch(), r.trainSeconds(), r.imagesPerSecond(), r.trainLoss(), r.testLoss(),
                100 * r.testAccuracy()));
        out.flush();
    }

    static String status(double loss, double imagesPerSecond) {
        return String.format(Locale.ROOT, "loss %.4f, %.0f img/s", loss, imagesPerSecond);
    }

    /** The terminal form: one bar per epoch. */
    private static final class Bar extends TrainingProgress {
        private ProgressBar bar;

        Bar(PrintWriter out) {
            super(out);
        }

        @Override
        public void epochStarted(int epoch, int epochs, int batches, double learningRate) {
            out.flush();
            bar = new ProgressBarBuilder()
                    .setTaskName(String.format(Locale.ROOT, "epoch %d/%d", epoch, epochs))
                    .setInitialMax(batches)
                    .setStyle(ProgressBarStyle.COLORFUL_UNICODE_BLOCK)
                    .setUpdateIntervalMillis(200)
                    .setUnit(" batches", 1)
                    .showSpeed()
                    .build();
        }

        @Override
        public void batchDone(int epoch, int batch, int batches, double meanLoss, double imagesPerSecond) {
            bar.stepTo(batch);
            bar.setExtraMessage(status(meanLoss, imagesPerSecond));
        }

        @Override
        public void epochDone(Trainer.EpochResult r) {
            bar.close();
            super.epochDone(r);
        }
    }

    /** The form for logs: a line at every tenth of an epoch. */
    private static final class Lines extends TrainingProgress {
        private long start;

        Lines(PrintWriter out) {
            super(out);
        }

        @Override
        public void epochStarted(int epoch, int epochs, int batches, double learningRate) {
            start = System.nanoTime();
            out.println(String.format(Locale.ROOT, "epoch %d/%d: %d batches, learning rate %.4g", epoch, epochs,
                    batches, learningRate));
            out.flush();
        }

        @Override
        public void batchDone(int epoch, int batch, int batches, double meanLoss, double imagesPerSecond) {
            if (batch * 10L / batches != (batch - 1) * 10L / batches || batch == batches) {
                double elapsed = (System.nanoTime() - start) / 1e9;
                double left = elapsed / batch * (batches - batch);
                out.println(String.format(Locale.ROOT, "  batch %d/%d  %s  ETA %d:%02d", batch, batches,
                        status(meanLoss, imagesPerSecond), (long) left / 60, (long) left % 60));
                out.flush();
            }
        }
    }
}
