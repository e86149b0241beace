package org.simdconv.nn;

import org.simdconv.tensor.Tensor;

/**
 * A trained tensor of a model and its gradient, under the name PyTorch's {@code state_dict} gives it
 * ({@code 0.weight}, {@code 3.bias}: the layer's index in the {@link Sequential}, then its role). The
 * value is read and written in place by the optimiser; the gradient is that of the last
 * {@link Sequential#backward}, overwritten by each (not accumulated, as PyTorch does until
 * {@code zero_grad}). Both are plain, dense, and live as long as the model.
 */
public final class Parameter {

    private final String name;
    private final Tensor value;
    private final Tensor grad;
    private final Execution execution;

    Parameter(String name, Tensor value, Tensor grad, Execution execution) {
        this.name = name;
        this.value = value;
        this.grad = grad;
        this.execution = execution;
    }

    /** The {@code state_dict} name, such as {@code 0.weight}. */
    public String name() {
        return name;
    }

    /** The values: conv weights OIHW, dense weights {@code [out, in]}, biases {@code [out]}. */
    public Tensor value() {
        return value;
    }

    /** The gradient of the loss with respect to {@link #value()}, of the last backward pass. */
    public Tensor grad() {
        return grad;
    }

    /** The kernels and threads of the model this parameter belongs to. */
    public Execution execution() {
        return execution;
    }

    @Override
    public String toString() {
        return name + " " + java.util.Arrays.toString(value.shape());
    }
}
