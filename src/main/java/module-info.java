/**
 * simdconv: convolutional neural networks on the CPU with the Java Vector API over off-heap memory.
 *
 * <p>The exported packages are the API: {@link org.simdconv.tensor tensors and their layouts},
 * {@link org.simdconv.conv the convolution}, {@link org.simdconv.nn layers, models, losses and the
 * optimiser}, {@link org.simdconv.train training}, {@link org.simdconv.data data sets},
 * {@link org.simdconv.parallel threads and workspaces}, {@link org.simdconv.io files} and the
 * {@link org.simdconv.demo seed's demo}. Everything under
 * {@code org.simdconv.internal} (the kernels, the scalar oracle, the choice between them) is
 * hidden, as Lucene hides its {@code internal.vectorization} package: callers go through the API,
 * which checks every argument before a kernel runs.
 *
 * <p>{@code jdk.incubator.vector} is optional: without it (start the JVM with
 * {@code --add-modules jdk.incubator.vector}) the library runs its scalar path and says so once.
 * picocli, progressbar and JFreeChart are needed only by the command line ({@code org.simdconv.cli}).
 */
module org.simdconv {
    requires static jdk.incubator.vector;
    requires static info.picocli;
    requires static me.tongfei.progressbar;
    requires static org.jfree.jfreechart;
    requires static java.desktop;

    exports org.simdconv.tensor;
    exports org.simdconv.conv;
    exports org.simdconv.parallel;
    exports org.simdconv.io;
    exports org.simdconv.nn;
    exports org.simdconv.data;
    exports org.simdconv.train;
    exports org.simdconv.demo;

    opens org.simdconv.cli to info.picocli;
}
