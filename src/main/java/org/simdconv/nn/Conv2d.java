package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.conv.Conv2dOptions;
import org.simdconv.conv.Conv2dPlan;
import org.simdconv.conv.Padding;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * A convolution layer, as PyTorch's {@code nn.Conv2d}: {@code Z = W * A + b} (seed 001, 17.1.6)
 * with weights {@code out x in/groups x kh x kw} (OIHW) and one bias per filter, on the fast
 * convolution of {@link org.simdconv.conv}. For each input shape it keeps a {@link Conv2dPlan}
 * (kernels chosen once, weights packed once per optimiser step), and its output in the layout the
 * plan prefers, which the ReLU and pooling after it keep.
 */
public final class Conv2d extends Layer {

    private final int in;
    private final int out;
    private final int kh;
    private final int kw;
    private final Conv2dOptions options;
    private final boolean bias;
    private final PerShape<Buffers> perShape = new PerShape<>();
    private final Function<int[], Buffers> make = Buffers::new;
    private final Workspace workspace = new Workspace();
    private org.simdconv.conv.Conv2d convolution;
    private Parameter weight;
    private Parameter biasParameter;
    private Buffers last;
    private Tensor input;

    /** {@code in} channels to {@code out}, square {@code kernel}, stride 1, no padding, with a bias. */
    public Conv2d(int in, int out, int kernel) {
        this(in, out, kernel, Conv2dOptions.defaults());
    }

    /** {@code in} channels to {@code out}, square {@code kernel}, stride 1, {@code padding} on every side. */
    public static Conv2d padded(int in, int out, int kernel, int padding) {
        return new Conv2d(in, out, kernel, Conv2dOptions.defaults().withPadding(Padding.of(padding)));
    }

    /** {@code in} channels to {@code out}, square {@code kernel}, the given stride, padding, dilation, groups. */
    public Conv2d(int in, int out, int kernel, Conv2dOptions options) {
        this(in, out, kernel, kernel, options, true);
    }

    /** The general form: kernel {@code kh x kw}, and a bias or none. */
    public Conv2d(int in, int out, int kh, int kw, Conv2dOptions options, boolean bias) {
        if (in < 1 || out < 1 || kh < 1 || kw < 1) {
            throw new IllegalArgumentException("Conv2d: in, out and the kernel size must be >= 1, got in=" + in
                    + ", out=" + out + ", kernel=" + kh + "x" + kw);
        }
        if (options.groups() > 1 && (in % options.groups() != 0 || out % options.groups() != 0)) {
            throw new IllegalArgumentException("Conv2d: groups=" + options.groups() + " must divide in=" + in
                    + " and out=" + out);
        }
        this.in = in;
        this.out = out;
        this.kh = kh;
        this.kw = kw;
        this.options = options;
        this.bias = bias;
    }

    private int[] weightShape() {
        return new int[] {out, in / options.groups(), kh, kw};
    }

    @Override
    public int[] outputShape(int... inputShape) {
        if (inputShape.length != 4 || inputShape[1] != in) {
            throw new IllegalArgumentException(this + ": input must be N x " + in + " x H x W, got shape "
                    + java.util.Arrays.toString(inputShape));
        }
        try {
            return Conv2dGeometry.of(inputShape, weightShape(), options).outputShape();
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(this + ": " + e.getMessage(), e);
        }
    }

    @Override
    public long flops(int... inputShape) {
        outputShape(inputShape);
        return Conv2dGeometry.of(inputShape, weightShape(), options).flops();
    }

    @Override
    public List<Parameter> parameters() {
        return bias ? List.of(weight, biasParameter) : List.of(weight);
    }

    @Override
    void attach(Execution execution, Arena arena, String name) {
        super.attach(execution, arena, name);
        convolution = execution.convolution(options);
        weight = parameter(arena, name + ".weight", weightShape());
        biasParameter = bias ? parameter(arena, name + ".bias", out) : null;
    }

    /**
     * PyTorch's default: weights and bias uniform in {@code +-1/sqrt(fan_in)}, {@code fan_in = in/groups
     * * kh * kw} (Kaiming uniform with {@code a = sqrt(5)}).
     */
    @Override
    void initialize(RandomGenerator random) {
        Initialization.pytorchDefault(parameters(), (double) in / options.groups() * kh * kw, random);
    }

    @Override
    Tensor forward(Tensor x) {
        last = perShape.of(x, make);
        input = x;
        last.plan.forward(x, weight.value(), bias ? biasParameter.value() : null, last.output);
        return last.output;
    }

    @Override
    Tensor backward(Tensor gradOutput, boolean inputGradient) {
        requireGradient(gradOutput, last == null ? null : last.output);
        last.plan.backwardWeights(input, gradOutput, weight.grad(), bias ? biasParameter.grad() : null,
                Accumulation.OVERWRITE);
        if (!inputGradient) {
            return null;
        }
        last.gradInput(input);
        last.plan.backwardData(gradOutput, weight.value(), last.gradInput, Accumulation.OVERWRITE);
        return last.gradInput;
    }

    @Override
    void release() {
        perShape.close();
        workspace.release();
        last = null;
        input = null;
    }

    @Override
    public String toString() {
        StringBuilder s = new StringBuilder("Conv2d(").append(in).append(", ").append(out)
                .append(", kernel_size=(").append(kh).append(", ").append(kw).append(")");
        if (options.strideH() != 1 || options.strideW() != 1) {
            s.append(", stride=(").append(options.strideH()).append(", ").append(options.strideW()).append(")");
        }
        if (!(options.padding() instanceof Padding.Valid)) {
            s.append(", padding=").append(options.padding());
        }
        if (options.dilationH() != 1 || options.dilationW() != 1) {
            s.append(", dilation=(").append(options.dilationH()).append(", ").append(options.dilationW()).append(")");
        }
        if (options.groups() != 1) {
            s.append(", groups=").append(options.groups());
        }
        return s.append(bias ? "" : ", bias=False").append(")").toString();
    }

    /** The plan, output and input gradient for one input shape. */
    private final class Buffers implements PerShape.State {
        private final Arena arena = Arena.ofShared();
        final Conv2dPlan plan;
        final Tensor output;
        Tensor gradInput;

        Buffers(int[] inputShape) {
            plan = convolution.plan(convolution.geometry(inputShape, weightShape()), workspace);
            output = Tensor.allocate(arena, plan.preferredLayout(out), plan.geometry().outputShape());
        }

        /** The input gradient, in the layout of {@code x}. */
        void gradInput(Tensor x) {
            if (gradInput == null || !gradInput.layout().equals(x.layout())) {
                gradInput = Tensor.allocate(arena, x.layout(), x.shape());
            }
        }

        @Override
        public void close() {
            plan.close();
            arena.close();
        }
    }
}
