package io.procpool.internal.dispatch;

import io.procpool.proto.v1.Bootstrap;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/** Launches processes that exist only as objects: kill() records "kill PID" and exits with 137 at once. */
final class FakeLauncher implements WorkerLauncher {
  final List<FakeProcess> launched = new CopyOnWriteArrayList<>();
  final List<Bootstrap> bootstraps = new CopyOnWriteArrayList<>();
  private final List<String> events;
  volatile boolean fail;

  FakeLauncher(List<String> events) {
    this.events = events;
  }

  @Override
  public WorkerHandle launch(WorkerSpec spec) throws IOException {
    Bootstrap bootstrap = io.procpool.internal.worker.InJvmWorker.bootstrapOf(spec);
    if (fail) {
      throw new IOException("no java here");
    }
    FakeProcess p = new FakeProcess(1000 + launched.size());
    bootstraps.add(bootstrap);
    launched.add(p);
    return p;
  }

  final class FakeProcess implements WorkerHandle {
    final long pid;
    final CompletableFuture<Integer> exit = new CompletableFuture<>();

    FakeProcess(long pid) {
      this.pid = pid;
    }

    @Override
    public long pid() {
      return pid;
    }

    @Override
    public CompletableFuture<Integer> onExit() {
      return exit;
    }

    @Override
    public boolean isAlive() {
      return !exit.isDone();
    }

    @Override
    public void kill() {
      events.add("kill " + pid);
      exit.complete(137);
    }
  }
}
