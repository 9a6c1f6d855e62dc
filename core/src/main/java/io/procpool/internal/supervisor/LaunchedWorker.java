package io.procpool.internal.supervisor;

import java.util.concurrent.CompletableFuture;

/** A started worker, as its launcher sees it. Thread-safe. */
public interface LaunchedWorker {
  /** Operating-system process id of the worker. */
  long pid();

  /** Completes with the exit code once the worker has exited; never fails. */
  CompletableFuture<Integer> onExit();

  boolean isAlive();

  /** SIGKILL, or the nearest equivalent. Idempotent. */
  void kill();

  /**
   * The worker's stream has ended: the pool will send it nothing more. A launcher may release what ties
   * the worker to this JVM (a local worker's stdin pipe, whose end the worker then takes as its cue to
   * exit, or, when it is already leaving in order, to stop watching it). Called at most once per stream,
   * never under the pool's lock.
   */
  default void streamEnded() {}
}
