package org.simdconv.internal.simd.common;

import java.nio.ByteOrder;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * This machine's vectors as every kernel sees them, decided once: the preferred float species
 * (a {@code static final} constant, which C2 needs to compile vector code to instructions), its
 * lanes, which are also the channels of a block of the channel-blocked layout, and whether there
 * are 32 vector registers.
 */
public final class Vectors {

    /** The widest float vector this machine runs natively: 16 lanes with AVX-512, 8 with AVX2. */
    public static final VectorSpecies<Float> SPECIES = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector, and channels per block of the blocked layout. */
    public static final int LANES = SPECIES.length();
    /**
     * True when the machine has the 32 vector registers of AVX-512, taken from the preferred width
     * (512 bits). Tiles with more than about 16 live vectors are used only then: with the 16
     * registers of AVX2 they would spill.
     */
    public static final boolean THIRTY_TWO_REGISTERS = SPECIES.vectorBitSize() >= 512;
    /** Native byte order: any other adds a byte swap to every vector load and store. */
    public static final ByteOrder ORDER = ByteOrder.nativeOrder();

    /** Each thread's index map for gathers and scatters of lanes a fixed stride apart ({@link #strideMap}). */
    private static final ThreadLocal<int[]> STRIDE_MAP = ThreadLocal.withInitial(() -> new int[LANES]);

    private Vectors() {
    }

    /**
     * This thread's index map {@code i * stride} for lane {@code i}, for one gather (or scatter) of
     * {@code lanes} floats {@code stride} apart; valid until this thread asks again. One fixed
     * array per thread: packing weights allocates nothing.
     */
    public static int[] strideMap(int stride) {
        int[] map = STRIDE_MAP.get();
        for (int i = 0; i < LANES; i++) {
            map[i] = i * stride;
        }
        return map;
    }
}
