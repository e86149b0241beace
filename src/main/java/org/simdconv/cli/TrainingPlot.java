package org.simdconv.cli;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.plot.CombinedDomainXYPlot;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.xy.XYLineAndShapeRenderer;
import org.jfree.data.xy.XYSeries;
import org.jfree.data.xy.XYSeriesCollection;
import org.simdconv.io.AtomicFile;
import org.simdconv.train.Trainer;

/**
 * The plot {@code train} writes beside its log or model: train and test loss above, test accuracy
 * below, by epoch, drawn by JFreeChart into a PNG (written atomically, as every output).
 */
final class TrainingPlot {

    private static final int WIDTH = 800;
    private static final int HEIGHT = 600;

    private TrainingPlot() {
    }

    static void write(Path file, String model, List<Trainer.EpochResult> results) throws IOException {
        System.setProperty("java.awt.headless", "true"); // no display needed, nor wanted
        XYSeries trainLoss = new XYSeries("train loss");
        XYSeries testLoss = new XYSeries("test loss");
        XYSeries accuracy = new XYSeries("test accuracy");
        for (Trainer.EpochResult r : results) {
            trainLoss.add(r.epoch(), r.trainLoss());
            testLoss.add(r.epoch(), r.testLoss());
            accuracy.add(r.epoch(), r.testAccuracy());
        }
        XYSeriesCollection losses = new XYSeriesCollection();
        losses.addSeries(trainLoss);
        losses.addSeries(testLoss);
        NumberAxis lossAxis = new NumberAxis("loss");
        lossAxis.setAutoRangeIncludesZero(false);
        XYPlot lossPlot = new XYPlot(losses, null, lossAxis, renderer(new Color(0x1f77b4), new Color(0xff7f0e)));
        NumberAxis accuracyAxis = new NumberAxis("test accuracy");
        accuracyAxis.setAutoRangeIncludesZero(false);
        XYPlot accuracyPlot = new XYPlot(new XYSeriesCollection(accuracy), null, accuracyAxis,
                renderer(new Color(0x2ca02c)));
        NumberAxis epochAxis = new NumberAxis("epoch");
        epochAxis.setStandardTickUnits(NumberAxis.createIntegerTickUnits());
        CombinedDomainXYPlot plot = new CombinedDomainXYPlot(epochAxis);
        plot.add(lossPlot, 1);
        plot.add(accuracyPlot, 1);
        JFreeChart chart = new JFreeChart("simdconv: " + model + " on Fashion-MNIST", JFreeChart.DEFAULT_TITLE_FONT,
                plot, true);
        chart.setBackgroundPaint(Color.WHITE);
        BufferedImage image = chart.createBufferedImage(WIDTH, HEIGHT);
        ByteArrayOutputStream png = new ByteArrayOutputStream();
        ImageIO.write(image, "png", png);
        byte[] bytes = png.toByteArray();
        AtomicFile.write(file, channel -> AtomicFile.writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    private static XYLineAndShapeRenderer renderer(Color... colors) {
        XYLineAndShapeRenderer renderer = new XYLineAndShapeRenderer(true, true);
        for (int i = 0; i < colors.length; i++) {
            renderer.setSeriesPaint(i, colors[i]);
            renderer.setSeriesStroke(i, new BasicStroke(2f));
        }
        return renderer;
    }
}
