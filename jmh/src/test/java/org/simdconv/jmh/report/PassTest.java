package org.simdconv.jmh.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Param;
import org.simdconv.jmh.ConvPassBenchmark;

class PassTest {

    @Test
    void idsAndPeerIds() {
        assertEquals(List.of("fwd", "fwd_nchw", "bwd_data", "bwd_weights"),
                Arrays.stream(Pass.values()).map(Pass::id).toList());
        assertEquals(List.of("fwd", "fwd_e2e", "bwd_data", "bwd_wei"),
                Arrays.stream(Pass.values()).map(Pass::peerId).toList());
    }

    @Test
    void theBenchmarkKnowsEveryPass() throws NoSuchFieldException {
        String[] values = ConvPassBenchmark.class.getField("pass").getAnnotation(Param.class).value();
        assertEquals(Arrays.stream(Pass.values()).map(Pass::id).toList(), List.of(values));
    }

    @Test
    void parsesListsInOrderWithoutRepeats() {
        assertEquals(List.of(Pass.BWD_WEIGHTS, Pass.FWD), Pass.parseList("bwd_weights, FWD,fwd"));
    }

    @Test
    void rejectsUnknownAndEmptyNames() {
        var e = assertThrows(IllegalArgumentException.class, () -> Pass.parseList("fwd,bwd_wei"));
        assertEquals("unknown pass 'bwd_wei' (passes: fwd, fwd_nchw, bwd_data, bwd_weights)", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> Pass.parseList("fwd,,bwd_data"));
        assertTrue(e.getMessage().contains("empty pass name"), e.getMessage());
    }
}
