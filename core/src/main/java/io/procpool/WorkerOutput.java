package io.procpool;

/**
 * Where a pool worker's stdout and stderr go; set with {@link Pool.Builder#workerOutput}.
 *
 * <p>The prefix of {@link #PREFIX} (and of {@link #CAPTURE}'s output outside tasks) is the pool's {@link
 * Pool.Builder#name name}, the worker index and the worker's pid: {@code [procpool-w2 4122] }.
 */
public enum WorkerOutput {
  /** To this JVM's own stdout and stderr file descriptors (the default), as with Python's multiprocessing. */
  INHERIT,
  /** Nowhere. */
  DISCARD,
  /**
   * Each line to this JVM's {@link System#out} or {@link System#err}, prefixed with the pool's name, the
   * worker index and its pid: {@code [procpool-w2 4122] hello}. Lines of different workers never mix
   * within a line. Two daemon threads per worker copy the lines; they end when the worker exits.
   */
  PREFIX,
  /**
   * What each task prints while it runs is captured in its worker instead of shown, and handed out with
   * the task: beside its result with {@link Pool#submitCaptured}, and attached to its failure (including
   * a crash or a timeout of its worker) as a suppressed {@link CapturedOutputException}, found with
   * {@link TaskOutput#of(Throwable)}. Everything printed while a task runs counts as the task's, from
   * whatever thread. What workers print outside tasks (an initializer, the JVM itself) is shown as with
   * {@link #PREFIX}.
   */
  CAPTURE
}
