package io.procpool;

import java.util.List;

/**
 * A worker JVM died (System.exit, Runtime.halt, a signal such as SIGKILL, an OutOfMemoryError, a native
 * crash) while it was running the task whose future fails with this exception.
 *
 * <p>{@link #pid()} and {@link #exitCode()} describe the last worker that died; when the pool retried the
 * task ({@code maxRetries}), {@link #attempts()} lists every worker death, oldest first.
 */
public final class WorkerCrashedException extends Exception {
  private static final long serialVersionUID = 1L;

  /**
   * One worker that died while running the task.
   *
   * @param workerIndex the index of the worker
   * @param pid its process id
   * @param exitCode its exit code, as {@link Process#exitValue()} reports it
   * @serial exclude
   */
  public record Attempt(int workerIndex, long pid, int exitCode) implements java.io.Serializable {
    @Override
    public String toString() {
      return "worker " + workerIndex + " (pid " + pid + ") exited with code " + exitCode;
    }
  }

  /** Every worker death, oldest first. */
  private final List<Attempt> attempts;

  /**
   * Creates the exception.
   *
   * @param message names the worker, its exit code and the task
   * @param attempts every worker death the task caused, oldest first; not empty
   */
  public WorkerCrashedException(String message, List<Attempt> attempts) {
    super(message);
    if (attempts.isEmpty()) {
      throw new IllegalArgumentException("attempts is empty, but a crash has at least one");
    }
    this.attempts = List.copyOf(attempts);
  }

  /**
   * The process id of the last worker that died running the task.
   *
   * @return a process id
   */
  public long pid() {
    return attempts.get(attempts.size() - 1).pid();
  }

  /**
   * The exit code of the last worker that died running the task, as {@link Process#exitValue()}
   * reports it (128 + n after signal n, e.g. 137 after SIGKILL).
   *
   * @return an exit code
   */
  public int exitCode() {
    return attempts.get(attempts.size() - 1).exitCode();
  }

  /**
   * Every worker death this task caused, oldest first; more than one when the pool retried it.
   *
   * @return at least one attempt
   */
  public List<Attempt> attempts() {
    return attempts;
  }
}
