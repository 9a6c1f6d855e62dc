package io.procpool;

import io.grpc.inprocess.InProcessChannelBuilder;
import io.procpool.internal.supervisor.InProcessLauncher;
import io.procpool.internal.worker.InJvmWorker;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A launcher that runs each worker as threads of this JVM over gRPC's in-process transport: the whole
 * dispatch, codec and transport path without starting a process.
 */
class ThreadLauncher implements InProcessLauncher {
  final List<WorkerHandle> launched = new CopyOnWriteArrayList<>();

  @Override
  public WorkerHandle launch(WorkerSpec spec) throws IOException {
    return launchPlain(InJvmWorker.bootstrapOf(spec));
  }

  /** Starts the worker threads; subclasses that change {@link #launch} call it. */
  final WorkerHandle launchPlain(Bootstrap bootstrap) throws IOException {
    String name = bootstrap.getTarget().substring("inprocess:".length());
    InJvmWorker w =
        InJvmWorker.start(
            bootstrap,
            InProcessChannelBuilder.forName(name).directExecutor().maxInboundMessageSize(Integer.MAX_VALUE).build(),
            ThreadLauncher.class.getClassLoader());
    launched.add(w);
    return w;
  }
}
