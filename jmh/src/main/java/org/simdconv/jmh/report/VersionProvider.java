package org.simdconv.jmh.report;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import picocli.CommandLine.IVersionProvider;

/** {@code simdconv bench --version}: the benchmarks' version, Java, and the vector width. */
public final class VersionProvider implements IVersionProvider {

    private static final String POM_PROPERTIES = "/META-INF/maven/org.simdconv/simdconv-jmh/pom.properties";

    @Override
    public String[] getVersion() {
        return new String[] {
            "simdconv benchmarks " + projectVersion() + " (JMH)",
            "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
            "FloatVector.SPECIES_PREFERRED: " + Lanes.preferred() + " lanes, " + Lanes.bits() + " bits",
        };
    }

    private static String projectVersion() {
        try (InputStream in = VersionProvider.class.getResourceAsStream(POM_PROPERTIES)) {
            if (in != null) {
                Properties properties = new Properties();
                properties.load(in);
                String version = properties.getProperty("version");
                if (version != null) {
                    return version;
                }
            }
        } catch (IOException e) {
            // fall through: a version is not worth failing for
        }
        return "(development build)";
    }
}
