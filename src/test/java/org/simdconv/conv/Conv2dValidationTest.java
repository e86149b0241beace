package org.simdconv.conv;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.function.Executable;
import org.simdconv.tensor.Tensor;

/**
 * Every argument {@link Conv2d}, {@link Conv2dOptions}, {@link Padding} and {@link Conv2dGeometry}
 * reject, and how: the exception type, a message that names the parameter and its value, and no
 * tensor touched ("nothing half-written": the results are filled with a sentinel beforehand and must
 * still hold it, and the operands must hold what they held).
 *
 * <p>The valid problem every case breaks in one place: input 1x2x5x5, weights 4x1x3x3 (groups 2),
 * bias 4, padding 1, output 1x4x5x5.
 */
class Conv2dValidationTest {

    static final float SENTINEL = 12345.5f;
    static final Conv2dOptions OPTIONS = Conv2dOptions.defaults().withPadding(Padding.of(1)).withGroups(2);
    static final Map<String, int[]> SHAPES = Map.of(
            "input", new int[] {1, 2, 5, 5}, "gradInput", new int[] {1, 2, 5, 5},
            "weight", new int[] {4, 1, 3, 3}, "gradWeight", new int[] {4, 1, 3, 3},
            "bias", new int[] {4}, "gradBias", new int[] {4},
            "output", new int[] {1, 4, 5, 5}, "gradOutput", new int[] {1, 4, 5, 5});

    /** The four public passes and the tensors each takes, named as in their signatures. */
    enum Pass {
        FORWARD(List.of("input", "weight", "bias", "output"), List.of("output")),
        FORWARD_ALLOCATING(List.of("input", "weight", "bias"), List.of()),
        BACKWARD_DATA(List.of("gradOutput", "weight", "gradInput"), List.of("gradInput")),
        BACKWARD_WEIGHTS(List.of("input", "gradOutput", "gradWeight", "gradBias"), List.of("gradWeight", "gradBias"));

        final List<String> roles;
        final List<String> results;

        Pass(List<String> roles, List<String> results) {
            this.roles = roles;
            this.results = results;
        }

        /** The tensor whose shape gives N, C, H, W. */
        String inputRole() {
            return this == BACKWARD_DATA ? "gradInput" : "input";
        }

        /** The tensor whose shape gives K, C/groups, R, S. */
        String weightRole() {
            return this == BACKWARD_WEIGHTS ? "gradWeight" : "weight";
        }

        boolean nullable(String role) {
            return role.equals("bias") || role.equals("gradBias");
        }

        /** Result/operand pairs that {@link Conv2d} must refuse to let overlap. */
        List<String[]> overlapPairs() {
            return switch (this) {
                case FORWARD -> List.of(pair("output", "input"), pair("output", "weight"), pair("output", "bias"));
                case FORWARD_ALLOCATING -> List.of();
                case BACKWARD_DATA -> List.of(pair("gradInput", "gradOutput"), pair("gradInput", "weight"));
                case BACKWARD_WEIGHTS -> List.of(pair("gradWeight", "input"), pair("gradWeight", "gradOutput"),
                        pair("gradBias", "gradWeight"), pair("gradBias", "input"), pair("gradBias", "gradOutput"));
            };
        }

        private static String[] pair(String result, String operand) {
            return new String[] {result, operand};
        }
    }

    /** One call of one pass: the tensors it gets, which a case then breaks. */
    static final class Call {
        final Arena arena;
        final Pass pass;
        final Map<String, Tensor> tensors = new LinkedHashMap<>();
        Conv2dOptions options = OPTIONS;
        Arena outputArena;

        Call(Arena arena, Pass pass) {
            this.arena = arena;
            this.pass = pass;
            this.outputArena = arena;
            for (String role : pass.roles) {
                tensors.put(role, fresh(role, SHAPES.get(role)));
            }
        }

        /** A result holds the sentinel; an operand holds distinct values. */
        Tensor fresh(String role, int... shape) {
            Tensor t = Tensor.allocate(arena, shape);
            return fillFor(role, t);
        }

        Tensor fillFor(String role, Tensor t) {
            if (pass.results.contains(role)) {
                return t.fill(SENTINEL);
            }
            float[] values = new float[(int) t.elementCount()];
            for (int i = 0; i < values.length; i++) {
                values[i] = (i % 7) - 3 + 0.25f * role.length();
            }
            return t.copyFrom(values);
        }

        Call set(String role, Tensor t) {
            tensors.put(role, t);
            return this;
        }

        Call reshape(String role, int... shape) {
            return set(role, fresh(role, shape));
        }

        void run() {
            Conv2d conv = Conv2d.create(options).withImplementation(Implementation.SCALAR);
            Map<String, Tensor> t = tensors;
            switch (pass) {
                case FORWARD -> conv.forward(t.get("input"), t.get("weight"), t.get("bias"), t.get("output"));
                case FORWARD_ALLOCATING -> conv.forward(outputArena, t.get("input"), t.get("weight"), t.get("bias"));
                case BACKWARD_DATA -> conv.backwardData(t.get("gradOutput"), t.get("weight"), t.get("gradInput"),
                        Accumulation.ACCUMULATE);
                case BACKWARD_WEIGHTS -> conv.backwardWeights(t.get("input"), t.get("gradOutput"), t.get("gradWeight"),
                        t.get("gradBias"), Accumulation.ACCUMULATE);
            }
        }

        /** The contents of every tensor that can still be read. */
        Map<String, float[]> snapshot() {
            Map<String, float[]> out = new LinkedHashMap<>();
            tensors.forEach((role, t) -> {
                if (t != null && t.isAlive() && t.segment().isAccessibleBy(Thread.currentThread())) {
                    out.put(role, t.toArray());
                }
            });
            return out;
        }
    }

    /** A named way to break a call, with what the rejection must say. */
    record Case(String name, Pass pass, Consumer<Call> breakIt, Class<? extends Throwable> type, List<String> says) {
        @Override
        public String toString() {
            return pass + ": " + name;
        }
    }

    static Case rejects(Pass pass, String name, Consumer<Call> breakIt, Class<? extends Throwable> type,
                        String... says) {
        return new Case(name, pass, breakIt, type, List.of(says));
    }

    // ---------------------------------------------------------------------------------------------
    // Conv2d: each pass, each way to get it wrong.
    // ---------------------------------------------------------------------------------------------

    static Stream<Case> geometryCases() {
        List<Case> cases = new ArrayList<>();
        for (Pass p : Pass.values()) {
            String in = p.inputRole(), w = p.weightRole();
            cases.add(rejects(p, "groups=3 does not divide C=2", c -> c.options = OPTIONS.withGroups(3),
                    IllegalArgumentException.class, "groups=3", "C=2"));
            cases.add(rejects(p, "groups=2 does not divide K=3", c -> c.reshape(w, 3, 1, 3, 3),
                    IllegalArgumentException.class, w, "groups=2", "K=3"));
            cases.add(rejects(p, w + " dimension 1 is not C/groups", c -> c.reshape(w, 4, 2, 3, 3),
                    IllegalArgumentException.class, w, "[4, 2, 3, 3]", "C/groups=1", "got 2"));
            cases.add(rejects(p, "kernel taller than the padded input", c -> c.reshape(w, 4, 1, 8, 3),
                    IllegalArgumentException.class, w, "empty output", "height", "5+1+1=7", "1*(8-1)+1=8"));
            cases.add(rejects(p, "dilated kernel wider than the padded input", c -> c.options = OPTIONS.withDilation(1, 4),
                    IllegalArgumentException.class, "empty output", "width", "5+1+1=7", "4*(3-1)+1=9"));
            cases.add(rejects(p, in + " of rank 3", c -> c.reshape(in, 2, 5, 5),
                    IllegalArgumentException.class, in, "4-D", "[2, 5, 5]"));
            cases.add(rejects(p, w + " of rank 2", c -> c.reshape(w, 4, 9),
                    IllegalArgumentException.class, w, "4-D", "[4, 9]"));
        }
        return cases.stream();
    }

    static Stream<Case> shapeCases() {
        return Stream.of(
                rejects(Pass.FORWARD, "output of the wrong size", c -> c.reshape("output", 1, 4, 5, 4),
                        IllegalArgumentException.class, "output", "[1, 4, 5, 4]", "[1, 4, 5, 5]"),
                rejects(Pass.FORWARD, "output of rank 3", c -> c.reshape("output", 4, 5, 5),
                        IllegalArgumentException.class, "output", "[4, 5, 5]", "[1, 4, 5, 5]"),
                rejects(Pass.FORWARD, "bias with one filter too many", c -> c.reshape("bias", 5),
                        IllegalArgumentException.class, "bias", "[5]", "[4]"),
                rejects(Pass.FORWARD, "bias of rank 2", c -> c.reshape("bias", 1, 4),
                        IllegalArgumentException.class, "bias", "[1, 4]", "[4]"),
                rejects(Pass.FORWARD_ALLOCATING, "bias with one filter too many", c -> c.reshape("bias", 5),
                        IllegalArgumentException.class, "bias", "[5]", "[4]"),
                rejects(Pass.BACKWARD_DATA, "gradOutput of the wrong size", c -> c.reshape("gradOutput", 1, 4, 4, 5),
                        IllegalArgumentException.class, "gradOutput", "[1, 4, 4, 5]", "[1, 4, 5, 5]"),
                rejects(Pass.BACKWARD_DATA, "gradOutput with the wrong K", c -> c.reshape("gradOutput", 1, 2, 5, 5),
                        IllegalArgumentException.class, "gradOutput", "[1, 2, 5, 5]", "[1, 4, 5, 5]"),
                // the input size is only known from gradInput: the mismatch shows on gradOutput, with both sizes
                rejects(Pass.BACKWARD_DATA, "gradInput of another size than gradOutput implies",
                        c -> c.reshape("gradInput", 1, 2, 6, 6),
                        IllegalArgumentException.class, "gradOutput", "[1, 4, 5, 5]", "[1, 4, 6, 6]", "ih6iw6"),
                rejects(Pass.BACKWARD_WEIGHTS, "gradOutput of the wrong size", c -> c.reshape("gradOutput", 1, 4, 5, 6),
                        IllegalArgumentException.class, "gradOutput", "[1, 4, 5, 6]", "[1, 4, 5, 5]"),
                rejects(Pass.BACKWARD_WEIGHTS, "input of another size than gradOutput implies",
                        c -> c.reshape("input", 2, 2, 5, 5),
                        IllegalArgumentException.class, "gradOutput", "[1, 4, 5, 5]", "[2, 4, 5, 5]"),
                rejects(Pass.BACKWARD_WEIGHTS, "gradBias with one filter too few", c -> c.reshape("gradBias", 3),
                        IllegalArgumentException.class, "gradBias", "[3]", "[4]"));
    }

    /** Each tensor of each pass, made non-contiguous, released, or null. */
    static Stream<Case> tensorCases() {
        List<Case> cases = new ArrayList<>();
        for (Pass p : Pass.values()) {
            for (String role : p.roles) {
                int[] shape = SHAPES.get(role);
                long[] strides = nonContiguousStrides(shape);
                cases.add(rejects(p, role + " not contiguous", c -> c.set(role, c.fillFor(role, strided(c.arena, shape))),
                        IllegalArgumentException.class, role, "contiguous", Arrays.toString(strides)));
                cases.add(rejects(p, role + " in a closed arena", c -> c.set(role, released(shape)),
                        IllegalStateException.class, role, "released"));
                cases.add(rejects(p, role + " confined to another thread", c -> c.set(role, confinedElsewhere(shape)),
                        WrongThreadException.class, role, "confined to another thread"));
                if (!p.nullable(role)) {
                    cases.add(rejects(p, role + " null", c -> c.set(role, null), NullPointerException.class, role));
                }
            }
            for (String[] pair : p.overlapPairs()) {
                cases.add(rejects(p, pair[0] + " overlapping " + pair[1], c -> overlap(c, pair[0], pair[1]),
                        IllegalArgumentException.class, pair[0] + " overlaps " + pair[1]));
            }
        }
        cases.add(rejects(Pass.FORWARD_ALLOCATING, "null arena", c -> c.outputArena = null,
                NullPointerException.class, "arena"));
        cases.add(rejects(Pass.FORWARD_ALLOCATING, "closed arena for the output", c -> {
            Arena closed = Arena.ofConfined();
            closed.close();
            c.outputArena = closed;
        }, IllegalStateException.class, "closed"));
        return cases.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource({"geometryCases", "shapeCases", "tensorCases"})
    void rejectsAndLeavesEveryTensorAsItWas(Case c) {
        try (Arena arena = Arena.ofConfined()) {
            Call call = new Call(arena, c.pass());
            c.breakIt().accept(call);
            assertRejectedUntouched(call, c.type(), c.says());
        }
    }

    @ParameterizedTest
    @MethodSource("backwardPasses")
    void backwardPassesRequireAnAccumulationMode(Pass pass) {
        try (Arena arena = Arena.ofConfined()) {
            Call call = new Call(arena, pass);
            Conv2d conv = Conv2d.create(OPTIONS).withImplementation(Implementation.SCALAR);
            Map<String, Tensor> t = call.tensors;
            Map<String, float[]> before = call.snapshot();
            Executable run = pass == Pass.BACKWARD_DATA
                    ? () -> conv.backwardData(t.get("gradOutput"), t.get("weight"), t.get("gradInput"), null)
                    : () -> conv.backwardWeights(t.get("input"), t.get("gradOutput"), t.get("gradWeight"),
                            t.get("gradBias"), null);
            NullPointerException e = assertThrows(NullPointerException.class, run);
            assertEquals("mode", e.getMessage());
            assertUnchanged(before, call.snapshot());
        }
    }

    static Stream<Pass> backwardPasses() {
        return Stream.of(Pass.BACKWARD_DATA, Pass.BACKWARD_WEIGHTS);
    }

    /** The valid problem itself passes, so every rejection above comes from the one thing broken. */
    @ParameterizedTest
    @MethodSource("allPasses")
    void theUnbrokenProblemRuns(Pass pass) {
        try (Arena arena = Arena.ofConfined()) {
            Call call = new Call(arena, pass);
            call.run();
            for (String result : pass.results) {
                float[] values = call.tensors.get(result).toArray();
                assertTrue(Arrays.stream(toBoxed(values)).anyMatch(v -> v != SENTINEL), result + " was written");
            }
        }
    }

    static Stream<Pass> allPasses() {
        return Stream.of(Pass.values());
    }

    // ---------------------------------------------------------------------------------------------
    // Conv2dGeometry: sizes, and the non-positive ones it refuses.
    // ---------------------------------------------------------------------------------------------

    static Stream<Arguments> nonPositiveDimensions() {
        List<Arguments> out = new ArrayList<>();
        String[] inputNames = {"N", "C", "H", "W"};
        String[] weightNames = {"K", "C/groups", "R", "S"};
        for (int value : new int[] {0, -1}) {
            for (int i = 0; i < 4; i++) {
                int[] input = {1, 2, 5, 5};
                input[i] = value;
                out.add(Arguments.of("input", inputNames[i], value, input, new int[] {4, 2, 3, 3}));
                int[] weight = {4, 2, 3, 3};
                weight[i] = value;
                out.add(Arguments.of("weight", weightNames[i], value, new int[] {1, 2, 5, 5}, weight));
            }
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0} {1}={2}")
    @MethodSource("nonPositiveDimensions")
    void geometryRejectsNonPositiveDimensions(String tensor, String dimension, int value, int[] input, int[] weight) {
        Conv2d conv = Conv2d.create(Conv2dOptions.defaults());
        for (Executable call : List.<Executable>of(
                () -> Conv2dGeometry.of(input, weight, Conv2dOptions.defaults()),
                () -> conv.geometry(input, weight))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, call);
            assertMentions(e, tensor, "dimension " + dimension, dimension + "=" + value,
                    Arrays.toString(tensor.equals("input") ? input : weight));
        }
    }

    @Test
    void tensorsPastTwoToTheThirtyOneElementsAreRefusedByName() {
        IllegalArgumentException input = assertThrows(IllegalArgumentException.class,
                () -> Conv2dGeometry.of(2, 1, 40_000, 40_000, 1, 1, 1, Conv2dOptions.defaults()));
        assertMentions(input, "input would hold 3200000000 elements", "split the batch");
        IllegalArgumentException output = assertThrows(IllegalArgumentException.class,
                () -> Conv2dGeometry.of(1, 1, 30_000, 30_000, 4, 1, 1, Conv2dOptions.defaults()));
        assertMentions(output, "output would hold 3600000000 elements");
        IllegalArgumentException weight = assertThrows(IllegalArgumentException.class,
                () -> Conv2dGeometry.of(1, 50_000, 3, 3, 50_000, 1, 1, Conv2dOptions.defaults()));
        assertMentions(weight, "weight would hold 2500000000 elements");
    }

    @Test
    void aGeometryBuiltDirectlyMustBeConsistent() {
        Conv2dGeometry good = Conv2dGeometry.of(new int[] {2, 4, 9, 9}, new int[] {6, 2, 3, 3},
                Conv2dOptions.defaults().withGroups(2).withStride(2));
        assertEquals(good, new Conv2dGeometry(2, 4, 9, 9, 6, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 2, 4, 4));
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> new Conv2dGeometry(2, 4, 9, 9, 6, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 2, 5, 4)), "5x4", "4x4");
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> new Conv2dGeometry(2, 4, 9, 9, 6, 3, 3, 0, 2, 0, 0, 0, 0, 1, 1, 2, 4, 4)), "strideH=0");
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> new Conv2dGeometry(2, 4, 9, 9, 6, 3, 3, 2, 2, -1, 0, 0, 0, 1, 1, 2, 4, 4)), "top=-1");
        assertMentions(assertThrows(IllegalArgumentException.class,
                () -> new Conv2dGeometry(2, 4, 9, 9, 6, 3, 3, 2, 2, 0, 0, 0, 0, 1, 1, 4, 4, 4)), "groups=4", "K=6");
    }

    @Test
    void geometryRejectsNullArguments() {
        assertEquals("inputShape", assertThrows(NullPointerException.class,
                () -> Conv2dGeometry.of(null, new int[] {1, 1, 1, 1}, OPTIONS)).getMessage());
        assertEquals("weightShape", assertThrows(NullPointerException.class,
                () -> Conv2dGeometry.of(new int[] {1, 1, 1, 1}, null, OPTIONS)).getMessage());
        assertEquals("options", assertThrows(NullPointerException.class,
                () -> Conv2dGeometry.of(new int[] {1, 1, 1, 1}, new int[] {1, 1, 1, 1}, null)).getMessage());
    }

    /**
     * {@code same}: output ceil(size / stride); total padding
     * {@code max((out-1)*stride + dilation*(kernel-1) + 1 - size, 0)}, the odd one at the bottom/right
     * (TensorFlow's rule). Each row is checked on the height axis and, transposed, on the width axis.
     */
    @ParameterizedTest(name = "size {0}, kernel {1}, stride {2}, dilation {3} -> out {4}, pad {5}+{6}")
    @CsvSource({
            // size, kernel, stride, dilation, out, before, after
            "5, 3, 1, 1, 5, 1, 1",
            "5, 4, 1, 1, 5, 1, 2",   // odd total 3: the extra row goes to the bottom
            "5, 2, 1, 1, 5, 0, 1",
            "5, 1, 1, 1, 5, 0, 0",
            "5, 3, 1, 2, 5, 2, 2",   // dilated extent 5
            "7, 3, 2, 1, 4, 1, 1",   // (4-1)*2 + 3 - 7 = 2
            "6, 3, 2, 1, 3, 0, 1",   // (3-1)*2 + 3 - 6 = 1
            "5, 1, 2, 1, 3, 0, 0",   // (3-1)*2 + 1 - 5 = 0
            "8, 3, 3, 1, 3, 0, 1",   // (3-1)*3 + 3 - 8 = 1
            "10, 1, 4, 1, 3, 0, 0",  // (3-1)*4 + 1 - 10 = -1: never negative
            "6, 5, 2, 1, 3, 1, 2",   // (3-1)*2 + 5 - 6 = 3
    })
    void samePaddingFollowsTheTensorFlowRule(int size, int kernel, int stride, int dilation, int out, int before,
                                             int after) {
        Conv2dOptions same = Conv2dOptions.defaults().withPadding(Padding.same()).withStride(stride)
                .withDilation(dilation);
        Conv2dGeometry tall = Conv2dGeometry.of(new int[] {1, 1, size, 3}, new int[] {1, 1, kernel, 1}, same);
        assertEquals(List.of(out, before, after), List.of(tall.outH(), tall.padTop(), tall.padBottom()), "height");
        assertEquals(Math.ceilDiv(size, stride), tall.outH(), "ceil(size / stride)");
        Conv2dGeometry wide = Conv2dGeometry.of(new int[] {1, 1, 3, size}, new int[] {1, 1, 1, kernel}, same);
        assertEquals(List.of(out, before, after), List.of(wide.outW(), wide.padLeft(), wide.padRight()), "width");
    }

    @Test
    void validPaddingIsNone() {
        Conv2dGeometry g = Conv2dGeometry.of(new int[] {1, 1, 7, 6}, new int[] {1, 1, 3, 2},
                Conv2dOptions.defaults().withPadding(Padding.valid()).withStride(2));
        assertEquals(List.of(0, 0, 0, 0), List.of(g.padTop(), g.padBottom(), g.padLeft(), g.padRight()));
        assertEquals(3, g.outH());   // (7 - 3)/2 + 1
        assertEquals(3, g.outW());   // (6 - 2)/2 + 1
    }

    @Test
    void explicitPaddingIsPerSide() {
        Conv2dGeometry g = Conv2dGeometry.of(new int[] {1, 1, 4, 4}, new int[] {1, 1, 3, 3},
                Conv2dOptions.defaults().withPadding(Padding.of(1, 2, 3, 0)));
        assertEquals(List.of(1, 2, 3, 0), List.of(g.padTop(), g.padBottom(), g.padLeft(), g.padRight()));
        assertEquals(5, g.outH());   // 4 + 1 + 2 - 3 + 1
        assertEquals(5, g.outW());   // 4 + 3 + 0 - 3 + 1
    }

    @Test
    void flopsCountTwoPerMultiplyAddInLong() {
        // 2 N K (C/g) R S Ho Wo = 2 * 2 * 6 * 2 * 3 * 2 * 3 * 5
        Conv2dGeometry small = Conv2dGeometry.of(new int[] {2, 4, 5, 6}, new int[] {6, 2, 3, 2},
                Conv2dOptions.defaults().withGroups(2));
        assertEquals(List.of(3, 5), List.of(small.outH(), small.outW()));
        assertEquals(4320L, small.flops());
        // ResNet-like layer: 2 * 64 * 512 * 512 * 9 * 56 * 56 does not fit in an int
        Conv2dGeometry large = Conv2dGeometry.of(new int[] {64, 512, 56, 56}, new int[] {512, 512, 3, 3},
                Conv2dOptions.defaults().withPadding(Padding.of(1)));
        assertEquals(2L * 64 * 512 * 512 * 9 * 56 * 56, large.flops());
    }

    @Test
    void toStringIsTheBenchdnnDescriptor() {
        Conv2dGeometry g = Conv2dGeometry.of(new int[] {2, 4, 9, 8}, new int[] {2, 2, 3, 2},
                Conv2dOptions.defaults().withGroups(2).withStride(2, 3).withDilation(2, 1)
                        .withPadding(Padding.of(0, 2, 1, 0)));
        assertEquals("g2mb2ic4ih9iw8oc2oh4ow3kh3kw2sh2sw3pt0pb2pl1pr0dh2dw1", g.toString());
    }

    @Test
    void shapesAndPerGroupCounts() {
        Conv2dGeometry g = Conv2dGeometry.of(new int[] {2, 6, 5, 7}, new int[] {9, 2, 3, 1},
                Conv2dOptions.defaults().withGroups(3));
        assertEquals(2, g.channelsPerGroup());
        assertEquals(3, g.filtersPerGroup());
        assertArrayEquals(new int[] {2, 6, 5, 7}, g.inputShape());
        assertArrayEquals(new int[] {9, 2, 3, 1}, g.weightShape());
        assertArrayEquals(new int[] {9}, g.biasShape());
        assertArrayEquals(new int[] {2, 9, 3, 7}, g.outputShape());
        assertEquals(g, Conv2dGeometry.of(2, 6, 5, 7, 9, 3, 1, Conv2dOptions.defaults().withGroups(3)));
    }

    // ---------------------------------------------------------------------------------------------
    // Conv2dOptions and Padding.
    // ---------------------------------------------------------------------------------------------

    @Test
    void optionsRejectNonPositiveStrideDilationAndGroups() {
        Conv2dOptions d = Conv2dOptions.defaults();
        assertMentions(assertThrows(IllegalArgumentException.class, () -> d.withStride(0)),
                "stride", "strideH=0", "strideW=0");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> d.withStride(1, -2)),
                "stride", "strideH=1", "strideW=-2");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> d.withDilation(0)),
                "dilation", "dilationH=0", "dilationW=0");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> d.withDilation(3, 0)),
                "dilation", "dilationH=3", "dilationW=0");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> d.withGroups(0)), "groups=0");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> d.withGroups(-4)), "groups=-4");
        assertEquals("padding", assertThrows(NullPointerException.class, () -> d.withPadding(null)).getMessage());
    }

    @Test
    void paddingRejectsNegativeSides() {
        assertMentions(assertThrows(IllegalArgumentException.class, () -> Padding.of(-1)), "padding", "top=-1",
                "bottom=-1", "left=-1", "right=-1");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> Padding.of(0, -3)), "left=-3", "right=-3");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> Padding.of(0, 0, 0, -2)), "right=-2");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> Padding.of(0, -5, 0, 0)), "bottom=-5");
    }

    @ParameterizedTest(name = "\"{0}\"")
    @ValueSource(strings = {"", " ", "abc", "1,2,3", "1,2,3,4,5", "1.5", "same,1", "1;2", "one", "0x2",
            "99999999999"})
    void paddingParseRejectsMalformedText(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Padding.parse(text));
        assertMentions(e, "'" + text + "'", "P, PH,PW, T,B,L,R, same or valid");
    }

    @Test
    void paddingParseRejectsNegativeValuesNamingTheSide() {
        assertMentions(assertThrows(IllegalArgumentException.class, () -> Padding.parse("1,-2")), "left=-2");
        assertMentions(assertThrows(IllegalArgumentException.class, () -> Padding.parse("-1")), "top=-1");
    }

    /** {@code String.split} drops trailing empty strings, so "1," is read as "1". */
    @ParameterizedTest(name = "\"{0}\"")
    @ValueSource(strings = {"1,", "1,2,", "1,2,,", ",1"})
    void paddingParseRejectsEmptyParts(String text) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Padding.parse(text));
        assertMentions(e, "'" + text + "'");
    }

    @Test
    void paddingParseAcceptsEveryDocumentedForm() {
        assertEquals(new Padding.Explicit(3, 3, 3, 3), Padding.parse("3"));
        assertEquals(new Padding.Explicit(1, 1, 2, 2), Padding.parse("1,2"));
        assertEquals(new Padding.Explicit(1, 1, 2, 2), Padding.parse(" 1 , 2 "));
        assertEquals(new Padding.Explicit(1, 2, 3, 4), Padding.parse("1,2,3,4"));
        assertInstanceOf(Padding.Same.class, Padding.parse(" SAME "));
        assertInstanceOf(Padding.Valid.class, Padding.parse("Valid"));
        assertEquals("1,2,3,4", Padding.parse("1,2,3,4").toString());
        assertEquals("same", Padding.same().toString());
        assertEquals("valid", Padding.valid().toString());
    }

    // ---------------------------------------------------------------------------------------------
    // helpers
    // ---------------------------------------------------------------------------------------------

    /** The call fails with {@code type}, a message naming all of {@code says}, and no tensor changed. */
    static void assertRejectedUntouched(Call call, Class<? extends Throwable> type, List<String> says) {
        Map<String, float[]> before = call.snapshot();
        for (String result : call.pass.results) {
            float[] values = before.get(result);
            if (values != null && call.tensors.get(result).hasShape(SHAPES.get(result))) {
                assertTrue(Arrays.stream(toBoxed(values)).allMatch(v -> v == SENTINEL), result + " holds the sentinel");
            }
        }
        Throwable e = assertThrows(type, call::run);
        assertMentions(e, says.toArray(String[]::new));
        assertUnchanged(before, call.snapshot());
    }

    static void assertUnchanged(Map<String, float[]> before, Map<String, float[]> after) {
        assertEquals(before.keySet(), after.keySet(), "no tensor was released by the call");
        before.forEach((role, values) ->
                assertArrayEquals(values, after.get(role), 0f, "nothing half-written: " + role + " changed"));
    }

    static void assertMentions(Throwable e, String... fragments) {
        String message = e.getMessage();
        assertNotNull(message, e + " has no message");
        for (String fragment : fragments) {
            assertTrue(message.contains(fragment), "message should mention \"" + fragment + "\": " + message);
        }
    }

    /** Strides that make a tensor of {@code shape} non-contiguous: the last two axes swapped, or stride 2. */
    static long[] nonContiguousStrides(int[] shape) {
        if (shape.length == 1) {
            return new long[] {2};
        }
        long[] s = new long[shape.length];
        int r = shape.length;
        s[r - 2] = 1;
        s[r - 1] = shape[r - 2];
        long stride = (long) shape[r - 2] * shape[r - 1];
        for (int d = r - 3; d >= 0; d--) {
            s[d] = stride;
            stride *= shape[d];
        }
        return s;
    }

    static Tensor strided(Arena arena, int[] shape) {
        long count = 1;
        for (int d : shape) {
            count *= d;
        }
        MemorySegment segment = arena.allocate(2 * count * Float.BYTES, Tensor.ALIGNMENT);
        Tensor t = Tensor.view(segment, 0, shape, nonContiguousStrides(shape));
        assertTrue(!t.isContiguous(), "the view must really be non-contiguous");
        return t;
    }

    /** A tensor of the right shape whose arena is already closed. */
    static Tensor released(int[] shape) {
        Arena arena = Arena.ofConfined();
        Tensor t = Tensor.allocate(arena, shape);
        arena.close();
        return t;
    }

    /**
     * A tensor of the right shape in a confined arena of another thread, left open (a few floats per
     * case): this thread may not touch it.
     */
    static Tensor confinedElsewhere(int[] shape) {
        java.util.concurrent.atomic.AtomicReference<Tensor> made = new java.util.concurrent.atomic.AtomicReference<>();
        Thread owner = new Thread(() -> made.set(Tensor.allocate(Arena.ofConfined(), shape)));
        owner.start();
        try {
            owner.join();
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        return made.get();
    }

    /** Puts {@code result} and {@code operand} on one segment, overlapping by all but one float. */
    static void overlap(Call call, String result, String operand) {
        int[] resultShape = SHAPES.get(result), operandShape = SHAPES.get(operand);
        long resultBytes = count(resultShape) * Float.BYTES, operandBytes = count(operandShape) * Float.BYTES;
        MemorySegment shared = call.arena.allocate(resultBytes + operandBytes, Tensor.ALIGNMENT);
        call.set(operand, call.fillFor(operand, Tensor.wrap(shared.asSlice(Float.BYTES, operandBytes), operandShape)));
        call.set(result, call.fillFor(result, Tensor.wrap(shared.asSlice(0, resultBytes), resultShape)));
    }

    static long count(int[] shape) {
        long n = 1;
        for (int d : shape) {
            n *= d;
        }
        return n;
    }

    static Float[] toBoxed(float[] values) {
        Float[] out = new Float[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
    }
}
