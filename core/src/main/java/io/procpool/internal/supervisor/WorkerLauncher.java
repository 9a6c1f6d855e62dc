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

  /** Whether workers run inside this JVM and so need the pool's in-process transport. */
  default boolean inProcess() {
    return false;
  }
}
