package org.simdconv.cli;

import java.io.IOException;
import java.nio.file.Path;
import org.simdconv.data.FashionMnist;

/** Loading the data set for a command: a missing or damaged file is bad input (exit 2), said in one line. */
final class DataSets {

    private DataSets() {
    }

    static FashionMnist.Splits load(Path directory) {
        try {
            return FashionMnist.load(directory);
        } catch (FashionMnist.MissingException e) {
            String hint = directory.equals(FashionMnist.DEFAULT_DIRECTORY) ? " (or: ./simdconv install-data)" : "";
            throw new IllegalArgumentException(e.getMessage() + hint, e);
        } catch (IOException e) {
            throw new IllegalArgumentException(ErrorHandler.describe(e), e);
        }
    }
}
