package org.simdconv.nn;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;
import org.simdconv.tensor.Tensor;

/**
 * Softmax and cross-entropy in one, as PyTorch's {@code nn.CrossEntropyLoss} (mean over the batch):
 * for logits {@code z} of shape {@code N x K} and labels {@code t},
 * <pre>
 *   loss = (1/N) sum_n ( logsumexp(z[n]) - z[n][t[n]] ),   logsumexp(v) = m + log sum_k exp(v[k] - m), m = max_k v[k]
 *   d loss / d z[n][k] = (softmax(z[n])[k] - [k == t[n]]) / N
 * </pre>
 * Subtracting the row's maximum keeps every exponent at most 0, so logits of {@code +-1e4} give
 * finite numbers; the sums are in double. A few values per item: plain Java, no kernel.
 */
public final class CrossEntropyLoss extends Loss {

    public CrossEntropyLoss() {
    }

    /**
     * The mean loss of {@code logits} (plain, {@code N x K}) for {@code labels} (one per item, each in
     * {@code [0, K)}), also computing the gradient {@link #backward()} returns.
     */
    public double forward(Tensor logits, int[] labels) {
        Objects.requireNonNull(logits, "logits");
        Objects.requireNonNull(labels, "labels");
        if (logits.rank() != 2 || !logits.layout().isPlain() || !logits.isContiguous()) {
            throw new IllegalArgumentException("logits must be a dense plain N x K tensor, got " + logits);
        }
        int n = logits.dim(0), k = logits.dim(1);
        if (labels.length != n) {
            throw new IllegalArgumentException("labels: " + labels.length + " labels for " + n + " items of logits "
                    + Arrays.toString(logits.shape()));
        }
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= k) {
                throw new IllegalArgumentException("labels[" + i + "] = " + labels[i] + " is not a class in [0, " + k
                        + ")");
            }
        }
        Tensor gradient = gradientFor(logits);
        MemorySegment z = logits.segment(), g = gradient.segment();
        long at = logits.byteOffset(), gAt = gradient.byteOffset();
        double total = 0;
        for (int i = 0; i < n; i++) {
            long row = at + (long) i * k * Float.BYTES;
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                max = Math.max(max, z.get(Tensor.FLOAT, row + (long) j * Float.BYTES));
            }
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(z.get(Tensor.FLOAT, row + (long) j * Float.BYTES) - max);
            }
            double logSumExp = max + Math.log(sum);
            total += logSumExp - z.get(Tensor.FLOAT, row + (long) labels[i] * Float.BYTES);
            long gRow = gAt + (long) i * k * Float.BYTES;
            for (int j = 0; j < k; j++) {
                double p = Math.exp(z.get(Tensor.FLOAT, row + (long) j * Float.BYTES) - logSumExp);
                g.set(Tensor.FLOAT, gRow + (long) j * Float.BYTES, (float) ((p - (j == labels[i] ? 1 : 0)) / n));
            }
        }
        return total / n;
    }

    @Override
    public String toString() {
        return "CrossEntropyLoss()";
    }
}
