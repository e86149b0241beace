package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.simdconv.conv.BlockedEntryPointTest.blocked;
import static org.simdconv.conv.BlockedEntryPointTest.nchw;
import static org.simdconv.conv.TestData.assertSameValues;

import java.lang.foreign.Arena;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.simdconv.tensor.Tensor;

/**
 * The Vector API path packs weights once per problem and reuses them while they are unchanged. A
 * stale packing would be silent, so: one {@link Conv2d} runs every pass, then the weights are
 * changed in place (the same tensor, as an optimiser step changes them) and it runs them again;
 * both times the results must be the scalar oracle's on the weights of that moment, bit for bit
 * (small integers). The cases reach every kernel that keeps packed weights.
 */
class PackedWeightsTest {

    private static final int LANES = KernelSelection.channelBlock();

    static Stream<ConvCase> cases() {
        Conv2dOptions d = Conv2dOptions.defaults();
        return Stream.of(
                new ConvCase(new int[] {2, 2 * LANES, 6, 7}, new int[] {LANES, 2 * LANES, 3, 3},
                        d.withPadding(Padding.of(1))), // blocked-direct, forward and backward-data
                new ConvCase(new int[] {1, 4 * LANES, 7, 6}, new int[] {LANES, 4 * LANES, 3, 3},
                        d.withStride(2).withPadding(Padding.of(1))), // four staged blocks, stride phases
                new ConvCase(new int[] {2, 2 * LANES, 5, 9}, new int[] {3 * LANES, 2 * LANES, 1, 1}, d), // pointwise
                new ConvCase(new int[] {1, 3, 17, 15}, new int[] {4 * LANES, 3, 7, 7},
                        d.withStride(2).withPadding(Padding.of(3))), // first layer, stride phases backward
                new ConvCase(new int[] {3, 1, 28, 28}, new int[] {4, 1, 3, 3}, d), // flat-plane, row-direct backward
                new ConvCase(new int[] {2, 5, 9, 11}, new int[] {6, 5, 3, 2}, d.withPadding(Padding.of(1, 0)))); // rows
    }

    @Test
    void theCasesReachEveryKernelThatPacksWeights() {
        Set<String> kernels = new TreeSet<>();
        cases().forEach(c -> {
            Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD);
            for (Conv2dPass pass : Conv2dPass.values()) {
                String name = simd.kernelName(pass, c.inputShape(), c.weightShape());
                kernels.add(name.substring(name.indexOf('/') + 1));
            }
        });
        boolean wide = jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() >= 512;
        Set<String> expected = wide
                ? Set.of("blocked-direct-2x4", "blocked-direct-2x4-b4", "pointwise-1x1", "plain-input-4x6",
                        "flat-plane-4x4", "row-direct-4x3", "row-direct-stride-phases")
                : Set.of("blocked-direct-2x4", "blocked-direct-2x4-b4", "flat-plane-4x4", "row-direct-4x3",
                        "row-direct-stride-phases");
        assertTrue(kernels.containsAll(expected), "the cases run " + kernels + ", not all of " + expected);
    }

    @ParameterizedTest
    @MethodSource("cases")
    void weightsChangedInPlaceArePackedAgain(ConvCase c) {
        Conv2dGeometry g = c.geometry();
        Conv2d scalar = Conv2d.create(c.options()).withImplementation(Implementation.SCALAR);
        Conv2d simd = Conv2d.create(c.options()).withImplementation(Implementation.SIMD);
        Random random = new Random(g.toString().hashCode());
        try (Arena arena = Arena.ofShared()) {
            Tensor x = TestData.smallIntegers(arena, random, g.inputShape());
            Tensor w = TestData.smallIntegers(arena, random, g.weightShape());
            Tensor b = TestData.smallIntegers(arena, random, g.biasShape());
            Tensor dz = TestData.smallIntegers(arena, random, g.outputShape());
            Tensor xb = blocked(simd, arena, x), dzb = blocked(simd, arena, dz);
            for (int step = 0; step < 3; step++) {
                String when = (step == 0 ? "first call " : "after weight change " + step + " ") + g;
                assertSameValues("forward, " + when, scalar.forward(arena, x, w, b).toArray(),
                        simd.forward(arena, x, w, b).toArray());
                Tensor yb = Tensor.allocate(arena, simd.blockedShape(g.outputShape()));
                simd.forwardBlocked(xb, w, b, yb);
                assertSameValues("blocked forward, " + when, scalar.forward(arena, x, w, b).toArray(),
                        nchw(simd, arena, yb, g.outputShape()));

                Tensor dxScalar = Tensor.allocate(arena, g.inputShape());
                Tensor dxSimd = Tensor.allocate(arena, g.inputShape());
                scalar.backwardData(dz, w, dxScalar, Accumulation.OVERWRITE);
                simd.backwardData(dz, w, dxSimd, Accumulation.OVERWRITE);
                assertSameValues("backward-data, " + when, dxScalar.toArray(), dxSimd.toArray());
                Tensor dxb = Tensor.allocate(arena, simd.blockedShape(g.inputShape()));
                simd.backwardDataBlocked(dzb, w, dxb, Accumulation.OVERWRITE);
                assertSameValues("blocked backward-data, " + when, dxScalar.toArray(),
                        nchw(simd, arena, dxb, g.inputShape()));

                // An optimiser step in place: one weight (a different one each time), then all of them.
                if (step == 0) {
                    long i = random.nextInt((int) w.elementCount());
                    w.setFlat(i, w.getFlat(i) + 1f);
                } else {
                    for (long i = 0; i < w.elementCount(); i++) {
                        w.setFlat(i, w.getFlat(i) - 1f);
                    }
                }
            }
        }
    }
}
