package io.procpool;

import java.time.Duration;

/**
 * A task ran on its worker for longer than the pool's {@code taskTimeout}. The worker was killed and
 * replaced; the time the task waited in the queue does not count.
 */
public final class TaskTimeoutException extends Exception {
  private static final long serialVersionUID = 1L;

  private final Duration timeout;
  private final long pid;

  public TaskTimeoutException(String message, Duration timeout, long pid) {
    super(message);
    this.timeout = timeout;
    this.pid = pid;
  }

  /** The pool's task timeout that was exceeded. */
  public Duration timeout() {
    return timeout;
  }

  /** The process id of the worker that was running the task and was killed. */
  public long pid() {
    return pid;
  }
}
