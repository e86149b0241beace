package org.simdconv.conv;

import java.util.Locale;

/**
 * Zero padding of a convolution's input: given per side, or {@code same} / {@code valid}.
 *
 * <p>{@code valid} is no padding. {@code same} pads so that the output has {@code ceil(H / stride)}
 * rows (and likewise for columns), which for stride 1 is the input size: the total padding
 * {@code max((ceil(H/s) - 1)*s + d*(R-1) + 1 - H, 0)} is split with the odd row at the bottom
 * (right), as TensorFlow and PyTorch do. PyTorch accepts {@code same} only for stride 1; simdconv
 * follows TensorFlow's rule above for larger strides.
 */
public sealed interface Padding {

    /** Padding given per side, in input pixels. */
    record Explicit(int top, int bottom, int left, int right) implements Padding {
        public Explicit {
            if (top < 0 || bottom < 0 || left < 0 || right < 0) {
                throw new IllegalArgumentException("padding must be >= 0 on every side, got top=" + top
                        + " bottom=" + bottom + " left=" + left + " right=" + right);
            }
        }

        @Override
        public String toString() {
            return top + "," + bottom + "," + left + "," + right;
        }
    }

    /** Output size {@code ceil(input / stride)}, padding split evenly, the odd one at the end. */
    record Same() implements Padding {
        @Override
        public String toString() {
            return "same";
        }
    }

    /** No padding. */
    record Valid() implements Padding {
        @Override
        public String toString() {
            return "valid";
        }
    }

    static Padding of(int all) {
        return new Explicit(all, all, all, all);
    }

    static Padding of(int height, int width) {
        return new Explicit(height, height, width, width);
    }

    static Padding of(int top, int bottom, int left, int right) {
        return new Explicit(top, bottom, left, right);
    }

    static Padding same() {
        return new Same();
    }

    static Padding valid() {
        return new Valid();
    }

    /** Parses {@code P}, {@code PH,PW}, {@code T,B,L,R}, {@code same} or {@code valid}. */
    static Padding parse(String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("same")) {
            return same();
        }
        if (t.equals("valid")) {
            return valid();
        }
        String[] parts = t.split(",", -1); // -1 keeps trailing empty parts, so "1," is an error
        try {
            int[] v = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                v[i] = Integer.parseInt(parts[i].trim());
            }
            return switch (v.length) {
                case 1 -> of(v[0]);
                case 2 -> of(v[0], v[1]);
                case 4 -> of(v[0], v[1], v[2], v[3]);
                default -> throw new IllegalArgumentException("padding '" + text
                        + "' must be P, PH,PW, T,B,L,R, same or valid");
            };
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("padding '" + text + "' must be P, PH,PW, T,B,L,R, same or valid");
        }
    }
}
