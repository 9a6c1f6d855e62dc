package io.procpool.internal.dispatch;

import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.procpool.WorkerStartException;
import io.procpool.internal.codec.ClassServer;
import io.procpool.internal.codec.FailureCodec;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.transport.WorkerConnection;
import io.procpool.internal.transport.WorkerService;
import io.procpool.internal.worker.StatusFile;
import io.procpool.proto.v1.ClassRequest;
import io.procpool.proto.v1.Failure;
import io.procpool.proto.v1.Heartbeat;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Welcome;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.LongSupplier;

/**
 * Binds an authenticated stream to the worker it belongs to (refusing ids, indexes and pids the pool did
 * not start), and turns what that worker says into changes of the pool.
 */
final class WorkerStreams implements WorkerService.Acceptor {
  private final String name;
  private final System.Logger log;
  private final CoreContext ctx;
  private final Supervisor supervisor;
  private final BiConsumer<Worker, List<TaskResult>> results;
  private final ValueCodec codec;
  private final ClassLoader initializerLoader;
  private final LongSupplier clock;
  private final Welcome welcome;
  private final ClassServer classes;

  WorkerStreams(
      String name, System.Logger log, CoreContext ctx, Supervisor supervisor, BiConsumer<Worker, List<TaskResult>> results,
      ValueCodec codec, ClassLoader initializerLoader, LongSupplier clock, Welcome welcome, ClassServer classes) {
    this.name = name;
    this.log = log;
    this.ctx = ctx;
    this.supervisor = supervisor;
    this.results = results;
    this.codec = codec;
    this.initializerLoader = initializerLoader;
    this.clock = clock;
    this.welcome = welcome;
    this.classes = classes;
  }

  @Override
  public WorkerService.StreamHandler accept(Hello hello, ServerCallStreamObserver<ParentMessage> out) {
    WorkerConnection c;
    try {
      synchronized (ctx.lock) {
        Worker w = supervisor.byId(hello.getWorkerId());
        if (w == null || w.index != hello.getWorkerIndex()) {
          throw refusal("no worker " + hello.getWorkerIndex() + " with id " + hello.getWorkerId()
              + " was started by pool " + name);
        }
        if (w.state != Worker.State.LAUNCHING || w.killReason != null) {
          throw refusal("worker " + w.index + " (pid " + w.pid() + ") is already connected or stopping");
        }
        // The process handle may not be recorded yet (a fast worker can connect before the launcher
        // returns); then the launch compares the pids when it records the handle.
        if (w.process != null && w.process.pid() >= 0 && w.process.pid() != hello.getPid()) {
          throw refusal("worker " + w.index + " is pid " + w.pid() + ", not pid " + hello.getPid());
        }
        w.helloPid = hello.getPid();
        log.log(System.Logger.Level.DEBUG, "{0}: worker {1} (pid {2,number,#}, Java {3}) connected",
            name, w.index, hello.getPid(), hello.getJavaVersion());
        w.moveTo(Worker.State.CONNECTED);
        w.lastHeardNanos = clock.getAsLong();
        Events events = new Events(w, classes.session("worker " + w.index + " (pid " + hello.getPid() + ")"));
        c = new WorkerConnection(out, events);
        events.connection = c;
        w.connection = c;
        ctx.outbox.send(c, ParentMessage.newBuilder().setWelcome(welcome).build());
      }
    } finally {
      ctx.outbox.flush();
    }
    return c;
  }

  private static RuntimeException refusal(String why) {
    return Status.PERMISSION_DENIED.withDescription(why).asRuntimeException();
  }

  /** What one worker says. Called on a gRPC thread, one message at a time. */
  private final class Events implements WorkerConnection.Listener {
    private final Worker w;
    private final ClassServer.Session classSession;
    /** Set right after construction, before the stream delivers any message to this listener. */
    volatile WorkerConnection connection;

    Events(Worker w, ClassServer.Session classSession) {
      this.w = w;
      this.classSession = classSession;
    }

    /**
     * Answered on the pool's executor, outside the core lock: the lookup reads files and runs class
     * loaders' code, and the worker's task thread waits for it, not the pool.
     */
    @Override
    public void onClassRequest(ClassRequest request) {
      WorkerConnection c = connection;
      classSession.serve(request, reply -> c.reply(ParentMessage.newBuilder().setClassReply(reply).build()));
    }

    @Override
    public void onResults(List<TaskResult> list) {
      results.accept(w, list);
    }

    @Override
    public void onReady() {
      ctx.update(() -> supervisor.ready(w));
    }

    @Override
    public void onHeartbeat(Heartbeat h) {
      synchronized (ctx.lock) {
        w.lastHeardNanos = clock.getAsLong();
        w.heapUsed = h.getHeapUsedBytes();
        w.rss = h.getRssBytes();
        w.gcMillis = h.getGcMillis();
      }
    }

    /**
     * No lock: one volatile write per task, read under the lock when the worker dies or the watchdog
     * looks. The time is this machine's (the worker's clock may be another machine's).
     */
    @Override
    public void onBegun(long taskId, long count) {
      w.reported = new StatusFile.Snapshot(taskId, clock.getAsLong(), count);
    }

    @Override
    public void onInitializerFailed(Failure failure) {
      // Decoded outside the lock: the exception's readObject is user code.
      Throwable t = FailureCodec.decode(failure, codec, initializerLoader);
      synchronized (ctx.lock) {
        w.startFailure = new WorkerStartException(
            "The initializer threw in worker " + w.index + " (pid " + w.pid() + "): " + t, t);
      }
    }

    @Override
    public void onClosed(Throwable error) {
      supervisor.streamClosed(w);
    }
  }
}
