package org.simdconv.internal.simd;

import static org.simdconv.internal.simd.common.Vectors.LANES;
import static org.simdconv.internal.simd.common.Vectors.SPECIES;

import java.util.List;
import org.simdconv.internal.Backend;
import org.simdconv.internal.conv.KernelList;
import org.simdconv.internal.nn.LayerKernels;
import org.simdconv.internal.simd.blocked.BlockedDirectKernel;
import org.simdconv.internal.simd.blocked.BlockedWeightGradientKernel;
import org.simdconv.internal.simd.common.Reorder;
import org.simdconv.internal.simd.dense.FullyConnectedKernel;
import org.simdconv.internal.simd.depthwise.DepthwiseKernel;
import org.simdconv.internal.simd.elementwise.Elementwise;
import org.simdconv.internal.simd.firstlayer.FirstLayerKernel;
import org.simdconv.internal.simd.pointwise.PointwiseKernel;
import org.simdconv.internal.simd.rows.FlatPlaneKernel;
import org.simdconv.internal.simd.rows.RowDirectKernel;
import org.simdconv.internal.simd.rows.RowWeightGradientKernel;
import org.simdconv.internal.simd.rows.StridePhaseRowsKernel;
import org.simdconv.parallel.Parallelism;
import org.simdconv.parallel.Workspace;
import org.simdconv.tensor.Tensor;

/**
 * The Vector API path. Loaded only reflectively, by {@code Backends}, when {@code jdk.incubator.vector}
 * is in the JVM, so nothing else links against the incubator module.
 *
 * <p>The convolution's kernel families, in the order they are tried: for each pass the first that
 * accepts the problem runs it (each family's rule sits in its class). The last entry of each pass
 * accepts everything, so a problem always runs on this path.
 */
public final class SimdBackend extends Backend {

    private final KernelList convolution = new KernelList(name(), List.of(
            new DepthwiseKernel(),                        // groups = C = K
            new FullyConnectedKernel(),                   // the kernel covers the input: a dense layer
            new PointwiseKernel(),                        // 1x1, stride 1, no padding, whole blocks
            BlockedDirectKernel.fourBlocksPerPixel(),     // fwd, bwd-data: blocks of channels, four per pixel
            BlockedDirectKernel.oneBlockPerPixel(),       // fwd, bwd-data: blocks of channels
            new FirstLayerKernel(),                       // fwd, bwd-weights: a few plain input channels
            new BlockedWeightGradientKernel(),            // bwd-weights: blocks of channels
            new StridePhaseRowsKernel(),                  // bwd-data at stride > 1, few channels
            new FlatPlaneKernel(),                        // fwd, bwd-weights: stride 1, small planes
            new RowDirectKernel(),                        // fwd, bwd-data: everything else
            new RowWeightGradientKernel()));              // bwd-weights: everything else
    private final LayerKernels layers = new SimdLayers();

    public SimdBackend() {
        if (LANES < 4) {
            throw new UnsupportedOperationException("the preferred vector species holds only " + LANES
                    + " floats; the scalar path is faster");
        }
    }

    /** Subnormal operands cost an x86 FMA a microcode assist each; Java cannot set FTZ/DAZ. */
    @Override
    public boolean flushesSubnormals() {
        return true;
    }

    @Override
    public void flushSubnormals(Tensor t, Parallelism par) {
        Elementwise.flushSubnormals(t, par);
    }

    @Override
    public String name() {
        return "simd-direct-" + SPECIES.vectorBitSize() + "bit";
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
        return LANES;
    }

    @Override
    public void reorder(Tensor from, Tensor to, Workspace workspace, Parallelism par) {
        Reorder.reorder(from, to, workspace, par);
    }
}
