package io.procpool.internal.worker;

import io.procpool.internal.dispatch.PoolConfig;
import io.procpool.internal.dispatch.PoolCore;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The training run of a class-data-sharing archive: a JVM started with {@code -XX:DumpLoadedClassList}
 * runs this, which drives a pool whose worker runs on threads of this same JVM over the pool's real gRPC
 * transport (a Unix socket, or loopback TCP), so that the class list holds what a worker loads (gRPC and
 * Netty client, protobuf, Java serialization of a lambda, the worker runtime) and a superset besides.
 * Exits 0 on success.
 */
public final class Training {
  private Training() {}

  static Object echo(Object x) {
    return x;
  }

  public static void main(String[] args) throws Exception {
    PoolConfig config =
        new PoolConfig(
            "procpool-training", 1, null, null, 0, null, 0, null, Duration.ofSeconds(60),
            Duration.ofMillis(100), Duration.ofSeconds(30), Duration.ofSeconds(2), "", new InJvmLauncher(), null);
    PoolCore core = new PoolCore(config);
    core.start();
    try {
      core.enqueue(Training::echo, List.of("warm"), true).get(60, TimeUnit.SECONDS);
      core.enqueue((Integer x) -> x + 1, List.of(1, 2, 3), false).get(60, TimeUnit.SECONDS);
      WorkerMain.figures();
      core.shutdown();
      core.join();
    } finally {
      core.shutdownNow();
    }
    System.exit(0);
  }

  /** Runs the worker on threads of this JVM, connected over the pool's real server. */
  static final class InJvmLauncher implements WorkerLauncher {
    @Override
    public WorkerHandle launch(WorkerSpec spec) throws java.io.IOException {
      Bootstrap bootstrap = InJvmWorker.bootstrapOf(spec);
      InJvmWorker w =
          InJvmWorker.start(bootstrap, WorkerMain.channel(bootstrap), ClassLoader.getSystemClassLoader());
      return w;
    }
  }
}
