package org.simdconv.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.Locale;
import org.simdconv.nn.Sequential;
import org.simdconv.train.Trainer;

/**
 * The table {@code train --profile} prints: each layer's forward and backward time per training
 * step in the last epoch, its share of the layers' time, and the rate of its products in GFLOP/s.
 */
final class LayerProfile {

    private LayerProfile() {
    }

    /**
     * Passes {@code shown} every event, and times the layers during each epoch's training steps
     * (the evaluation after them excluded), from zero at each epoch: what is printed is the last
     * epoch's, warmed up.
     */
    static Trainer.Listener timingLastEpoch(Sequential model, Trainer.Listener shown) {
        return new Trainer.Listener() {
            @Override
            public void epochStarted(int epoch, int epochs, int batches, double learningRate) {
                model.startTiming();
                shown.epochStarted(epoch, epochs, batches, learningRate);
            }

            @Override
            public void batchDone(int epoch, int batch, int batches, double meanLoss, double imagesPerSecond) {
                if (batch == batches) {
                    model.timing(false);
                }
                shown.batchDone(epoch, batch, batches, meanLoss, imagesPerSecond);
            }

            @Override
            public void epochDone(Trainer.EpochResult result) {
                shown.epochDone(result);
            }
        };
    }

    static void print(PrintWriter out, List<Sequential.LayerTime> times, List<Trainer.EpochResult> results) {
        double train = results.get(results.size() - 1).trainSeconds();
        long total = 0;
        for (Sequential.LayerTime t : times) {
            total += t.forwardNanos() + t.backwardNanos();
        }
        out.println(String.format(Locale.ROOT, "%-52s %10s %10s %7s %9s %9s", "layer", "fwd ms", "bwd ms", "share",
                "fwd GF/s", "bwd GF/s"));
        for (Sequential.LayerTime t : times) {
            double passes = Math.max(1, t.forwardPasses());
            String rates = "";
            if (t.forwardFlops() > 0) {
                // Backward: the input gradient and the weight gradient, as many operations each as the
                // forward pass; the first layer computes no input gradient.
                double backwardFlops = t.forwardFlops() * (t.index() == 0 ? 1 : 2);
                rates = String.format(Locale.ROOT, "%9.1f %9.1f", t.forwardFlops() / (double) t.forwardNanos(),
                        backwardFlops / Math.max(1, t.backwardNanos()));
            }
            out.println(String.format(Locale.ROOT, "%-52s %10.3f %10.3f %6.1f%% %s", "(" + t.index() + ") " + t.layer(),
                    t.forwardNanos() / 1e6 / passes, t.backwardNanos() / 1e6 / passes,
                    100.0 * (t.forwardNanos() + t.backwardNanos()) / Math.max(1, total), rates));
        }
        out.println(String.format(Locale.ROOT, "the last epoch: layers %.2f s of %.2f s of training (the rest: "
                + "making batches, the loss, the optimiser); ms per training step", total / 1e9, train));
        out.flush();
    }
}
