package org.simdconv.nn;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.List;
import java.util.function.Function;
import java.util.random.RandomGenerator;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * A fully connected layer, {@code y = x W^T + b} (seed 003), as PyTorch's {@code nn.Linear}:
 * {@code x} is {@code N x in}, {@code W} is {@code out x in}, {@code b} has {@code out} values. The
 * backward pass writes {@code dW = dy^T x} and {@code db = sum_n dy[n]}, and returns {@code dx = dy W}.
 * The three products run as register-blocked matrix kernels on the Vector API path.
 */
public final class Linear extends Layer {

    private final int in;
    private final int out;
    private final boolean bias;
    private final PerShape<Buffers> perShape = new PerShape<>();
    private final Function<int[], Buffers> make = Buffers::new;
    private final Workspace workspace = new Workspace();
    private Parameter weight;
    private Parameter biasParameter;
    private Buffers last;
    private Tensor input;

    /** {@code in} features to {@code out}, with a bias. */
    public Linear(int in, int out) {
        this(in, out, true);
    }

    /** {@code in} features to {@code out}, with a bias or without. */
    public Linear(int in, int out, boolean bias) {
        if (in < 1 || out < 1) {
            throw new IllegalArgumentException("Linear: in and out must be >= 1, got in=" + in + ", out=" + out);
        }
        this.in = in;
        this.out = out;
        this.bias = bias;
    }

    @Override
    public int[] outputShape(int... inputShape) {
        if (inputShape.length != 2 || inputShape[1] != in) {
            throw new IllegalArgumentException(this + ": input must be N x " + in + ", got shape "
                    + Arrays.toString(inputShape));
        }
        return new int[] {inputShape[0], out};
    }

    @Override
    public long flops(int... inputShape) {
        return 2L * outputShape(inputShape)[0] * in * out;
    }

    @Override
    public List<Parameter> parameters() {
        return bias ? List.of(weight, biasParameter) : List.of(weight);
    }

    @Override
    void attach(Execution execution, Arena arena, String name) {
        super.attach(execution, arena, name);
        weight = parameter(arena, name + ".weight", out, in);
        biasParameter = bias ? parameter(arena, name + ".bias", out) : null;
    }

    /** PyTorch's default: weights and bias uniform in {@code +-1/sqrt(in)}. */
    @Override
    void initialize(RandomGenerator random) {
        Initialization.pytorchDefault(parameters(), in, random);
    }

    @Override
    Tensor forward(Tensor x) {
        last = perShape.of(x, make);
        input = x;
        backend().layers().linearForward(x, weight.value(), bias ? biasParameter.value() : null, last.output,
                workspace, execution().parallelism());
        return last.output;
    }

    @Override
    Tensor backward(Tensor gradOutput, boolean inputGradient) {
        requireGradient(gradOutput, last == null ? null : last.output);
        var kernels = backend().layers();
        kernels.linearBackwardWeights(input, gradOutput, weight.grad(), bias ? biasParameter.grad() : null,
                workspace, execution().parallelism());
        if (!inputGradient) {
            return null;
        }
        kernels.linearBackwardData(gradOutput, weight.value(), last.gradInput, workspace, execution().parallelism());
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
        return "Linear(in_features=" + in + ", out_features=" + out + ", bias=" + (bias ? "True" : "False") + ")";
    }

    /** Output and input gradient for one batch size. */
    private final class Buffers implements PerShape.State {
        private final Arena arena = Arena.ofShared();
        final Tensor output;
        final Tensor gradInput;

        Buffers(int[] inputShape) {
            output = Tensor.allocate(arena, inputShape[0], out);
            gradInput = Tensor.allocate(arena, inputShape[0], in);
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
