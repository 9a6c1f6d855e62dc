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
}
