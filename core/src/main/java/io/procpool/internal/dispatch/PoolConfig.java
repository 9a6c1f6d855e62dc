package io.procpool.internal.dispatch;

import io.procpool.Task;
import io.procpool.internal.supervisor.JvmCommand;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.spi.WorkerLauncher;
import java.time.Duration;

/**
 * Everything a pool was built with; immutable.
 *
 * @param launcher null for the default: child JVMs built from {@code command}
 * @param idleTimeout null for a pool of fixed size, whose workers all start in {@code start()} and are
 *     replaced when they die; otherwise an elastic pool (the common pool): {@code start()} launches no
 *     worker, a worker is launched when a task waits and fewer than {@code workers} are alive, and a
 *     worker idle for this long exits
 */
public record PoolConfig(
    String name,
    int workers,
    JvmCommand command,
    JvmLauncher.OutputMode output,
    long maxTasksPerWorker,
    Duration taskTimeout,
    int maxRetries,
    Task<Integer, ?> initializer,
    Duration startTimeout,
    Duration heartbeatInterval,
    Duration heartbeatTimeout,
    Duration cancelGracePeriod,
    String serialFilter,
    WorkerLauncher launcher,
    Duration idleTimeout) {

  /** Whether workers start on demand and exit when idle (see {@code idleTimeout}). */
  boolean elastic() {
    return idleTimeout != null;
  }
}
