package io.procpool;

import io.grpc.ManagedChannel;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.supervisor.LaunchedWorker;
import io.procpool.internal.supervisor.WorkerLauncher;
import io.procpool.internal.worker.StatusFile;
import io.procpool.internal.worker.WorkerRuntime;
import io.procpool.proto.v1.Bootstrap;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A launcher that runs each worker as threads of this JVM over gRPC's in-process transport: the whole
 * dispatch, codec and transport path without starting a process. "Killing" a worker closes its channel
 * and completes its exit with 137, as SIGKILL would.
 */
final class ThreadLauncher implements WorkerLauncher {
  final List<ThreadWorker> launched = new CopyOnWriteArrayList<>();

  @Override
  public boolean inProcess() {
    return true;
  }

  @Override
  public LaunchedWorker launch(Bootstrap bootstrap) throws IOException {
    String name = bootstrap.getTarget().substring("inprocess:".length());
    ManagedChannel channel =
        InProcessChannelBuilder.forName(name).directExecutor().maxInboundMessageSize(Integer.MAX_VALUE).build();
    ThreadWorker w = new ThreadWorker(channel);
    WorkerRuntime runtime =
        new WorkerRuntime(
            bootstrap,
            channel,
            StatusFile.open(Path.of(bootstrap.getStatusFile())),
            new ValueCodec(ValueCodec.createFilter("maxdepth=1000"), Path.of(bootstrap.getBlobDir())),
            () -> ProcessHandle.current().pid(),
            ThreadLauncher.class.getClassLoader(),
            w::exit);
    runtime.start();
    launched.add(w);
    return w;
  }

  static final class ThreadWorker implements LaunchedWorker {
    private final ManagedChannel channel;
    private final CompletableFuture<Integer> exit = new CompletableFuture<>();
    private final java.util.concurrent.atomic.AtomicBoolean exiting = new java.util.concurrent.atomic.AtomicBoolean();

    ThreadWorker(ManagedChannel channel) {
      this.channel = channel;
    }

    /**
     * The first exit wins (a kill's 137, not the 70 the worker then reports as its stream breaks), and
     * the exit is reported on another thread, as a process reaper would: with direct executors a
     * replacement would otherwise start inside the dying channel's own call stack.
     */
    void exit(int code) {
      if (exiting.compareAndSet(false, true)) {
        java.util.concurrent.ForkJoinPool.commonPool()
            .execute(
                () -> {
                  channel.shutdownNow();
                  exit.complete(code);
                });
      }
    }

    @Override
    public long pid() {
      return ProcessHandle.current().pid();
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
      exit(137);
    }

    @Override
    public void terminate() {
      exit(143);
    }
  }
}
