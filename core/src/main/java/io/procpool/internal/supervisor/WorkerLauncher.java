package io.procpool.internal.supervisor;

import io.procpool.proto.v1.Bootstrap;
import java.io.IOException;

/** Starts one worker and hands it its {@link Bootstrap}. Implementations are thread-safe. */
public interface WorkerLauncher {
  /**
   * Starts a worker that will read {@code bootstrap} and connect to {@code bootstrap.getTarget()}. Returns
   * once the worker's process (or equivalent) exists; does not wait for it to connect.
   */
  LaunchedWorker launch(Bootstrap bootstrap) throws IOException;

  /**
   * Starts up to {@code workers} workers' processes ahead of time, before the pool has a bootstrap for
   * them, so that their start-up overlaps the pool's own; later {@link #launch} calls hand them out. The
   * default starts nothing.
   */
  default void prestart(int workers) throws IOException {}

  /** Releases what {@link #prestart} started and no launch took. The default does nothing. */
  default void close() {}

  /** Whether workers run inside this JVM and so need the pool's in-process transport. */
  default boolean inProcess() {
    return false;
  }
}
