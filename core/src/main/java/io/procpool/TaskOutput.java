package io.procpool;

import static java.util.Objects.requireNonNull;

import java.io.Serializable;
import java.util.IdentityHashMap;
import java.util.Optional;

/**
 * What one task printed on {@code System.out} and {@code System.err} in its worker, captured when the
 * pool was built with {@link WorkerOutput#CAPTURE}. It is handed out beside a result by {@link
 * Pool#submitCaptured}, and attached to a failure (see {@link #of(Throwable)}).
 *
 * <p>For a chunk of a map, it is what the chunk printed, up to the input that failed. Each stream is cut
 * to its last 1 MiB ({@link #truncated()} then says so).
 *
 * @param stdout what the task printed on System.out
 * @param stderr what the task printed on System.err
 * @param truncated whether a stream was longer than what is kept
 * @serial exclude
 */
public record TaskOutput(String stdout, String stderr, boolean truncated) implements Serializable {
  /** No output: both streams empty. */
  public static final TaskOutput EMPTY = new TaskOutput("", "", false);

  /**
   * Creates an output.
   *
   * @param stdout what the task printed on System.out
   * @param stderr what the task printed on System.err
   * @param truncated whether a stream was longer than what is kept
   */
  public TaskOutput {
    requireNonNull(stdout, "stdout");
    requireNonNull(stderr, "stderr");
  }

  /**
   * The output attached to a task's failure: to the exception itself, or to one of its causes, as a
   * suppressed {@link CapturedOutputException}. Pass the {@link java.util.concurrent.ExecutionException}
   * from a future, or its cause.
   *
   * @param failure a task failure
   * @return the output the failed task printed, or empty when none was captured
   */
  public static Optional<TaskOutput> of(Throwable failure) {
    IdentityHashMap<Throwable, Boolean> seen = new IdentityHashMap<>();
    for (Throwable t = failure; t != null && seen.put(t, Boolean.TRUE) == null; t = t.getCause()) {
      if (t instanceof CapturedOutputException c) {
        return Optional.of(c.output());
      }
      for (Throwable s : t.getSuppressed()) {
        if (s instanceof CapturedOutputException c) {
          return Optional.of(c.output());
        }
      }
    }
    return Optional.empty();
  }

  /**
   * Whether nothing was printed.
   *
   * @return true when both streams are empty
   */
  public boolean isEmpty() {
    return stdout.isEmpty() && stderr.isEmpty();
  }

  @Override
  public String toString() {
    return "TaskOutput[stdout=" + stdout.length() + " chars, stderr=" + stderr.length() + " chars"
        + (truncated ? ", truncated" : "") + "]";
  }
}
