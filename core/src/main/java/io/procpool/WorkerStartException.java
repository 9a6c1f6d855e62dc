package io.procpool;

/**
 * A worker JVM could not be started: the JVM failed to launch or exited early, it did not connect in
 * time, or the pool's initializer threw. Its cause chain holds the reason (for an initializer, the
 * initializer's own exception).
 */
public final class WorkerStartException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message names the worker and what went wrong
   * @param cause the reason, or null
   */
  public WorkerStartException(String message, Throwable cause) {
    super(message, cause);
  }
}
