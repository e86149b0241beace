package org.simdconv.conv.simd;

import static org.simdconv.conv.simd.DirectRowKernel.LANES;
import static org.simdconv.conv.simd.DirectRowKernel.SPECIES;

import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.simdconv.conv.Accumulation;
import org.simdconv.conv.Conv2dGeometry;
import org.simdconv.conv.Conv2dKernels;
import org.simdconv.conv.Conv2dPass;
import org.simdconv.parallel.Parallelism;
import org.simdconv.tensor.ChannelBlockedLayout;
import org.simdconv.tensor.Tensor;

/**
 * The Vector API path. Each pass runs the first kernel of {@link #ORDER} that accepts the problem
 * (oneDNN's rule: an ordered list, the choice named by {@link #kernelName} and logged at debug
 * level, never a silent fallback):
 * <ol>
 *   <li>{@link Kernel#DEPTHWISE}: one filter per channel, vectorised across the channels of a block
 *       ({@link DepthwiseConvolution}), all three passes;</li>
 *   <li>{@link Kernel#POINTWISE}: 1x1 at stride 1 without padding, a matrix product over pixels
 *       ({@link PointwiseConvolution}) on NCHW or channel-blocked tensors as they are, all three
 *       passes, where there are 32 vector registers;</li>
 *   <li>{@link Kernel#BLOCKED_DIRECT_FOUR_BLOCKS}, then {@link Kernel#BLOCKED_DIRECT}: channel-blocked
 *       direct convolution ({@link BlockedPasses}), with the input staged four blocks per pixel when
 *       a group's input blocks are a multiple of four (one loop over their channels per kernel tap,
 *       14 to 58% faster in an interleaved A/B on the ResNet shapes), else one block per pixel,
 *       for groups whose channels fill whole vector-wide blocks (at least one block; or one group
 *       of at least half a block of input channels): forward, and
 *       backward-data as the seed's transformed problem (17.3.1) split into stride phases
 *       ({@link BackwardDataPhase});</li>
 *   <li>{@link Kernel#PLAIN_INPUT}: forward and backward-weights of first layers, a few plain input
 *       channels broadcast one tap at a time to four blocks of filters ({@link PlainInputConvolution},
 *       {@link PlainInputWeightGradient}), where there are 32 vector registers;</li>
 *   <li>{@link Kernel#ROW_DIRECT_STRIDE_PHASES}: backward-data at strides above 1 with fewer channels,
 *       split into stride phases instead of inserting zeros ({@link StridedBackwardData});</li>
 *   <li>{@link Kernel#FLAT_PLANE}: forward and backward-weights at stride 1 on small planes, read
 *       as one flat row so that every vector is whole ({@link FlatPlaneConvolution}): the seed
 *       network's layers;</li>
 *   <li>{@link Kernel#ROW_DIRECT}: NCHW rows vectorised along the width ({@link DirectRowKernel}),
 *       for everything else: few channels (the first layer), odd groups;</li>
 *   <li>{@link Kernel#BLOCKED_WEIGHT_GRADIENT} and {@link Kernel#ROW_WEIGHT_GRADIENT} likewise for
 *       backward-weights, whose per-task partial gradients are summed in a fixed order, so results
 *       depend on the thread count but not on scheduling.</li>
 * </ol>
 * The blocked kernels also serve the channel-blocked entry points ({@code Conv2d.forwardBlocked}
 * and the rest) on the caller's tensors as they are; the others run those through NCHW copies of
 * the blocked ones (tensors of few channels are plain already, and used as they are).
 * The row kernels pack each batch item's planes into a per-thread workspace ({@link PackedPlanes}), with
 * output rows as the outer loop and blocks of four output channels inside, so the few packed rows
 * an output row needs stay in L2.
 *
 * <p>Loaded only reflectively, by {@code KernelSelection}, when {@code jdk.incubator.vector} is present.
 */
public final class VectorConv2d implements Conv2dKernels {

    private static final System.Logger LOG = System.getLogger("org.simdconv");

    /**
     * The kernels of this implementation. Each pass tries its list ({@link #ORDER}) in order and runs
     * the first kernel that accepts the problem; {@link #kernelName} names it, and the choice is
     * logged at debug level, so a slower kernel never runs unnoticed.
     */
    enum Kernel {
        /** Depthwise, vectorised across the channels of a block ({@link DepthwiseConvolution}). */
        DEPTHWISE("depthwise-blocked-4", Map.of(Conv2dPass.FORWARD, DepthwiseConvolution::accepts,
                Conv2dPass.BACKWARD_DATA, DepthwiseConvolution::accepts,
                Conv2dPass.BACKWARD_WEIGHTS, DepthwiseConvolution::accepts)),
        /**
         * 1x1, stride 1, no padding: matrix products over pixels on the tensors as they are
         * ({@link PointwiseConvolution}), all three passes.
         */
        POINTWISE("pointwise-1x1", Map.of(Conv2dPass.FORWARD, PointwiseConvolution::accepts,
                Conv2dPass.BACKWARD_DATA, PointwiseConvolution::accepts,
                Conv2dPass.BACKWARD_WEIGHTS, PointwiseConvolution::accepts)),
        /**
         * Channel-blocked direct convolution, two blocks of output channels by four pixels, its input
         * staged four blocks per pixel ({@link BlockedStaging}): for groups of a multiple of four
         * input blocks.
         */
        BLOCKED_DIRECT_FOUR_BLOCKS("blocked-direct-2x4-b4", Map.of(
                Conv2dPass.FORWARD, g -> BlockedPasses.acceptsForward(g) && BlockedPasses.forwardStagesFourBlocks(g),
                Conv2dPass.BACKWARD_DATA, g -> BlockedPasses.acceptsBackwardData(g)
                        && BlockedPasses.backwardDataStagesFourBlocks(g))),
        /** Channel-blocked direct convolution, two blocks of output channels by four pixels ({@link BlockedPasses}). */
        BLOCKED_DIRECT("blocked-direct-2x4", Map.of(Conv2dPass.FORWARD, BlockedPasses::acceptsForward,
                Conv2dPass.BACKWARD_DATA, BlockedPasses::acceptsBackwardData)),
        /**
         * A first layer's few plain input channels into channel-blocked output, one channel per
         * tap: forward four blocks of filters by six pixels ({@link PlainInputConvolution}),
         * backward-weights four blocks by six taps ({@link PlainInputWeightGradient}).
         */
        PLAIN_INPUT("plain-input-4x6", Map.of(Conv2dPass.FORWARD, PlainInputConvolution::accepts,
                Conv2dPass.BACKWARD_WEIGHTS, PlainInputWeightGradient::accepts)),
        /** Backward-data split into stride phases, rows vectorised along the width ({@link StridedBackwardData}). */
        ROW_DIRECT_STRIDE_PHASES("row-direct-stride-phases",
                Map.of(Conv2dPass.BACKWARD_DATA, g -> g.strideH() > 1 || g.strideW() > 1)),
        /**
         * Stride 1 on small planes read as one flat row, four output channels by four vectors
         * ({@link FlatPlaneConvolution}): the seed network's layers.
         */
        FLAT_PLANE("flat-plane-4x4", Map.of(Conv2dPass.FORWARD, FlatPlaneConvolution::accepts,
                Conv2dPass.BACKWARD_WEIGHTS, FlatPlaneConvolution::accepts)),
        /** NCHW rows vectorised along the width, four output channels by three vectors ({@link DirectRowKernel}). */
        ROW_DIRECT("row-direct-4x3", Map.of(Conv2dPass.FORWARD, g -> true, Conv2dPass.BACKWARD_DATA, g -> true)),
        /**
         * Channel-blocked weight gradient, two blocks of output channels by four input channels, four
         * blocks where there are 32 vector registers ({@link BlockedWeightGradient}).
         */
        BLOCKED_WEIGHT_GRADIENT("blocked-weight-gradient-2x4",
                Map.of(Conv2dPass.BACKWARD_WEIGHTS, BlockedWeightGradient::accepts)),
        /** Weight gradients over packed NCHW planes ({@link WeightGradientKernel}). */
        ROW_WEIGHT_GRADIENT("row-direct-weight-gradient", Map.of(Conv2dPass.BACKWARD_WEIGHTS, g -> true));

        private final String label;
        private final Map<Conv2dPass, Predicate<Conv2dGeometry>> accepts;

        Kernel(String label, Map<Conv2dPass, Predicate<Conv2dGeometry>> accepts) {
            this.label = label;
            this.accepts = accepts;
        }

        String label() {
            return label;
        }

        /** True for the channel-blocked direct kernels, which {@link BlockedPasses} runs. */
        boolean blockedDirect() {
            return this == BLOCKED_DIRECT_FOUR_BLOCKS || this == BLOCKED_DIRECT;
        }

        boolean accepts(Conv2dPass pass, Conv2dGeometry g) {
            Predicate<Conv2dGeometry> test = accepts.get(pass);
            return test != null && test.test(g);
        }
    }

    /** The order in which the kernels are tried, the same for every pass: fastest first. */
    static final List<Kernel> ORDER = List.of(Kernel.values());

    private final ScratchPool pool = new ScratchPool();
    private final PackedWeights packedWeights = new PackedWeights();
    private final BlockedPasses blocked = new BlockedPasses(pool, packedWeights);
    private final DepthwiseConvolution depthwise = new DepthwiseConvolution(pool);
    private final PointwiseConvolution pointwise = new PointwiseConvolution(pool, packedWeights);
    private final ConcurrentHashMap<Conv2dGeometry, PlainInputConvolution> plainInputPlans = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<Conv2dGeometry, PlainInputWeightGradient> plainWeightGradientPlans =
            new ConcurrentHashMap<>();

    /** The first kernel of {@link #ORDER} that accepts {@code pass} on {@code g}. */
    static Kernel choose(Conv2dPass pass, Conv2dGeometry g) {
        for (Kernel kernel : ORDER) {
            if (kernel.accepts(pass, g)) {
                if (LOG.isLoggable(System.Logger.Level.DEBUG)) {
                    LOG.log(System.Logger.Level.DEBUG, "simdconv: " + pass + " " + g + " runs " + kernel.label());
                }
                return kernel;
            }
        }
        throw new IllegalStateException("no kernel accepts " + pass + " " + g);
    }

    /** The kernels chosen for each problem, by pass: {@link #choose} asks every kernel, which costs a call. */
    private final ConcurrentHashMap<Conv2dGeometry, Kernel[]> chosen = new ConcurrentHashMap<>();

    /** {@link #choose}, once per problem and pass (the debug line is written that once). */
    private Kernel kernelFor(Conv2dPass pass, Conv2dGeometry g) {
        Kernel[] byPass = chosen.get(g);
        if (byPass == null) {
            byPass = BlockedPasses.cached(chosen, g, key -> new Kernel[Conv2dPass.values().length]);
        }
        Kernel kernel = byPass[pass.ordinal()];
        if (kernel == null) {
            kernel = choose(pass, g);
            byPass[pass.ordinal()] = kernel; // a race only chooses the same kernel twice
        }
        return kernel;
    }

    @Override
    public int channelBlock() {
        return LANES;
    }

    /**
     * Converts between a blocked tensor and an NCHW one ({@code toBlocked}: from {@code nchw} into
     * {@code blocked}; else the other way), item and block at a time on the pool's threads.
     */
    private static void convert(Tensor from, Tensor to, boolean toBlocked, Parallelism par) {
        Tensor blocked = toBlocked ? to : from;
        BlockedConversion.convert(toBlocked ? from : to, blocked.segment(), blocked.byteOffset(), toBlocked, par);
    }

    /**
     * True when a tensor of {@code channels} channels is channel-blocked at the blocked entry points;
     * false when it has blocks of one channel, which is plain NCHW ({@link ChannelBlockedLayout#blockFor}).
     */
    static boolean blockedLayout(int channels) {
        return ChannelBlockedLayout.blockFor(channels, LANES) == LANES;
    }

    /**
     * The NCHW tensors that a kernel without a blocked form runs on, for the tensors of a blocked
     * entry point: a plain one (blocks of one channel) is used as it is; a blocked one is converted
     * into a pooled workspace when {@code read}, or only given one when it is written. {@link #close}
     * converts the results back and returns the workspaces.
     */
    private final class NchwCopies implements AutoCloseable {
        private final Parallelism par;
        private final List<Tensor[]> written = new ArrayList<>(2);
        private final List<MemorySegment> workspaces = new ArrayList<>(2);

        NchwCopies(Parallelism par) {
            this.par = par;
        }

        /**
         * {@code blocked} as an NCHW tensor of {@code shape}: {@code read} when the kernel reads its
         * values, {@code write} when it writes them (converted back at {@link #close}).
         */
        Tensor of(Tensor blocked, int[] shape, boolean read, boolean write) {
            if (!blockedLayout(shape[1])) {
                return blocked.reshape(shape);
            }
            MemorySegment segment = pool.segment(bytes(shape));
            workspaces.add(segment);
            Tensor nchw = Tensor.wrap(segment, shape);
            if (read) {
                convert(blocked, nchw, false, par);
            }
            if (write) {
                written.add(new Tensor[] {nchw, blocked});
            }
            return nchw;
        }

        @Override
        public void close() {
            try {
                for (Tensor[] result : written) {
                    convert(result[0], result[1], true, par);
                }
            } finally {
                workspaces.forEach(pool::give);
            }
        }
    }

    private static long bytes(int[] shape) {
        long n = Float.BYTES;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    /**
     * The blocked kernel on the tensors as they are (each blocked, or plain when it has too few
     * channels); the other kernels through NCHW copies of the blocked tensors in pooled workspaces,
     * converted on the pool's threads.
     */
    @Override
    public void forwardBlocked(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output,
                               Parallelism par) {
        Kernel kernel = kernelFor(Conv2dPass.FORWARD, g);
        boolean inBlocked = blockedLayout(g.c()), outBlocked = blockedLayout(g.k());
        if (kernel == Kernel.DEPTHWISE && inBlocked) {
            depthwise.forward(g, input, weight, bias, output, true, par);
        } else if (kernel == Kernel.POINTWISE) {
            pointwise.forward(g, input, weight, bias, output, true, par);
        } else if (kernel.blockedDirect()) {
            blocked.forward(g, input, weight, bias, output, inBlocked, outBlocked, par);
        } else if (kernel == Kernel.PLAIN_INPUT) {
            plainInputPlan(g).forward(input, weight, bias, output, true, par, pool, packedWeights);
        } else if (!inBlocked && !outBlocked) { // blocks of one channel: NCHW as they are
            forward(g, input, weight, bias, output, par);
        } else {
            try (NchwCopies copies = new NchwCopies(par)) {
                forward(g, copies.of(input, g.inputShape(), true, false), weight, bias,
                        copies.of(output, g.outputShape(), false, true), par);
            }
        }
    }

    @Override
    public void backwardDataBlocked(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput,
                                    Accumulation mode, Parallelism par) {
        Kernel kernel = kernelFor(Conv2dPass.BACKWARD_DATA, g);
        boolean inBlocked = blockedLayout(g.c()), outBlocked = blockedLayout(g.k());
        if (kernel == Kernel.DEPTHWISE && inBlocked) {
            depthwise.backwardData(g, gradOutput, weight, gradInput, mode, true, par);
        } else if (kernel == Kernel.POINTWISE) {
            pointwise.backwardData(g, gradOutput, weight, gradInput, mode, true, par);
        } else if (kernel.blockedDirect()) {
            blocked.backwardData(g, gradOutput, weight, gradInput, mode, outBlocked, inBlocked, par);
        } else if (!inBlocked && !outBlocked) {
            backwardData(g, gradOutput, weight, gradInput, mode, par);
        } else {
            try (NchwCopies copies = new NchwCopies(par)) {
                backwardData(g, copies.of(gradOutput, g.outputShape(), true, false), weight,
                        copies.of(gradInput, g.inputShape(), mode == Accumulation.ACCUMULATE, true), mode, par);
            }
        }
    }

    @Override
    public void backwardWeightsBlocked(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight,
                                       Tensor gradBias, Accumulation mode, Parallelism par) {
        Kernel kernel = kernelFor(Conv2dPass.BACKWARD_WEIGHTS, g);
        boolean inBlocked = blockedLayout(g.c()), outBlocked = blockedLayout(g.k());
        if (kernel == Kernel.DEPTHWISE && inBlocked) {
            depthwise.backwardWeights(g, input, gradOutput, gradWeight, gradBias, mode, true, par);
        } else if (kernel == Kernel.POINTWISE) {
            pointwise.backwardWeights(g, input, gradOutput, gradWeight, gradBias, mode, true, par);
        } else if (kernel == Kernel.BLOCKED_WEIGHT_GRADIENT) {
            blocked.backwardWeights(g, input, gradOutput, gradWeight, gradBias, mode, inBlocked, outBlocked, par);
        } else if (kernel == Kernel.PLAIN_INPUT) {
            plainWeightGradientPlan(g).backwardWeights(input, gradOutput, true, gradWeight, gradBias, mode, par, pool);
        } else if (!inBlocked && !outBlocked) {
            backwardWeights(g, input, gradOutput, gradWeight, gradBias, mode, par);
        } else {
            try (NchwCopies copies = new NchwCopies(par)) {
                backwardWeights(g, copies.of(input, g.inputShape(), true, false),
                        copies.of(gradOutput, g.outputShape(), true, false), gradWeight, gradBias, mode, par);
            }
        }
    }

    @Override
    public String kernelName(Conv2dPass pass, Conv2dGeometry g) {
        return name() + "/" + choose(pass, g).label();
    }

    public VectorConv2d() {
        if (LANES < 4) {
            throw new UnsupportedOperationException("the preferred vector species holds only " + LANES
                    + " floats; the scalar path is faster");
        }
    }

    @Override
    public String name() {
        return "simd-direct-" + SPECIES.vectorBitSize() + "bit";
    }

    @Override
    public void forward(Conv2dGeometry g, Tensor input, Tensor weight, Tensor bias, Tensor output, Parallelism par) {
        Kernel kernel = kernelFor(Conv2dPass.FORWARD, g);
        if (kernel == Kernel.DEPTHWISE) {
            depthwise.forward(g, input, weight, bias, output, false, par);
            return;
        }
        if (kernel == Kernel.POINTWISE) {
            pointwise.forward(g, input, weight, bias, output, false, par);
            return;
        }
        if (kernel.blockedDirect()) {
            blocked.forward(g, input, weight, bias, output, false, false, par);
            return;
        }
        if (kernel == Kernel.PLAIN_INPUT) {
            plainInputPlan(g).forward(input, weight, bias, output, false, par, pool, packedWeights);
            return;
        }
        if (kernel == Kernel.FLAT_PLANE) {
            FlatPlaneConvolution flat = flatPlan(g, WorkSplit.channelSplits(g.n(), g.k(), par.threads()));
            float[] weights = interleaved(g, weight);
            float[] biases = biases(bias);
            try (FlatForward task = FLAT_FORWARD.take()) {
                task.flat = flat;
                task.input = input;
                task.weights = weights;
                task.biases = biases;
                task.output = output;
                par.forEach(g.n() * flat.splits(), task);
            } finally {
                giveBiases(biases);
            }
            return;
        }
        float[] biases = biases(bias);
        try {
            rowsForward(g, input, interleaved(g, weight), biases, output, par);
        } finally {
            giveBiases(biases);
        }
    }

    private static final CallTask.PerThread<FlatForward> FLAT_FORWARD = new CallTask.PerThread<>(FlatForward::new);

    /** Forward on the flat-plane kernel: a task is (item, slice of filters). */
    private static final class FlatForward extends CallTask {
        FlatPlaneConvolution flat;
        Tensor input, output;
        float[] weights, biases;

        @Override
        public void accept(int task) {
            flat.forward(input, weights, biases, output, task / flat.splits(), task % flat.splits());
        }

        @Override
        void clear() {
            flat = null;
            input = output = null;
            weights = biases = null;
        }
    }

    /** The bias in a pooled array (its first {@code K} floats), or null without one. */
    private float[] biases(Tensor bias) {
        if (bias == null) {
            return null;
        }
        float[] b = pool.array((int) bias.elementCount());
        MemorySegment.copy(bias.segment(), Tensor.FLOAT, bias.byteOffset(), b, 0, (int) bias.elementCount());
        return b;
    }

    private void giveBiases(float[] b) {
        if (b != null) {
            pool.give(b);
        }
    }

    /** Forward on the row kernels: each task packs its input planes, then runs output rows of four channels. */
    private void rowsForward(Conv2dGeometry g, Tensor input, float[] weights, float[] biases, Tensor output,
                             Parallelism par) {
        int splits = WorkSplit.channelSplits(g.n(), g.k(), par.threads());
        try (RowsForward task = ROWS_FORWARD.take()) {
            task.g = g;
            task.plan = rowPlan(g);
            task.splits = splits;
            task.sliceTiles = task.plan.outputTiles(splits);
            task.input = input;
            task.weights = weights;
            task.biases = biases;
            task.output = output;
            par.forEach(g.n() * splits, task);
        }
    }

    private static final CallTask.PerThread<RowsForward> ROWS_FORWARD = new CallTask.PerThread<>(RowsForward::new);

    /** Forward on the row kernels: a task is (item, slice of filters). */
    private static final class RowsForward extends CallTask {
        Conv2dGeometry g;
        RowPlan plan;
        int splits;
        FourChannelBlocks.ChannelTiles[] sliceTiles;
        Tensor input, output;
        float[] weights, biases;

        @Override
        public void accept(int task) {
            int perChannel = g.channelsPerGroup() * g.r() * g.s();
            PackedPlanes layout = plan.forwardLayout;
            int cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
            int n = task / splits;
            int k0 = WorkSplit.start(g.k(), splits, task % splits);
            int k1 = WorkSplit.start(g.k(), splits, task % splits + 1);
            int cFirst = (k0 / kg) * cg;
            int cEnd = ((k1 - 1) / kg + 1) * cg;
            MemorySegment packed = layout.workspace(cEnd - cFirst);
            layout.pack(input.segment(), input.byteOffset() + planeBytes(g.h(), g.w()) * ((long) n * g.c() + cFirst),
                    cEnd - cFirst, g.h(), g.w(), g.padTop(), g.padLeft(), packed);
            long outPlaneBytes = planeBytes(g.outH(), g.outW());
            long rowStride = (long) g.strideH() * layout.rowLength();
            FourChannelBlocks.ChannelTiles tiles = sliceTiles[task % splits];
            // Output rows outermost: the few packed input rows one output row needs stay in L2
            // while every block of output channels uses them.
            for (int oh = 0; oh < g.outH(); oh++) {
                for (int k : tiles.blockStarts()) {
                    DirectRowKernel.rowsOfFourChannels(packed,
                            (long) ((k / kg) * cg - cFirst) * layout.channelSize() + oh * rowStride,
                            layout.channelSize(), cg, layout.tapOffsets(), weights, k * perChannel, biases, k,
                            output.segment(),
                            output.byteOffset() + outPlaneBytes * ((long) n * g.k() + k) + (long) oh * g.outW() * Float.BYTES,
                            outPlaneBytes, g.outW(), false);
                }
            }
            for (int k : tiles.singles()) {
                singleChannel(layout, packed, (long) ((k / kg) * cg - cFirst) * layout.channelSize(), rowStride, cg,
                        weights, FourChannelBlocks.weightBase(k, kg, perChannel), FourChannelBlocks.weightStride(k, kg),
                        biases == null ? 0f : biases[k], output.segment(),
                        output.byteOffset() + outPlaneBytes * ((long) n * g.k() + k), g.outH(), g.outW(), false);
            }
        }

        @Override
        void clear() {
            g = null;
            plan = null;
            sliceTiles = null;
            input = output = null;
            weights = biases = null;
        }
    }

    @Override
    public void backwardData(Conv2dGeometry g, Tensor gradOutput, Tensor weight, Tensor gradInput,
                             Accumulation mode, Parallelism par) {
        Kernel kernel = kernelFor(Conv2dPass.BACKWARD_DATA, g);
        if (kernel == Kernel.DEPTHWISE) {
            depthwise.backwardData(g, gradOutput, weight, gradInput, mode, false, par);
            return;
        }
        if (kernel == Kernel.POINTWISE) {
            pointwise.backwardData(g, gradOutput, weight, gradInput, mode, false, par);
            return;
        }
        if (kernel.blockedDirect()) {
            blocked.backwardData(g, gradOutput, weight, gradInput, mode, false, false, par);
            return;
        }
        int splits = WorkSplit.channelSplits(g.n(), g.c(), par.threads());
        boolean accumulate = mode == Accumulation.ACCUMULATE;
        if (kernel == Kernel.ROW_DIRECT_STRIDE_PHASES) {
            StridedBackwardData strided = packedWeights.packed("row-stride-phases", g, weight,
                    StridedBackwardData::new);
            try (StridedRowsBackwardData task = STRIDED_BACKWARD_DATA.take()) {
                task.strided = strided;
                task.channels = g.c();
                task.splits = splits;
                task.sliceTiles = rowPlan(g).inputTiles(splits);
                task.gradOutput = gradOutput;
                task.gradInput = gradInput;
                task.accumulate = accumulate;
                par.forEach(g.n() * splits, task);
            }
            return;
        }
        float[] rotated = packedWeights.packed("row-rotated-interleaved", g, weight,
                (geometry, oihw) -> FourChannelBlocks.interleave(rotatedTransposed(geometry, oihw), geometry.c(),
                        geometry.channelsPerGroup(), geometry.filtersPerGroup() * geometry.r() * geometry.s()));
        try (RowsBackwardData task = ROWS_BACKWARD_DATA.take()) {
            task.g = g;
            task.plan = rowPlan(g);
            task.splits = splits;
            task.sliceTiles = task.plan.inputTiles(splits);
            task.gradOutput = gradOutput;
            task.rotated = rotated;
            task.gradInput = gradInput;
            task.accumulate = accumulate;
            par.forEach(g.n() * splits, task);
        }
    }

    private static final CallTask.PerThread<StridedRowsBackwardData> STRIDED_BACKWARD_DATA =
            new CallTask.PerThread<>(StridedRowsBackwardData::new);

    /** Backward-data in stride phases on the row kernels: a task is (item, slice of input channels). */
    private static final class StridedRowsBackwardData extends CallTask {
        StridedBackwardData strided;
        int channels, splits;
        FourChannelBlocks.ChannelTiles[] sliceTiles;
        Tensor gradOutput, gradInput;
        boolean accumulate;

        @Override
        public void accept(int task) {
            int slice = task % splits;
            strided.run(task / splits, WorkSplit.start(channels, splits, slice),
                    WorkSplit.start(channels, splits, slice + 1), sliceTiles[slice], gradOutput, gradInput, accumulate);
        }

        @Override
        void clear() {
            strided = null;
            sliceTiles = null;
            gradOutput = gradInput = null;
        }
    }

    private static final CallTask.PerThread<RowsBackwardData> ROWS_BACKWARD_DATA =
            new CallTask.PerThread<>(RowsBackwardData::new);

    /**
     * Backward-data on the row kernels, the output gradient padded and correlated with the rotated
     * kernels: a task is (item, slice of input channels).
     */
    private static final class RowsBackwardData extends CallTask {
        Conv2dGeometry g;
        RowPlan plan;
        int splits;
        FourChannelBlocks.ChannelTiles[] sliceTiles;
        Tensor gradOutput, gradInput;
        float[] rotated;
        boolean accumulate;

        @Override
        public void accept(int task) {
            int perChannel = g.filtersPerGroup() * g.r() * g.s();
            PackedPlanes layout = plan.backwardLayout;
            int cg = g.channelsPerGroup(), kg = g.filtersPerGroup();
            int padTop = g.dilationH() * (g.r() - 1) - g.padTop();
            int padLeft = g.dilationW() * (g.s() - 1) - g.padLeft();
            int n = task / splits;
            int c0 = WorkSplit.start(g.c(), splits, task % splits);
            int c1 = WorkSplit.start(g.c(), splits, task % splits + 1);
            int kFirst = (c0 / cg) * kg;
            int kEnd = ((c1 - 1) / cg + 1) * kg;
            MemorySegment packed = layout.workspace(kEnd - kFirst);
            layout.pack(gradOutput.segment(),
                    gradOutput.byteOffset() + planeBytes(g.outH(), g.outW()) * ((long) n * g.k() + kFirst),
                    kEnd - kFirst, g.outH(), g.outW(), padTop, padLeft, packed);
            long inPlaneBytes = planeBytes(g.h(), g.w());
            FourChannelBlocks.ChannelTiles tiles = sliceTiles[task % splits];
            for (int y = 0; y < g.h(); y++) { // rows outermost, as in forward
                for (int c : tiles.blockStarts()) {
                    DirectRowKernel.rowsOfFourChannels(packed,
                            (long) ((c / cg) * kg - kFirst) * layout.channelSize() + (long) y * layout.rowLength(),
                            layout.channelSize(), kg, layout.tapOffsets(), rotated, c * perChannel, null, 0,
                            gradInput.segment(),
                            gradInput.byteOffset() + inPlaneBytes * ((long) n * g.c() + c) + (long) y * g.w() * Float.BYTES,
                            inPlaneBytes, g.w(), accumulate);
                }
            }
            for (int c : tiles.singles()) {
                singleChannel(layout, packed, (long) ((c / cg) * kg - kFirst) * layout.channelSize(),
                        layout.rowLength(), kg, rotated, FourChannelBlocks.weightBase(c, cg, perChannel),
                        FourChannelBlocks.weightStride(c, cg), 0f, gradInput.segment(),
                        gradInput.byteOffset() + inPlaneBytes * ((long) n * g.c() + c), g.h(), g.w(), accumulate);
            }
        }

        @Override
        void clear() {
            g = null;
            plan = null;
            sliceTiles = null;
            gradOutput = gradInput = null;
            rotated = null;
        }
    }

    @Override
    public void backwardWeights(Conv2dGeometry g, Tensor input, Tensor gradOutput, Tensor gradWeight,
                                Tensor gradBias, Accumulation mode, Parallelism par) {
        Kernel kernel = kernelFor(Conv2dPass.BACKWARD_WEIGHTS, g);
        if (kernel == Kernel.DEPTHWISE) {
            depthwise.backwardWeights(g, input, gradOutput, gradWeight, gradBias, mode, false, par);
            return;
        }
        if (kernel == Kernel.POINTWISE) {
            pointwise.backwardWeights(g, input, gradOutput, gradWeight, gradBias, mode, false, par);
            return;
        }
        if (kernel == Kernel.BLOCKED_WEIGHT_GRADIENT) {
            blocked.backwardWeights(g, input, gradOutput, gradWeight, gradBias, mode, false, false, par);
            return;
        }
        if (kernel == Kernel.PLAIN_INPUT) {
            plainWeightGradientPlan(g).backwardWeights(input, gradOutput, false, gradWeight, gradBias, mode, par, pool);
            return;
        }
        RowWeightGradient grad = rowPlan(g).weightGradient;
        int chunks = Math.min(par.threads(), g.n());
        int splits = WorkSplit.channelSplits(g.n(), g.k(), par.threads());
        FlatPlaneConvolution flat = kernel == Kernel.FLAT_PLANE ? flatPlan(g, splits) : null;
        float[][] partials = pool.table(chunks), biasPartials = pool.table(chunks);
        try {
            for (int i = 0; i < chunks; i++) {
                // Padded past their ends: two threads' partials of a small layer would otherwise share
                // cache lines (false sharing made two threads four times slower than one on seed_conv1).
                partials[i] = zeroed(grad.partialLength() + FALSE_SHARING_PAD);
                biasPartials[i] = gradBias == null ? null : zeroed(grad.biasPartialLength() + FALSE_SHARING_PAD);
            }
            try (RowsWeightGradient task = ROWS_WEIGHT_GRADIENT.take()) {
                task.g = g;
                task.chunks = chunks;
                task.splits = splits;
                task.flat = flat;
                task.grad = grad;
                task.input = input;
                task.gradOutput = gradOutput;
                task.partials = partials;
                task.biasPartials = biasPartials;
                par.forEach(chunks * splits, task);
            }
            grad.reduce(partials, biasPartials, chunks, gradWeight, gradBias, mode);
        } finally {
            pool.giveAll(partials);
            pool.giveAll(biasPartials);
        }
    }

    private static final CallTask.PerThread<RowsWeightGradient> ROWS_WEIGHT_GRADIENT =
            new CallTask.PerThread<>(RowsWeightGradient::new);

    /**
     * Backward-weights on the row (or flat-plane) kernels: a task is (chunk of items, slice of
     * filters), summing into the chunk's partial gradient.
     */
    private static final class RowsWeightGradient extends CallTask {
        Conv2dGeometry g;
        int chunks, splits;
        FlatPlaneConvolution flat;
        RowWeightGradient grad;
        Tensor input, gradOutput;
        float[][] partials, biasPartials;

        @Override
        public void accept(int task) {
            int chunk = task / splits;
            int n0 = WorkSplit.start(g.n(), chunks, chunk), n1 = WorkSplit.start(g.n(), chunks, chunk + 1);
            int k0 = WorkSplit.start(g.k(), splits, task % splits);
            int k1 = WorkSplit.start(g.k(), splits, task % splits + 1);
            if (flat != null) {
                flat.accumulateWeightGradient(input, gradOutput, n0, n1, task % splits, partials[chunk],
                        biasPartials[chunk]);
            }
            for (int n = n0; n < n1 && flat == null; n++) {
                grad.accumulate(input, gradOutput, n, k0, k1, partials[chunk], biasPartials[chunk]);
            }
        }

        @Override
        void clear() {
            g = null;
            flat = null;
            grad = null;
            input = gradOutput = null;
            partials = biasPartials = null;
        }
    }

    /**
     * The OIHW weights with each block of four filters interleaved, as the row and flat-plane
     * kernels read them ({@link FourChannelBlocks#interleave}), packed once while unchanged.
     */
    private float[] interleaved(Conv2dGeometry g, Tensor weight) {
        return packedWeights.packed("four-filters-interleaved", g, weight, (geometry, oihw) -> FourChannelBlocks
                .interleave(oihw, geometry.k(), geometry.filtersPerGroup(),
                        geometry.channelsPerGroup() * geometry.r() * geometry.s()));
    }

    private PlainInputConvolution plainInputPlan(Conv2dGeometry g) {
        return BlockedPasses.cached(plainInputPlans, g, PlainInputConvolution::new);
    }

    private PlainInputWeightGradient plainWeightGradientPlan(Conv2dGeometry g) {
        return BlockedPasses.cached(plainWeightGradientPlans, g, PlainInputWeightGradient::new);
    }

    /**
     * What the row kernels derive from a problem, kept per problem so that a call allocates none of
     * it: the packed-plane layouts of forward and backward-data, the weight-gradient plan, and the
     * four-channel tiles of each slice for every number of slices asked for.
     */
    private static final class RowPlan {
        final PackedPlanes forwardLayout;
        final PackedPlanes backwardLayout;
        final RowWeightGradient weightGradient;
        private final Conv2dGeometry g;
        private final ConcurrentHashMap<Integer, FourChannelBlocks.ChannelTiles[]> outputTiles = new ConcurrentHashMap<>();
        private final ConcurrentHashMap<Integer, FourChannelBlocks.ChannelTiles[]> inputTiles = new ConcurrentHashMap<>();
        private final ConcurrentHashMap<Integer, FlatPlaneConvolution> flatPlans = new ConcurrentHashMap<>();

        RowPlan(Conv2dGeometry g) {
            this.g = g;
            this.forwardLayout = new PackedPlanes(g.outH(), g.outW(), g.strideH(), g.strideW(), g.r(), g.s(),
                    g.dilationH(), g.dilationW(), LANES);
            this.backwardLayout = new PackedPlanes(g.h(), g.w(), 1, 1, g.r(), g.s(), g.dilationH(), g.dilationW(), LANES);
            this.weightGradient = new RowWeightGradient(g);
        }

        /** The output-channel tiles of each of {@code splits} slices (splits are few: boxed from the Integer cache). */
        FourChannelBlocks.ChannelTiles[] outputTiles(int splits) {
            FourChannelBlocks.ChannelTiles[] tiles = outputTiles.get(splits); // no lambda to allocate when kept
            return tiles != null ? tiles : outputTiles.computeIfAbsent(splits,
                    n -> FourChannelBlocks.ofSplits(g.k(), n, g.filtersPerGroup()));
        }

        /** The input-channel tiles of each of {@code splits} slices, for backward-data. */
        FourChannelBlocks.ChannelTiles[] inputTiles(int splits) {
            FourChannelBlocks.ChannelTiles[] tiles = inputTiles.get(splits);
            return tiles != null ? tiles : inputTiles.computeIfAbsent(splits,
                    n -> FourChannelBlocks.ofSplits(g.c(), n, g.channelsPerGroup()));
        }

        /** The flat-plane plan for {@code splits} slices of output channels. */
        FlatPlaneConvolution flat(int splits) {
            FlatPlaneConvolution plan = flatPlans.get(splits);
            return plan != null ? plan : flatPlans.computeIfAbsent(splits, n -> new FlatPlaneConvolution(g, n));
        }
    }

    private final ConcurrentHashMap<Conv2dGeometry, RowPlan> rowPlans = new ConcurrentHashMap<>();

    private RowPlan rowPlan(Conv2dGeometry g) {
        return BlockedPasses.cached(rowPlans, g, RowPlan::new);
    }

    /** The flat-plane plan of {@code g} for {@code splits} slices of output channels, kept per problem. */
    private FlatPlaneConvolution flatPlan(Conv2dGeometry g, int splits) {
        return rowPlan(g).flat(splits);
    }

    /** A pooled array whose first {@code length} floats are zero. */
    private float[] zeroed(int length) {
        float[] a = pool.array(length);
        Arrays.fill(a, 0, length, 0f);
        return a;
    }

    /** Every row of one output plane, four rows at a time while four are left. */
    private static void singleChannel(PackedPlanes layout, MemorySegment packed, long channelBase, long rowStride,
                                      int channels, float[] weights, int weightBase, int weightStride, float init,
                                      MemorySegment out, long outPlane, int outH, int outW, boolean accumulate) {
        long outRowBytes = (long) outW * Float.BYTES;
        int oh = 0;
        for (; oh + 4 <= outH; oh += 4) {
            DirectRowKernel.fourRows(packed, channelBase + oh * rowStride, rowStride, layout.channelSize(), channels,
                    layout.tapOffsets(), weights, weightBase, weightStride, init, out, outPlane + oh * outRowBytes,
                    outRowBytes, outW, accumulate);
        }
        for (; oh < outH; oh++) {
            DirectRowKernel.row(packed, channelBase + oh * rowStride, layout.channelSize(), channels,
                    layout.tapOffsets(), weights, weightBase, weightStride, init, out, outPlane + oh * outRowBytes, outW,
                    accumulate);
        }
    }

    /** Floats after each per-thread partial: two cache lines. */
    private static final int FALSE_SHARING_PAD = 32;

    /**
     * The weights of backward-data as a convolution: for input channel {@code c} (in group
     * {@code gi}, local index {@code cl}) and the group's filter {@code kl},
     * {@code out[c][kl][r][s] = W[gi*K/g + kl][cl][R-1-r][S-1-s]} (the kernel rotated by 180 degrees).
     */
    private static float[] rotatedTransposed(Conv2dGeometry g, float[] w) {
        int cg = g.channelsPerGroup(), kg = g.filtersPerGroup(), r = g.r(), s = g.s();
        float[] out = new float[w.length];
        for (int c = 0; c < g.c(); c++) {
            int group = c / cg, local = c % cg;
            for (int kl = 0; kl < kg; kl++) {
                int k = group * kg + kl;
                for (int i = 0; i < r; i++) {
                    for (int j = 0; j < s; j++) {
                        out[((c * kg + kl) * r + i) * s + j] = w[((k * cg + local) * r + (r - 1 - i)) * s + (s - 1 - j)];
                    }
                }
            }
        }
        return out;
    }

    private static long planeBytes(int h, int w) {
        return (long) h * w * Float.BYTES;
    }
}
