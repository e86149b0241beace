package org.simdconv.cli;

import java.io.IOException;
import java.io.InputStream;
import java.util.Properties;
import org.simdconv.conv.Conv2d;
import picocli.CommandLine.IVersionProvider;

/** {@code simdconv --version}: the project version (from the jar's Maven descriptor), Java, Vector API. */
public final class VersionProvider implements IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {
            "simdconv " + versionOf("simdconv"),
            "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
            "Vector API: " + (Conv2d.simdAvailable() ? "available" : "not available (scalar kernels only)"),
        };
    }

    /** The version of artifact {@code org.simdconv:<artifactId>}, from the Maven descriptor in its jar. */
    public static String versionOf(String artifactId) {
        String descriptor = "/META-INF/maven/org.simdconv/" + artifactId + "/pom.properties";
        try (InputStream in = VersionProvider.class.getResourceAsStream(descriptor)) {
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
