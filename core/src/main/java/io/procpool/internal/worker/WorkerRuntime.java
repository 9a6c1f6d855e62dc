package io.procpool.internal.worker;

import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.procpool.Task;
import io.procpool.internal.codec.FailureCodec;
import io.procpool.internal.codec.SerialFilters;
import io.procpool.internal.codec.SharedArena;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.proto.v1.Begun;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.Failure;
import io.procpool.proto.v1.Heartbeat;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.Ready;
import io.procpool.proto.v1.TaskRequest;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.WorkerChannelGrpc;
import io.procpool.proto.v1.WorkerMessage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;

/**
 * The loop a worker runs: connect to the parent, introduce itself, run the initializer, then run the
 * tasks it is sent one at a time, in order, and report their results.
 *
 * <p>Threads: gRPC delivers parent messages on its own thread (direct executor), which only queues them;
 * one task thread runs tasks and the initializer; a heartbeat thread reports liveness. Sends to the parent
 * are serialised on {@link #sendLock} because a gRPC stream observer is not thread-safe.
 *
 * <p>Results are batched by a {@link ResultBatcher}. Classes that neither the worker's class path nor
 * its loader has are asked of the parent over the same stream by the {@link RemoteClassLoader}, which
 * tasks, inputs and the initializer are decoded with; its answers go to the loader straight from the gRPC
 * thread, since the task thread may be the one waiting for them.
 */
public final class WorkerRuntime {
  /** Exit codes of a worker JVM, beside 0 (orderly shutdown) and the codes of signals. */
  public static final int EXIT_TARGET_FAILED = 1;

  public static final int EXIT_REFUSED = 64;
  public static final int EXIT_INITIALIZER_FAILED = 65;
  public static final int EXIT_BAD_BOOTSTRAP = 66;
  public static final int EXIT_PARENT_GONE = 70;

  public static final int PROTOCOL_VERSION = 1;

  private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

  /** How the runtime leaves: System.exit in a worker JVM, stopping threads in an in-process test. */
  public interface Exit {
    void exit(int code);

    /** The runtime is about to half-close its stream: it leaves in order, and its parent knows it. */
    default void leaving() {}
  }

  private static final Object SHUTDOWN = new Object();

  private final Bootstrap bootstrap;
  private final ManagedChannel channel;
  private final ValueCodec codec;
  private final Exit exit;
  private final LongSupplier pid;
  private final RemoteClassLoader loader;
  private final TaskCapture capture;

  private final LinkedBlockingDeque<Object> inbox = new LinkedBlockingDeque<>();
  private final Object sendLock = new Object();
  private final CountDownLatch parentClosed = new CountDownLatch(1);
  private final AtomicBoolean exiting = new AtomicBoolean();

  // Guarded by sendLock.
  private ClientCallStreamObserver<WorkerMessage> toParent;

  private final ResultBatcher results;

  private final TaskRunner runner;
  private volatile boolean closing;
  private volatile Thread taskThread;

  public WorkerRuntime(
      Bootstrap bootstrap,
      ManagedChannel channel,
      StatusFile status,
      ValueCodec codec,
      LongSupplier pid,
      RemoteClassLoader loader,
      Exit exit) {
    this.bootstrap = bootstrap;
    this.channel = channel;
    this.codec = codec;
    this.pid = pid;
    this.loader = loader;
    this.exit = exit;
    this.capture = TaskCapture.install(bootstrap);
    TaskProgress progress = status;
    if (bootstrap.getReportBegun()) {
      progress = new Reported();
    } else if (status == null) {
      throw new IllegalArgumentException("a worker that does not report what it begins needs a status file");
    }
    this.runner = new TaskRunner(bootstrap.getWorkerIndex(), progress, codec, loader, capture);
    this.results =
        new ResultBatcher(this::send, bootstrap.getPoolName() + "-w" + bootstrap.getWorkerIndex() + "-flush");
  }

  /** Connects, sends Hello and starts the task thread. Returns at once. */
  public void start() {
    Thread t = new Thread(this::taskLoop, bootstrap.getPoolName() + "-w" + bootstrap.getWorkerIndex() + "-task");
    // Not a daemon: this thread keeps the worker JVM alive; it leaves only through Exit.
    t.setDaemon(false);
    // Tasks that look classes up through the context loader (ServiceLoader, many libraries) see what
    // they would see in the parent: the worker's classes, then the parent's.
    t.setContextClassLoader(loader);
    taskThread = t;
    results.start();
    loader.connect(request -> send(WorkerMessage.newBuilder().setClassRequest(request).build()));
    WorkerChannelGrpc.newStub(channel).connect(new Inbound());
    send(
        WorkerMessage.newBuilder()
            .setHello(
                Hello.newBuilder()
                    .setProtocolVersion(PROTOCOL_VERSION)
                    .setSecret(bootstrap.getSecret())
                    .setWorkerSecret(bootstrap.getWorkerSecret())
                    .setWorkerIndex(bootstrap.getWorkerIndex())
                    .setWorkerId(bootstrap.getWorkerId())
                    .setPid(pid.getAsLong())
                    .setJavaVersion(System.getProperty("java.version", "")))
            .build());
    t.start();
  }

  /**
   * A worker on another machine reports each task it begins on its stream. The message goes out through
   * the same queue as everything else this worker sends, ahead of the task's result; gRPC writes it from
   * its event loop while the task runs. A task that kills its worker within microseconds can beat it to
   * the socket: the parent then takes the task for one that had not begun, and settles that doubt as
   * {@code Settlement} describes.
   */
  private final class Reported implements TaskProgress {
    private long count;

    @Override
    public void begin(long taskId, long startNanos) {
      count++;
      send(WorkerMessage.newBuilder().setBegun(Begun.newBuilder().setTaskId(taskId).setCount(count)).build());
    }

    @Override
    public void end() {}
  }

  /** Sends a heartbeat; called periodically by the host. */
  public void heartbeat(Heartbeat.Builder figures) {
    send(
        WorkerMessage.newBuilder()
            .setHeartbeat(figures)
            .build());
  }

  /**
   * Sends results not yet sent and closes our side of the stream, waiting briefly for the parent to
   * close its side, so that nothing already computed is lost when the JVM exits (System.exit in a task
   * runs this from a shutdown hook).
   */
  public void drainAndClose(long timeoutMillis) {
    // The parent answers our half-close by closing its side: that is the end we asked for, not its death.
    closing = true;
    exit.leaving();
    synchronized (sendLock) {
      if (toParent == null) {
        return;
      }
      try {
        toParent.onCompleted();
      } catch (RuntimeException e) {
        return;
      }
    }
    try {
      parentClosed.await(timeoutMillis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  private void leave(int code) {
    if (exiting.compareAndSet(false, true)) {
      loader.disconnect("this worker is exiting (code " + code + ")");
      results.stop();
      exit.exit(code);
    }
  }

  private void send(WorkerMessage message) {
    synchronized (sendLock) {
      if (toParent != null && !exiting.get()) {
        try {
          toParent.onNext(message);
        } catch (RuntimeException e) {
          // The stream is gone; Inbound.onError will make us leave.
        }
      }
    }
  }

  private final class Inbound implements ClientResponseObserver<WorkerMessage, ParentMessage> {
    @Override
    public void beforeStart(ClientCallStreamObserver<WorkerMessage> requestStream) {
      synchronized (sendLock) {
        toParent = requestStream;
      }
    }

    @Override
    public void onNext(ParentMessage message) {
      switch (message.getKindCase()) {
        case WELCOME -> inbox.add(message.getWelcome());
        case TASKS -> inbox.addAll(message.getTasks().getTasksList());
        case CANCEL -> runner.cancel(message.getCancel().getTaskId(), taskThread);
        case SHUTDOWN -> inbox.add(SHUTDOWN);
        // Straight to the loader: the task thread may be the one waiting for it.
        case CLASS_REPLY -> loader.onReply(message.getClassReply());
        case KIND_NOT_SET -> {
          // A message kind from a newer protocol: nothing to do.
        }
      }
    }

    @Override
    public void onError(Throwable t) {
      loader.disconnect("the stream to the parent failed (" + io.grpc.Status.fromThrowable(t) + ")");
      parentClosed.countDown();
      if (closing) {
        return;
      }
      // The parent refused us (wrong secret or protocol version) or went away. Either way this worker
      // has nothing left to do; the parent's view of it is settled by our process exit.
      if (!exiting.get()) {
        io.grpc.Status s = io.grpc.Status.fromThrowable(t);
        boolean refused =
            s.getCode() == io.grpc.Status.Code.PERMISSION_DENIED
                || s.getCode() == io.grpc.Status.Code.FAILED_PRECONDITION;
        if (refused) {
          System.err.println(
              "procpool worker " + bootstrap.getWorkerIndex() + " (pid " + pid.getAsLong()
                  + ") was refused by its parent: " + s.getDescription());
        }
        leave(refused ? EXIT_REFUSED : EXIT_PARENT_GONE);
      }
    }

    @Override
    public void onCompleted() {
      loader.disconnect("the parent closed the stream");
      parentClosed.countDown();
      if (!exiting.get() && !closing) {
        leave(EXIT_PARENT_GONE);
      }
    }
  }

  private void taskLoop() {
    try {
      while (true) {
        Object item = inbox.poll();
        if (item == null) {
          results.flush();
          item = awaitItem();
        }
        if (item == SHUTDOWN) {
          results.flush();
          drainAndClose(5_000);
          leave(0);
          return;
        } else if (item instanceof io.procpool.proto.v1.Welcome w) {
          if (!initialize(w)) {
            return;
          }
        } else if (item instanceof TaskRequest request) {
          results.beforeTask();
          TaskResult result = runner.run(request);
          results.add(result);
        }
      }
    } catch (InterruptedException e) {
      // Interrupted while idle: only an in-process host stopping us does that.
    }
  }

  /**
   * Waits for the next item: spins for a few tens of microseconds first, since in a stream of small
   * tasks the next one usually arrives right after the result went out, and a parked thread takes
   * longer than that to wake.
   */
  private Object awaitItem() throws InterruptedException {
    long end = System.nanoTime() + SPIN_NANOS;
    do {
      Object item = inbox.poll();
      if (item != null) {
        return item;
      }
      Thread.onSpinWait();
    } while (System.nanoTime() < end);
    return inbox.take();
  }

  /** The class loader tasks, inputs and the initializer are decoded with. */
  public RemoteClassLoader loader() {
    return loader;
  }

  private boolean initialize(io.procpool.proto.v1.Welcome welcome) {
    if (welcome.hasInitializer()) {
      try {
        @SuppressWarnings("unchecked")
        Task<Integer, ?> init = (Task<Integer, ?>) codec.decode(welcome.getInitializer(), loader);
        init.apply(bootstrap.getWorkerIndex());
      } catch (Throwable t) {
        send(
            WorkerMessage.newBuilder()
                .setInitFailed(FailureCodec.encode(Failure.Stage.INITIALIZER, unwrap(t)))
                .build());
        drainAndClose(5_000);
        leave(EXIT_INITIALIZER_FAILED);
        return false;
      }
    }
    Thread.interrupted();
    send(WorkerMessage.newBuilder().setReady(Ready.getDefaultInstance()).build());
    return true;
  }

  private static Throwable unwrap(Throwable t) {
    if (t instanceof ValueCodec.CodecException && t.getCause() != null) {
      return new IllegalStateException(t.getMessage(), t.getCause());
    }
    return t;
  }

  /**
   * The codec a worker started with {@code bootstrap} uses: the pool's serial filter, its blob directory,
   * its input arena to read from and this worker's output arena to write into (each if the pool has one).
   */
  public static ValueCodec codec(Bootstrap bootstrap) throws IOException {
    SharedArena in =
        bootstrap.getInputArena().isEmpty() ? null : SharedArena.open(Path.of(bootstrap.getInputArena()), false);
    SharedArena out =
        bootstrap.getOutputArena().isEmpty() ? null : SharedArena.open(Path.of(bootstrap.getOutputArena()), true);
    return new ValueCodec(
        SerialFilters.filter(bootstrap.getSerialFilter().getPattern()),
        bootstrap.getBlobDir().isEmpty() ? null : Path.of(bootstrap.getBlobDir()),
        out,
        in);
  }
}
