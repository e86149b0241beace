package org.simdconv.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writing a file so that a crash never leaves half of it: the content goes to a sibling temporary
 * file, is flushed to disk, and the temporary file is renamed over the target. A rename within one
 * directory is atomic, so readers see the old file or the new one, never a partial one; on any
 * failure the temporary file is deleted and the target is unchanged.
 */
public final class AtomicFile {

    /** Writes a file's content to an open channel. */
    @FunctionalInterface
    public interface ChannelWriter {
        void writeTo(FileChannel channel) throws IOException;
    }

    private AtomicFile() {
    }

    /** Replaces {@code file} by what {@code writer} writes, or leaves it as it was. */
    public static void write(Path file, ChannelWriter writer) throws IOException {
        Path target = file.toAbsolutePath();
        // A hidden name with a random part; CREATE_NEW guarantees we never overwrite anything.
        // (Not Files.createTempFile: its owner-only permissions would carry over to the result.)
        Path temp = target.resolveSibling("." + target.getFileName() + "."
                + Long.toHexString(ThreadLocalRandom.current().nextLong()) + ".tmp");
        try {
            try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                writer.writeTo(channel);
                channel.force(false);
            }
            moveReplacing(temp, target);
            forceDirectory(target.getParent());
        } catch (IOException | RuntimeException | Error e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
    }

    /** Replaces {@code file} by {@code text} in UTF-8, or leaves it as it was. */
    public static void writeString(Path file, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        write(file, channel -> writeFully(channel, ByteBuffer.wrap(bytes)));
    }

    /** Writes all of {@code buffer}. */
    public static void writeFully(FileChannel channel, ByteBuffer buffer) throws IOException {
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
    }

    /**
     * Forces the directory's entry of the renamed file to disk, so that the rename too survives a
     * power loss (a crash of the process alone never loses it). Where a directory cannot be opened
     * for that (not on Linux), the rename stays as durable as the file system makes it.
     */
    private static void forceDirectory(Path directory) {
        try (FileChannel channel = FileChannel.open(directory, StandardOpenOption.READ)) {
            channel.force(true);
        } catch (IOException | UnsupportedOperationException e) {
            // nothing more can be done, and the new file is already in place
        }
    }

    private static void moveReplacing(Path from, Path to) throws IOException {
        try {
            Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            // Rare (some network file systems); a plain replacing move is the best available.
            Files.move(from, to, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
