package io.procpool.internal.worker;

import io.grpc.ManagedChannel;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * A worker that runs as threads of this JVM over a given channel: the class-data-sharing training run
 * uses it over the pool's real transport, tests over gRPC's in-process transport. "Killing" it closes its channel and
 * reports 137, as SIGKILL would.
 */
public final class InJvmWorker implements WorkerHandle {
  private final ManagedChannel channel;
  private final CompletableFuture<Integer> exit = new CompletableFuture<>();
  private final AtomicBoolean exiting = new AtomicBoolean();

  private InJvmWorker(ManagedChannel channel) {
    this.channel = channel;
  }

  /** The bootstrap a launcher was given for {@code spec}, read back (for workers that run in this JVM). */
  public static Bootstrap bootstrapOf(WorkerSpec spec) throws IOException {
    Bootstrap b = Bootstrap.parseDelimitedFrom(new java.io.ByteArrayInputStream(spec.bootstrap()));
    if (b == null) {
      throw new IOException(spec + " carries no bootstrap");
    }
    return b;
  }

  /**
   * Starts a worker runtime for {@code bootstrap} on {@code channel}; classes are looked up in {@code
   * loader}, then asked of the parent.
   */
  public static InJvmWorker start(Bootstrap bootstrap, ManagedChannel channel, ClassLoader loader)
      throws IOException {
    InJvmWorker w = new InJvmWorker(channel);
    new WorkerRuntime(
            bootstrap,
            channel,
            StatusFile.open(Path.of(bootstrap.getStatusFile())),
            WorkerRuntime.codec(bootstrap),
            () -> ProcessHandle.current().pid(),
            new RemoteClassLoader(loader),
            w::exit)
        .start();
    return w;
  }

  /**
   * The first exit wins (a kill's 137, not the 70 the runtime then reports as its stream breaks), and it
   * is reported on another thread, as a process reaper would: with direct executors a replacement would
   * otherwise start inside the dying channel's own call stack.
   */
  void exit(int code) {
    if (exiting.compareAndSet(false, true)) {
      ForkJoinPool.commonPool()
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
}
