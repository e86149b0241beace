package org.simdconv.conv;

import org.simdconv.tensor.Tensor;

/**
 * Subnormal activations, flushed to zero before a pass. A multiplication or FMA with a subnormal
 * operand or result takes a microcode assist on x86 (about 150 cycles instead of a fraction of
 * one), and Java cannot set the flush-to-zero (FTZ) or denormals-are-zero (DAZ) bits of the CPU: on
 * activations scaled into the subnormal range, the forward pass of a 3x3 layer measured 160 times
 * slower ({@code ConvPassBenchmark}, {@code values=subnormal}). So a pass first samples each
 * activation it reads and, when the sample holds a subnormal, computes on a copy whose subnormals
 * are zeros of the same sign (the backend's {@code flushSubnormals}, vectorised): DAZ, as oneDNN and PyTorch's {@code set_flush_denormal} give. A
 * flushed value is below {@code 2^-126}; it changes a sum that has any normal term by less than
 * the sum's own rounding. NaN and infinities pass unchanged; the scalar oracle never flushes.
 */
final class Subnormals {

    /** Elements sampled per activation: evenly spread, a few microseconds, enough for any tensor where subnormals cost time. */
    static final int SAMPLES = 256;

    private Subnormals() {
    }

    static boolean isSubnormal(float v) {
        return v != 0 && Math.abs(v) < Float.MIN_NORMAL;
    }

    /** True when an evenly spaced sample of {@code t}'s storage holds a subnormal. */
    static boolean sampled(Tensor t) {
        long floats = t.storageBytes() / Float.BYTES;
        long step = Math.max(1, floats / SAMPLES);
        for (long i = 0; i < floats; i += step) {
            if (isSubnormal(t.segment().get(Tensor.FLOAT, t.byteOffset() + i * Float.BYTES))) {
                return true;
            }
        }
        return false;
    }
}
