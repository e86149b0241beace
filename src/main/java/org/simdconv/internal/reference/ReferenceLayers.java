package org.simdconv.internal.reference;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import org.simdconv.internal.nn.LayerKernels;
import org.simdconv.internal.nn.PoolProblem;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * The layers' arithmetic exactly as the seeds derive it, on the tensors' values in logical order
 * (so any layout), in double precision, rounded once to float: the oracle of the Vector API path.
 * The SGD step alone is float arithmetic, in the order {@link LayerKernels#sgdStep} fixes, so that
 * both paths agree bit for bit.
 * It runs on the calling thread. {@code argmax} holds, per output element in logical row-major
 * order, the index {@code ih * W + iw} of the input it took.
 */
public final class ReferenceLayers implements LayerKernels {

    @Override
    public void linearForward(Tensor x, Tensor w, Tensor b, Tensor y, Workspace workspace, Parallelism par) {
        int n = x.dim(0), in = x.dim(1), out = w.dim(0);
        float[] xv = x.toArray(), wv = w.toArray(), bv = b == null ? null : b.toArray();
        float[] yv = new float[n * out];
        for (int i = 0; i < n; i++) {
            for (int o = 0; o < out; o++) {
                double sum = bv == null ? 0 : bv[o];
                for (int k = 0; k < in; k++) {
                    sum += (double) xv[i * in + k] * wv[o * in + k];
                }
                yv[i * out + o] = (float) sum;
            }
        }
        y.copyFrom(yv);
    }

    @Override
    public void linearBackwardData(Tensor dy, Tensor w, Tensor dx, Workspace workspace, Parallelism par) {
        int n = dy.dim(0), out = w.dim(0), in = w.dim(1);
        float[] dyv = dy.toArray(), wv = w.toArray(), dxv = new float[n * in];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < in; k++) {
                double sum = 0;
                for (int o = 0; o < out; o++) {
                    sum += (double) dyv[i * out + o] * wv[o * in + k];
                }
                dxv[i * in + k] = (float) sum;
            }
        }
        dx.copyFrom(dxv);
    }

    @Override
    public void linearBackwardWeights(Tensor x, Tensor dy, Tensor dw, Tensor db, Workspace workspace,
                                      Parallelism par) {
        int n = x.dim(0), in = x.dim(1), out = dy.dim(1);
        float[] xv = x.toArray(), dyv = dy.toArray(), dwv = new float[out * in], dbv = new float[out];
        for (int o = 0; o < out; o++) {
            double bias = 0;
            for (int i = 0; i < n; i++) {
                bias += dyv[i * out + o];
            }
            dbv[o] = (float) bias;
            for (int k = 0; k < in; k++) {
                double sum = 0;
                for (int i = 0; i < n; i++) {
                    sum += (double) dyv[i * out + o] * xv[i * in + k];
                }
                dwv[o * in + k] = (float) sum;
            }
        }
        dw.copyFrom(dwv);
        if (db != null) {
            db.copyFrom(dbv);
        }
    }

    @Override
    public void relu(Tensor x, Tensor y, Parallelism par) {
        float[] v = x.toArray();
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.max(v[i], 0f);
        }
        y.copyFrom(v);
    }

    @Override
    public void reluBackward(Tensor x, Tensor dy, Tensor dx, Parallelism par) {
        float[] xv = x.toArray(), g = dy.toArray();
        for (int i = 0; i < g.length; i++) {
            g[i] = xv[i] > 0 ? g[i] : 0f;
        }
        dx.copyFrom(g);
    }

    @Override
    public void maxPool(PoolProblem p, Tensor x, Tensor y, MemorySegment argmax, boolean rectify,
                        Workspace workspace, Parallelism par) {
        float[] xv = x.toArray(), yv = new float[p.n() * p.c() * p.outH() * p.outW()];
        for (int plane = 0; plane < p.n() * p.c(); plane++) {
            for (int oh = 0; oh < p.outH(); oh++) {
                for (int ow = 0; ow < p.outW(); ow++) {
                    float best = Float.NEGATIVE_INFINITY;
                    int at = -1;
                    for (int i = 0; i < p.kh(); i++) {
                        for (int j = 0; j < p.kw(); j++) {
                            int ih = oh * p.sh() - p.ph() + i, iw = ow * p.sw() - p.pw() + j;
                            if (ih < 0 || ih >= p.h() || iw < 0 || iw >= p.w()) {
                                continue; // padding never wins
                            }
                            float v = xv[(plane * p.h() + ih) * p.w() + iw];
                            if (at < 0 || v > best || Float.isNaN(v)) {
                                best = v;
                                at = ih * p.w() + iw;
                            }
                        }
                    }
                    int o = (plane * p.outH() + oh) * p.outW() + ow;
                    yv[o] = rectify ? Math.max(best, 0f) : best;
                    argmax.setAtIndex(ValueLayout.JAVA_INT, o, rectify && !(best > 0) ? -1 : at);
                }
            }
        }
        y.copyFrom(yv);
    }

    @Override
    public void maxPoolBackward(PoolProblem p, Tensor dy, MemorySegment argmax, Tensor dx, Workspace workspace,
                                Parallelism par) {
        float[] g = dy.toArray();
        double[] sums = new double[p.n() * p.c() * p.h() * p.w()];
        for (int plane = 0; plane < p.n() * p.c(); plane++) {
            for (int o = plane * p.outH() * p.outW(); o < (plane + 1) * p.outH() * p.outW(); o++) {
                int at = argmax.getAtIndex(ValueLayout.JAVA_INT, o);
                if (at >= 0) { // -1: a rectified output that took no input
                    sums[plane * p.h() * p.w() + at] += g[o];
                }
            }
        }
        dx.copyFrom(round(sums));
    }

    @Override
    public void avgPool(PoolProblem p, Tensor x, Tensor y, Workspace workspace, Parallelism par) {
        float[] xv = x.toArray(), yv = new float[p.n() * p.c() * p.outH() * p.outW()];
        double area = (double) p.kh() * p.kw();
        for (int plane = 0; plane < p.n() * p.c(); plane++) {
            for (int oh = 0; oh < p.outH(); oh++) {
                for (int ow = 0; ow < p.outW(); ow++) {
                    double sum = 0;
                    for (int i = 0; i < p.kh(); i++) {
                        for (int j = 0; j < p.kw(); j++) {
                            int ih = oh * p.sh() - p.ph() + i, iw = ow * p.sw() - p.pw() + j;
                            if (ih >= 0 && ih < p.h() && iw >= 0 && iw < p.w()) {
                                sum += xv[(plane * p.h() + ih) * p.w() + iw];
                            }
                        }
                    }
                    yv[(plane * p.outH() + oh) * p.outW() + ow] = (float) (sum / area);
                }
            }
        }
        y.copyFrom(yv);
    }

    @Override
    public void avgPoolBackward(PoolProblem p, Tensor dy, Tensor dx, Workspace workspace, Parallelism par) {
        float[] g = dy.toArray();
        double[] sums = new double[p.n() * p.c() * p.h() * p.w()];
        double area = (double) p.kh() * p.kw();
        for (int plane = 0; plane < p.n() * p.c(); plane++) {
            for (int oh = 0; oh < p.outH(); oh++) {
                for (int ow = 0; ow < p.outW(); ow++) {
                    double share = g[(plane * p.outH() + oh) * p.outW() + ow] / area;
                    for (int i = 0; i < p.kh(); i++) {
                        for (int j = 0; j < p.kw(); j++) {
                            int ih = oh * p.sh() - p.ph() + i, iw = ow * p.sw() - p.pw() + j;
                            if (ih >= 0 && ih < p.h() && iw >= 0 && iw < p.w()) {
                                sums[(plane * p.h() + ih) * p.w() + iw] += share;
                            }
                        }
                    }
                }
            }
        }
        dx.copyFrom(round(sums));
    }

    @Override
    public void sgdStep(Tensor p, Tensor grad, Tensor velocity, float lr, float momentum, float weightDecay,
                        boolean first, Parallelism par) {
        float[] pv = p.toArray(), g = grad.toArray(), v = momentum == 0 ? null : velocity.toArray();
        for (int i = 0; i < pv.length; i++) {
            float step = g[i] + pv[i] * weightDecay;
            if (v != null) {
                step = first ? step : v[i] * momentum + step;
                v[i] = step;
            }
            pv[i] = pv[i] - step * lr;
        }
        p.copyFrom(pv);
        if (v != null) {
            velocity.copyFrom(v);
        }
    }

    private static float[] round(double[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = (float) values[i];
        }
        return out;
    }
}
