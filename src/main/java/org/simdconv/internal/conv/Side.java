package org.simdconv.internal.conv;

/**
 * The two activations of every pass: the input side (the input {@code x}, or its gradient in
 * backward-data) and the output side (the output {@code y}, or its gradient). A primitive says,
 * per side, which layouts it computes on directly ({@link ConvPrimitive#takes}).
 */
public enum Side {
    INPUT,
    OUTPUT
}
