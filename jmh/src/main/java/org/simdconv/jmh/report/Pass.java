package org.simdconv.jmh.report;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import org.simdconv.conv.Conv2dPass;

/**
 * The passes that {@code simdconv bench} times, by their ids in the benchmark
 * ({@link org.simdconv.jmh.ConvPassBenchmark}'s {@code pass} parameter) and in the peer's CSV.
 *
 * <p>{@link #FWD}, {@link #BWD_DATA} and {@link #BWD_WEIGHTS} run a {@code Conv2dPlan} on activations
 * already in the layout it prefers, as the peer's primitives run on the layouts they choose;
 * {@link #FWD_NCHW} runs it on NCHW tensors, its reorders included, as the peer's {@code fwd_e2e}.
 */
public enum Pass {
    FWD("fwd", "fwd", Conv2dPass.FORWARD),
    FWD_NCHW("fwd_nchw", "fwd_e2e", Conv2dPass.FORWARD),
    BWD_DATA("bwd_data", "bwd_data", Conv2dPass.BACKWARD_DATA),
    BWD_WEIGHTS("bwd_weights", "bwd_wei", Conv2dPass.BACKWARD_WEIGHTS);

    private final String id;
    private final String peerId;
    private final Conv2dPass convPass;

    Pass(String id, String peerId, Conv2dPass convPass) {
        this.id = id;
        this.peerId = peerId;
        this.convPass = convPass;
    }

    /** The library's pass that this benchmark pass runs. */
    public Conv2dPass convPass() {
        return convPass;
    }

    /** The id in the benchmark and in our CSV: fwd, fwd_nchw, bwd_data, bwd_weights. */
    public String id() {
        return id;
    }

    /** The id of the same pass in the peer's (oneDNN harness's) CSV: fwd, fwd_e2e, bwd_data, bwd_wei. */
    public String peerId() {
        return peerId;
    }

    /** All ids, comma-separated, in order. */
    public static String allIds() {
        return Arrays.stream(values()).map(Pass::id).collect(Collectors.joining(","));
    }

    /** The pass with that id (case-insensitive). */
    public static Pass of(String id) {
        String wanted = id.strip().toLowerCase(Locale.ROOT);
        for (Pass pass : values()) {
            if (pass.id.equals(wanted)) {
                return pass;
            }
        }
        throw new IllegalArgumentException("unknown pass '" + id.strip() + "' (passes: "
                + allIds().replace(",", ", ") + ")");
    }

    /** A comma-separated list of ids, in the given order, each once. */
    public static List<Pass> parseList(String list) {
        List<Pass> passes = new ArrayList<>();
        for (String part : list.split(",", -1)) {
            if (part.isBlank()) {
                throw new IllegalArgumentException("--passes '" + list + "': empty pass name (passes: "
                        + allIds().replace(",", ", ") + ")");
            }
            Pass pass = of(part);
            if (!passes.contains(pass)) {
                passes.add(pass);
            }
        }
        return List.copyOf(passes);
    }
}
