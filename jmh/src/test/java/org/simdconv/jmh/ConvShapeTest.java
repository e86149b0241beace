package org.simdconv.jmh;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.StringReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConvShapeTest {

    private static List<ConvShape> parse(String text) throws IOException {
        return ConvShape.parse(new BufferedReader(new StringReader(text)), "shapes.csv");
    }

    @Test
    void builtInListHasTheSharedShapes() throws IOException {
        List<ConvShape> shapes = ConvShape.builtIn();
        assertEquals(8, shapes.size());
        assertEquals("seed_conv1", shapes.getFirst().name());
        ConvShape stem = shapes.stream().filter(s -> s.name().equals("resnet_stem_7x7s2")).findFirst().orElseThrow();
        // 2 N K C R S Ho Wo = 2 * 8 * 64 * 3 * 7 * 7 * 112 * 112
        assertEquals(2L * 8 * 64 * 3 * 7 * 7 * 112 * 112, stem.geometry().flops());
    }

    @Test
    void skipsCommentsHeaderAndBlankLinesAndReadsPerDimensionPadding() throws IOException {
        List<ConvShape> shapes = parse("""
                # a comment
                name,N,C,H,W,K,R,S,stride,pad,groups

                a,1,4,17,17,8,1,7,1,0,1,0,3
                dw,2,8,9,9,8,3,3,2,1,8
                """);
        assertEquals(2, shapes.size());
        assertEquals(0, shapes.get(0).padH());
        assertEquals(3, shapes.get(0).padW());
        assertEquals(8, shapes.get(1).groups());
        assertEquals(1, shapes.get(1).padH());
    }

    @Test
    void badFilesNameTheLine() {
        var e = assertThrows(IllegalArgumentException.class, () -> parse("# x\na,1,2,3\n"));
        assertTrue(e.getMessage().startsWith("shapes.csv line 2: expected 11 or 13 fields"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("a,1,4,8,8,4,3,3,1,x,1\n"));
        assertTrue(e.getMessage().contains("line 1: field 10 'x' is not an integer"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("a,1,4,8,8,4,3,3,1,0,1\na,1,4,8,8,4,3,3,1,0,1\n"));
        assertTrue(e.getMessage().contains("line 2: shape 'a' appears twice"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("a,1,4,2,2,4,3,3,1,0,1\n"));
        assertTrue(e.getMessage().startsWith("shapes.csv line 1: "), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> parse("# nothing\n"));
        assertTrue(e.getMessage().contains("no shapes"), e.getMessage());
    }

    @Test
    void severalFilesAreReadInOrderAndShareNoName(@TempDir Path dir) throws IOException {
        Path a = Files.writeString(dir.resolve("a.csv"), "x,1,4,8,8,4,3,3,1,0,1\ny,1,4,8,8,4,3,3,1,1,1\n");
        Path b = Files.writeString(dir.resolve("b.csv"), "z,2,4,8,8,4,1,1,1,0,1\n");
        List<ConvShape> shapes = ConvShape.read(List.of(a, b));
        assertEquals(List.of("x", "y", "z"), shapes.stream().map(ConvShape::name).toList());
        assertEquals(2, shapes.get(2).n());
        Path again = Files.writeString(dir.resolve("c.csv"), "y,1,4,8,8,4,3,3,1,0,1\n");
        var e = assertThrows(IllegalArgumentException.class, () -> ConvShape.read(List.of(a, again)));
        assertEquals(again + ": shape 'y' is also in " + a, e.getMessage());
        // the forked JVMs get the files as one property and read the same list back
        String previous = System.getProperty(ConvShape.PROPERTY);
        System.setProperty(ConvShape.PROPERTY, ConvShape.propertyValue(List.of(a, b)));
        try {
            assertEquals(shapes, ConvShape.all());
        } finally {
            if (previous == null) {
                System.clearProperty(ConvShape.PROPERTY);
            } else {
                System.setProperty(ConvShape.PROPERTY, previous);
            }
        }
    }
}
