package org.simdconv.jmh.report;

import picocli.CommandLine.IVersionProvider;

/** {@code simdconv bench --version}: the benchmarks' version, Java, and the vector width. */
public final class VersionProvider implements IVersionProvider {

    @Override
    public String[] getVersion() {
        return new String[] {
            "simdconv benchmarks " + projectVersion() + " (JMH)",
            "Java " + Runtime.version() + " (" + System.getProperty("java.vm.name") + ")",
            "FloatVector.SPECIES_PREFERRED: " + Lanes.preferred() + " lanes, " + Lanes.bits() + " bits",
        };
    }

    private static String projectVersion() {
        return org.simdconv.cli.VersionProvider.versionOf("simdconv-jmh");
    }
}
