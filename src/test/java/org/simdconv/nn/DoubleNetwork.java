package org.simdconv.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Reference;

/**
 * A network's forward pass in double precision, written out plainly from the seeds' formulas, for
 * finite differences: the tests build each network twice, as simdconv layers and as these specs,
 * and take the parameters of the first.
 */
final class DoubleNetwork {

    /** One layer: its simdconv form, and its forward pass in double on an NCHW (or N x F) array. */
    sealed interface Spec permits ConvSpec, LinearSpec, ReluSpec, MaxPoolSpec, AvgPoolSpec, FlattenSpec {
        Layer layer();

        int[] outputShape(int[] in);

        double[] forward(double[] x, int[] in, Map<String, double[]> parameters, String name);
    }

    record ConvSpec(int in, int out, int kernel, Conv2dOptions options) implements Spec {
        public Layer layer() {
            return new Conv2d(in, out, kernel, options);
        }

        Conv2dGeometry geometry(int[] shape) {
            return Conv2dGeometry.of(shape, new int[] {out, in / options.groups(), kernel, kernel}, options);
        }

        public int[] outputShape(int[] shape) {
            return geometry(shape).outputShape();
        }

        public double[] forward(double[] x, int[] shape, Map<String, double[]> p, String name) {
            return Reference.forward(geometry(shape), x, p.get(name + ".weight"), p.get(name + ".bias"));
        }
    }

    record LinearSpec(int in, int out) implements Spec {
        public Layer layer() {
            return new Linear(in, out);
        }

        public int[] outputShape(int[] shape) {
            return new int[] {shape[0], out};
        }

        public double[] forward(double[] x, int[] shape, Map<String, double[]> p, String name) {
            double[] w = p.get(name + ".weight"), b = p.get(name + ".bias"), y = new double[shape[0] * out];
            for (int n = 0; n < shape[0]; n++) {
                for (int o = 0; o < out; o++) {
                    double sum = b[o];
                    for (int i = 0; i < in; i++) {
                        sum += x[n * in + i] * w[o * in + i];
                    }
                    y[n * out + o] = sum;
                }
            }
            return y;
        }
    }

    record ReluSpec() implements Spec {
        public Layer layer() {
            return new ReLU();
        }

        public int[] outputShape(int[] shape) {
            return shape;
        }

        public double[] forward(double[] x, int[] shape, Map<String, double[]> p, String name) {
            return Arrays.stream(x).map(v -> Math.max(v, 0)).toArray();
        }
    }

    record MaxPoolSpec(int kernel, int stride, int padding) implements Spec {
        public Layer layer() {
            return new MaxPool2d(kernel, stride, padding);
        }

        public int[] outputShape(int[] shape) {
            return pool(shape, kernel, stride, padding);
        }

        public double[] forward(double[] x, int[] shape, Map<String, double[]> p, String name) {
            return windows(x, shape, kernel, stride, padding, true);
        }
    }

    record AvgPoolSpec(int kernel, int stride, int padding) implements Spec {
        public Layer layer() {
            return new AvgPool2d(kernel, stride, padding);
        }

        public int[] outputShape(int[] shape) {
            return pool(shape, kernel, stride, padding);
        }

        public double[] forward(double[] x, int[] shape, Map<String, double[]> p, String name) {
            return windows(x, shape, kernel, stride, padding, false);
        }
    }

    record FlattenSpec() implements Spec {
        public Layer layer() {
            return new Flatten();
        }

        public int[] outputShape(int[] shape) {
            return new int[] {shape[0], shape[1] * shape[2] * shape[3]};
        }

        public double[] forward(double[] x, int[] shape, Map<String, double[]> p, String name) {
            return x.clone(); // NCHW row-major is already C, H, W order per item
        }
    }

    private final List<Spec> specs;

    DoubleNetwork(Spec... specs) {
        this.specs = List.of(specs);
    }

    /** The simdconv model of these layers. */
    Sequential model(Execution execution) {
        List<Layer> layers = new ArrayList<>();
        for (Spec s : specs) {
            layers.add(s.layer());
        }
        return new Sequential(execution, layers.toArray(Layer[]::new));
    }

    /** The model's parameters, widened to double, by name. */
    static Map<String, double[]> parameters(Sequential model) {
        Map<String, double[]> out = new LinkedHashMap<>();
        for (Parameter p : model.parameters()) {
            float[] v = p.value().toArray();
            double[] d = new double[v.length];
            for (int i = 0; i < v.length; i++) {
                d[i] = v[i];
            }
            out.put(p.name(), d);
        }
        return out;
    }

    /** The logits for input {@code x} of {@code shape}. */
    double[] forward(double[] x, int[] shape, Map<String, double[]> parameters) {
        double[] a = x;
        int[] s = shape;
        for (int i = 0; i < specs.size(); i++) {
            a = specs.get(i).forward(a, s, parameters, Integer.toString(i));
            s = specs.get(i).outputShape(s);
        }
        return a;
    }

    /** Mean softmax cross-entropy of {@code logits} (N x K) for {@code labels}, log-sum-exp in double. */
    static double crossEntropy(double[] logits, int[] labels) {
        int n = labels.length, k = logits.length / n;
        double total = 0;
        for (int i = 0; i < n; i++) {
            double max = Double.NEGATIVE_INFINITY;
            for (int j = 0; j < k; j++) {
                max = Math.max(max, logits[i * k + j]);
            }
            double sum = 0;
            for (int j = 0; j < k; j++) {
                sum += Math.exp(logits[i * k + j] - max);
            }
            total += max + Math.log(sum) - logits[i * k + labels[i]];
        }
        return total / n;
    }

    private static int[] pool(int[] s, int k, int stride, int pad) {
        return new int[] {s[0], s[1], (s[2] + 2 * pad - k) / stride + 1, (s[3] + 2 * pad - k) / stride + 1};
    }

    /** Max (padding never wins) or average (padding counts as zeros) over every window. */
    private static double[] windows(double[] x, int[] s, int k, int stride, int pad, boolean max) {
        int[] o = pool(s, k, stride, pad);
        double[] y = new double[o[0] * o[1] * o[2] * o[3]];
        for (int plane = 0; plane < s[0] * s[1]; plane++) {
            for (int oh = 0; oh < o[2]; oh++) {
                for (int ow = 0; ow < o[3]; ow++) {
                    double acc = max ? Double.NEGATIVE_INFINITY : 0;
                    for (int i = 0; i < k; i++) {
                        for (int j = 0; j < k; j++) {
                            int ih = oh * stride - pad + i, iw = ow * stride - pad + j;
                            if (ih >= 0 && ih < s[2] && iw >= 0 && iw < s[3]) {
                                double v = x[(plane * s[2] + ih) * s[3] + iw];
                                acc = max ? Math.max(acc, v) : acc + v;
                            }
                        }
                    }
                    y[(plane * o[2] + oh) * o[3] + ow] = max ? acc : acc / (k * k);
                }
            }
        }
        return y;
    }
}
