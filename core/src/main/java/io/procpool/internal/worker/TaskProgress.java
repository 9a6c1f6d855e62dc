package io.procpool.internal.worker;

/**
 * How a worker tells its parent which task it is running: through a memory-mapped {@link StatusFile} on
 * the parent's machine, or, for a worker on another machine, in a {@code Begun} message on its stream.
 * Called on the task thread only.
 */
public interface TaskProgress {
  /** Task {@code taskId} starts now ({@code startNanos}, this JVM's {@code System.nanoTime()}). */
  void begin(long taskId, long startNanos);

  /** No task is running. */
  void end();
}
