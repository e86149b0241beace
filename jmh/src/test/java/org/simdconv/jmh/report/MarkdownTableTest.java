package org.simdconv.jmh.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class MarkdownTableTest {

    @Test
    void alignsColumnsAndMarksNumericOnesRight() {
        MarkdownTable table = new MarkdownTable(List.of("shape", "ms"),
                List.of(MarkdownTable.Align.LEFT, MarkdownTable.Align.RIGHT));
        table.addRow(List.of("resnet_3x3", "12.5"));
        table.addRow(List.of("a|b", "1"));
        assertEquals("""
                | shape      |   ms |
                | ---------- | ---: |
                | resnet_3x3 | 12.5 |
                | a\\|b       |    1 |
                """, table.render());
    }

    @Test
    void rowsMustHaveEveryColumn() {
        MarkdownTable table = new MarkdownTable(List.of("a", "b"),
                List.of(MarkdownTable.Align.LEFT, MarkdownTable.Align.LEFT));
        assertThrows(IllegalArgumentException.class, () -> table.addRow(List.of("x")));
        assertThrows(IllegalArgumentException.class,
                () -> new MarkdownTable(List.of("a"), List.of(MarkdownTable.Align.LEFT, MarkdownTable.Align.LEFT)));
    }
}
