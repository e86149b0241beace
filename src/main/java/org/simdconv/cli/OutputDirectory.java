package org.simdconv.cli;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A command's output directory, replaced whole: the files are written into a temporary folder
 * beside it, which then takes its place, so they appear together or not at all, and never beside
 * the files of an earlier run. A directory that holds anything else than such files is refused
 * before anything is computed, so no user file is ever deleted.
 */
final class OutputDirectory {

    /** Writes one run's files into the directory it is given. */
    @FunctionalInterface
    interface Writer {
        void writeInto(Path directory) throws IOException;
    }

    private final String option;
    private final Path target;
    private final Set<String> names;

    /**
     * The directory {@code target}, given by {@code option}, into which a run writes files of the
     * given {@code names} only.
     */
    OutputDirectory(String option, Path target, Set<String> names) {
        this.option = option;
        this.target = target.toAbsolutePath().normalize();
        this.names = Set.copyOf(names);
    }

    /**
     * Checks that the directory is missing, or a directory holding only files of an earlier run.
     *
     * @throws IllegalArgumentException naming the option and the first file of another kind
     */
    void check() throws IOException {
        if (!Files.exists(target)) {
            return;
        }
        if (!Files.isDirectory(target)) {
            throw new IllegalArgumentException(option + " " + target + " exists and is not a directory");
        }
        Set<String> others = new TreeSet<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(target)) {
            for (Path entry : entries) {
                String name = entry.getFileName().toString();
                if (!names.contains(name) || !Files.isRegularFile(entry)) {
                    others.add(name);
                }
            }
        }
        if (!others.isEmpty()) {
            throw new IllegalArgumentException(option + " " + target + " holds " + others.iterator().next()
                    + (others.size() > 1 ? " and " + (others.size() - 1) + " other entries" : "")
                    + ", which this command did not write; it replaces the whole directory, so give a new or "
                    + "empty one");
        }
    }

    /** Runs {@code writer} on a fresh temporary folder beside the target, then puts it in the target's place. */
    void replaceWith(Writer writer) throws IOException {
        check();
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path fresh = Files.createTempDirectory(parent, "." + target.getFileName() + ".new-");
        Path old = null;
        try {
            writer.writeInto(fresh);
            if (Files.exists(target)) {
                check(); // still only an earlier run's files
                old = Files.createTempDirectory(parent, "." + target.getFileName() + ".old-");
                Files.delete(old);
                Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
            }
            Files.move(fresh, target, StandardCopyOption.ATOMIC_MOVE);
            fresh = null;
        } finally {
            if (fresh != null) {
                deleteTree(fresh);
                if (old != null && !Files.exists(target)) {
                    Files.move(old, target, StandardCopyOption.ATOMIC_MOVE); // put the earlier run back
                    old = null;
                }
            }
            if (old != null) {
                deleteTree(old);
            }
        }
    }

    /** Deletes a folder of files (the temporary and the old output: no subfolders). */
    private static void deleteTree(Path directory) throws IOException {
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            entries.forEach(files::add);
        }
        for (Path file : files) {
            Files.deleteIfExists(file);
        }
        Files.deleteIfExists(directory);
    }
}
