package io.procpool;

import java.time.Duration;

/**
 * A task ran on its worker for longer than the pool's {@code taskTimeout}. The worker was killed and
 * replaced; the time the task waited in the queue does not count.
 */
public final class TaskTimeoutException extends Exception {
  private static final long serialVersionUID = 1L;

  /** The pool's task timeout. */
  private final Duration timeout;

  /** The killed worker's process id. */
  private final long pid;

  /**
   * Creates the exception.
   *
   * @param message names the task, the timeout and the worker
   * @param timeout the pool's task timeout
   * @param pid the process id of the worker that was killed
   */
  public TaskTimeoutException(String message, Duration timeout, long pid) {
    super(message);
    this.timeout = timeout;
    this.pid = pid;
  }

  /**
   * The pool's task timeout that was exceeded.
   *
   * @return the timeout
   */
  public Duration timeout() {
    return timeout;
  }

  /**
   * The process id of the worker that was running the task and was killed.
   *
   * @return a process id
   */
  public long pid() {
    return pid;
  }
}
