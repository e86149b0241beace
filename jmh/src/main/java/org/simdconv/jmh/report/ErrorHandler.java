package org.simdconv.jmh.report;

import org.openjdk.jmh.runner.RunnerException;

/**
 * The command line's error handler ({@link org.simdconv.cli.ErrorHandler}: one line on standard
 * error and exit code 2 for every failure), which also words a failed JMH run.
 */
public final class ErrorHandler extends org.simdconv.cli.ErrorHandler {

    @Override
    protected String describeOther(Exception ex) {
        if (ex instanceof RunnerException) {
            return "JMH: " + messageOf(ex) + (ex.getCause() != null ? ": " + messageOf(ex.getCause()) : "");
        }
        return super.describeOther(ex);
    }
}
