package io.procpool;

import io.grpc.inprocess.InProcessChannelBuilder;
import io.procpool.internal.supervisor.LaunchedWorker;
import io.procpool.internal.supervisor.WorkerLauncher;
import io.procpool.internal.worker.InJvmWorker;
import io.procpool.proto.v1.Bootstrap;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A launcher that runs each worker as threads of this JVM over gRPC's in-process transport: the whole
 * dispatch, codec and transport path without starting a process.
 */
class ThreadLauncher implements WorkerLauncher {
  final List<LaunchedWorker> launched = new CopyOnWriteArrayList<>();

  @Override
  public boolean inProcess() {
    return true;
  }

  @Override
  public LaunchedWorker launch(Bootstrap bootstrap) throws IOException {
    return launchPlain(bootstrap);
  }

  /** Starts the worker threads; subclasses that change {@link #launch} call it. */
  final LaunchedWorker launchPlain(Bootstrap bootstrap) throws IOException {
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
