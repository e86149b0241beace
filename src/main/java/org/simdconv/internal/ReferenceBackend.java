package org.simdconv.internal;

import java.util.List;
import org.simdconv.internal.conv.KernelList;
import org.simdconv.internal.nn.LayerKernels;
import org.simdconv.internal.reference.ReferenceConvKernel;
import org.simdconv.internal.reference.ReferenceLayers;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/** The scalar reference: the seed formulas in double precision, on plain tensors, on the calling thread. */
final class ReferenceBackend extends Backend {

    static final String NAME = "scalar-reference";

    private final KernelList convolution = new KernelList(NAME, List.of(new ReferenceConvKernel()));
    private final LayerKernels layers = new ReferenceLayers();

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public KernelList convolution() {
        return convolution;
    }

    @Override
    public LayerKernels layers() {
        return layers;
    }

    @Override
    public int channelBlock() {
        return 1;
    }

    @Override
    public void reorder(Tensor from, Tensor to, Workspace workspace, Parallelism par) {
        from.copyTo(to);
    }

    @Override
    public boolean runsOnCallingThread() {
        return true;
    }
}
