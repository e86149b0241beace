package org.simdconv.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import org.simdconv.conv.Conv2d;
import picocli.CommandLine.IVersionProvider;

/** {@code simdconv --version}: the project version (from the jar's Maven descriptor), Java, Vector API. */
final class VersionProvider implements IVersionProvider {

    private static final String POM_PROPERTIES = "/META-INF/maven/org.simdconv/simdconv/pom.properties";

    @Override
    public String[] getVersion() {
        return new String[] {
            "simdconv " + projectVersion(),
            "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
            "Vector API: " + (Conv2d.simdAvailable() ? "available" : "not available (scalar kernels only)"),
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
        String version = VersionProvider.class.getPackage().getImplementationVersion();
        return version != null ? version : "(development build)";
    }
}
