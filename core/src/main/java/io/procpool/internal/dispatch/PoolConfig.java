package io.procpool.internal.dispatch;

import io.procpool.Task;
import io.procpool.internal.supervisor.JvmCommand;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.supervisor.WorkerLauncher;
import java.time.Duration;

/**
 * Everything a pool was built with; immutable.
 *
 * @param launcher null for the default: child JVMs built from {@code command}
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
    WorkerLauncher launcher) {}
