package io.procpool.internal.worker;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.ManagedChannel;
import io.grpc.stub.ClientCallStreamObserver;
import io.grpc.stub.ClientResponseObserver;
import io.procpool.Task;
import io.procpool.TaskCodecException;
import io.procpool.internal.codec.FailureCodec;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.Failure;
import io.procpool.proto.v1.Heartbeat;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.Packed;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.Ready;
import io.procpool.proto.v1.ResultBatch;
import io.procpool.proto.v1.TaskRequest;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import io.procpool.proto.v1.WorkerChannelGrpc;
import io.procpool.proto.v1.WorkerMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.ScheduledExecutorService;
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
 * <p>Results are batched: after a task the worker sends what it has if no other task is queued, or once
 * the batch holds {@link #MAX_BATCH} results, {@link #MAX_BATCH_BYTES} bytes, or is {@link
 * #MAX_BATCH_NANOS} old; a flusher thread, looking every {@link #FLUSH_CHECK_MILLIS} ms, sends a batch
 * that has waited that long while the next task runs. That keeps a single task's round trip short, a stream of tiny tasks cheap, and a long task from
 * holding back the results finished before it (which, were the worker to die, would count as deaths).
 */
public final class WorkerRuntime {
  /** Exit codes of a worker JVM, beside 0 (orderly shutdown) and the codes of signals. */
  public static final int EXIT_TARGET_FAILED = 1;

  public static final int EXIT_REFUSED = 64;
  public static final int EXIT_INITIALIZER_FAILED = 65;
  public static final int EXIT_BAD_BOOTSTRAP = 66;
  public static final int EXIT_PARENT_GONE = 70;

  public static final int PROTOCOL_VERSION = 1;

  private static final int MAX_BATCH = 256;
  private static final long MAX_BATCH_BYTES = 1 << 20;
  private static final long MAX_BATCH_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** How often the flusher looks for a batch held back by a long task. */
  private static final long FLUSH_CHECK_MILLIS = 5;

  private static final long SPIN_NANOS = TimeUnit.MICROSECONDS.toNanos(50);

  /** How the runtime leaves: System.exit in a worker JVM, stopping threads in an in-process test. */
  public interface Exit {
    void exit(int code);
  }

  private static final Object SHUTDOWN = new Object();

  private final Bootstrap bootstrap;
  private final ManagedChannel channel;
  private final StatusFile status;
  private final ValueCodec codec;
  private final Exit exit;
  private final LongSupplier pid;
  private final ClassLoader loader;
  private final TaskCapture capture;

  private final LinkedBlockingDeque<Object> inbox = new LinkedBlockingDeque<>();
  private final Set<Long> cancelled = ConcurrentHashMap.newKeySet();
  private final Object sendLock = new Object();
  private final CountDownLatch parentClosed = new CountDownLatch(1);
  private final AtomicBoolean exiting = new AtomicBoolean();
  // Stateless functions by pool-wide id. Only touched on the task thread. Not evicted: the parent
  // omits a function's bytes only for ids it has sent to this worker, and ids are per function class,
  // so the map is bounded by the number of distinct task classes the parent uses.
  private final java.util.HashMap<Long, Task<Object, Object>> functions = new java.util.HashMap<>();
  private final java.util.HashMap<Long, Value> functionBytes = new java.util.HashMap<>();

  // Guarded by sendLock.
  private ClientCallStreamObserver<WorkerMessage> toParent;

  /**
   * Results not sent yet. The task thread adds to it and flushes when a batch is full or nothing else is
   * queued; the flusher sends a batch that has waited {@link #MAX_BATCH_NANOS} meanwhile, so that a long
   * task never holds back the results of the quick ones before it.
   */
  private final Object pendingLock = new Object();

  @GuardedBy("pendingLock")
  private final List<TaskResult> pending = new ArrayList<>();

  @GuardedBy("pendingLock")
  private long pendingBytes;

  @GuardedBy("pendingLock")
  private long pendingSince;

  private final ScheduledExecutorService flusher =
      Executors.newSingleThreadScheduledExecutor(
          r -> {
            Thread t = new Thread(r, "procpool-worker-flush");
            t.setDaemon(true);
            return t;
          });

  private volatile long runningTaskId;
  private volatile boolean closing;
  private volatile Thread taskThread;

  public WorkerRuntime(
      Bootstrap bootstrap,
      ManagedChannel channel,
      StatusFile status,
      ValueCodec codec,
      LongSupplier pid,
      ClassLoader loader,
      Exit exit) {
    this.bootstrap = bootstrap;
    this.channel = channel;
    this.status = status;
    this.codec = codec;
    this.pid = pid;
    this.loader = loader;
    this.exit = exit;
    this.capture = TaskCapture.install(bootstrap);
  }

  /** Connects, sends Hello and starts the task thread. Returns at once. */
  public void start() {
    Thread t = new Thread(this::taskLoop, bootstrap.getPoolName() + "-w" + bootstrap.getWorkerIndex() + "-task");
    // Not a daemon: this thread keeps the worker JVM alive; it leaves only through Exit.
    t.setDaemon(false);
    taskThread = t;
    // A check every few milliseconds, not a timer armed per batch: arming one wakes the flusher thread
    // twice per batch, and on a machine with few cores those wake-ups cost a stream of small tasks a
    // quarter of its throughput.
    var unused =
        flusher.scheduleAtFixedRate(this::flushIfOld, FLUSH_CHECK_MILLIS, FLUSH_CHECK_MILLIS, TimeUnit.MILLISECONDS);
    WorkerChannelGrpc.newStub(channel).connect(new Inbound());
    send(
        WorkerMessage.newBuilder()
            .setHello(
                Hello.newBuilder()
                    .setProtocolVersion(PROTOCOL_VERSION)
                    .setSecret(bootstrap.getSecret())
                    .setWorkerIndex(bootstrap.getWorkerIndex())
                    .setWorkerId(bootstrap.getWorkerId())
                    .setPid(pid.getAsLong())
                    .setJavaVersion(System.getProperty("java.version", "")))
            .build());
    t.start();
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
      flusher.shutdownNow();
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
        case CANCEL -> {
          long id = message.getCancel().getTaskId();
          cancelled.add(id);
          if (runningTaskId == id) {
            Thread t = taskThread;
            if (t != null) {
              t.interrupt();
            }
          }
        }
        case SHUTDOWN -> inbox.add(SHUTDOWN);
        case KIND_NOT_SET -> {
          // A message kind from a newer protocol: nothing to do.
        }
      }
    }

    @Override
    public void onError(Throwable t) {
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
          flush();
          item = awaitItem();
        }
        if (item == SHUTDOWN) {
          flush();
          drainAndClose(5_000);
          leave(0);
          return;
        } else if (item instanceof io.procpool.proto.v1.Welcome w) {
          if (!initialize(w)) {
            return;
          }
        } else if (item instanceof TaskRequest request) {
          TaskResult result = run(request);
          addPending(result);
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

  private TaskResult run(TaskRequest request) {
    long id = request.getTaskId();
    long start = System.nanoTime();
    capture.begin(); // Before status.begin: a crash report must not show the previous task's output.
    // Step 1: say we started, before anything that could kill us (decoding the input counts).
    status.begin(id, start);
    runningTaskId = id;
    TaskResult.Builder result = TaskResult.newBuilder().setTaskId(id);
    if (request.getFunctionCacheable() && request.hasFunction()) {
      // Keep the bytes even if this task turns out to be cancelled: later tasks omit them.
      functionBytes.putIfAbsent(request.getFunctionId(), request.getFunction());
    }
    try {
      runSteps(request, result);
    } catch (Throwable t) {
      // Whatever escaped the steps (an Error while encoding a failure, say) fails this task alone. Were
      // it to kill the task thread, the parent would see a worker that died idle and send the task to the
      // next worker, which would die the same way, for ever.
      result.clearOutputs().clearPackedOutputs().setFailure(codecFailure(Failure.Stage.ENCODE_RESULT,
          "Cannot send result of task " + request.getDescription() + " from worker "
              + bootstrap.getWorkerIndex(), t));
    } finally {
      capture.end(result);
      runningTaskId = 0;
      status.end();
      // A cancel that arrived after the task returned must not interrupt the next one.
      Thread.interrupted();
    }
    return result.setRunNanos(System.nanoTime() - start).build();
  }

  /**
   * A codec failure of one task, as a {@link TaskCodecException}. Never throws: if even describing
   * {@code t} fails (a {@code StackOverflowError} has a deep trace; an {@code OutOfMemoryError} leaves
   * little room), the failure says so without the details.
   */
  private static Failure codecFailure(Failure.Stage stage, String what, Throwable t) {
    try {
      return FailureCodec.encode(stage, new TaskCodecException(what + ": " + FailureCodec.describe(t), t));
    } catch (Throwable again) {
      return Failure.newBuilder()
          .setStage(stage)
          .setClassName(TaskCodecException.class.getName())
          .setMessage(what + ": " + t.getClass().getName())
          .build();
    }
  }


  /** Steps 2 and 3 of {@link #run}: fills {@code result} with outputs, a failure or a cancellation. */
  private TaskResult.Builder runSteps(TaskRequest request, TaskResult.Builder result) {
    long id = request.getTaskId();
    if (cancelled.remove(id)) {
      return result.setCancelled(true);
    }
    // Step 2: decode the function.
    Task<Object, Object> function;
    try {
      function = function(request);
    } catch (Throwable e) {
      return result.setFailure(
          codecFailure(
              Failure.Stage.DECODE_TASK,
              "Cannot decode task " + request.getDescription() + " in worker " + bootstrap.getWorkerIndex(),
              e));
    }
    // Step 3: each input in order: decode, apply; stop at the first failure. Then encode the outputs,
    // packed when they are small scalars of one type.
    Payload inputs = Payload.inputsOf(request);
    Payload.Cursor cursor;
    try {
      cursor = inputs.cursor(codec, loader);
    } catch (Throwable e) {
      return result.setFailure(
          codecFailure(
              Failure.Stage.DECODE_TASK,
              "Cannot decode inputs of task " + request.getDescription() + " in worker "
                  + bootstrap.getWorkerIndex(),
              e));
    }
    int n = inputs.size();
    List<Object> outs = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Object in;
      try {
        in = cursor.next();
      } catch (Throwable e) {
        encodeOutputs(request, result, outs);
        return result.setFailure(
            codecFailure(
                Failure.Stage.DECODE_TASK,
                "Cannot decode input of task " + request.getDescription() + " in worker "
                    + bootstrap.getWorkerIndex(),
                e));
      }
      Object out;
      try {
        out = function.apply(in);
      } catch (Throwable t) {
        if (cancelled.remove(id)) {
          return result.setCancelled(true);
        }
        encodeOutputs(request, result, outs);
        return result.setFailure(FailureCodec.encode(Failure.Stage.RUN, t));
      }
      outs.add(out);
    }
    if (cancelled.remove(id)) {
      return result.setCancelled(true);
    }
    Failure encodeFailure = encodeOutputs(request, result, outs);
    return encodeFailure == null ? result : result.setFailure(encodeFailure);
  }

  /**
   * Puts {@code outs} into {@code result}, packed if possible. If one cannot be encoded, the outputs
   * before it are kept and the failure is returned. Any {@code Throwable} counts: a {@code
   * StackOverflowError} from serializing a deep linked structure, an {@code OutOfMemoryError} from a huge
   * one.
   */
  private Failure encodeOutputs(TaskRequest request, TaskResult.Builder result, List<Object> outs) {
    Packed packed;
    try {
      packed = ValueCodec.pack(outs);
    } catch (Throwable t) {
      packed = null;
    }
    if (packed != null) {
      result.setPackedOutputs(packed);
      return null;
    }
    for (Object out : outs) {
      try {
        result.addOutputs(codec.encode(out));
      } catch (Throwable e) {
        return codecFailure(
            Failure.Stage.ENCODE_RESULT, "Cannot send result of task " + request.getDescription(), e);
      }
    }
    return null;
  }

  @SuppressWarnings("unchecked")
  private Task<Object, Object> function(TaskRequest request) throws ValueCodec.CodecException {
    boolean cacheable = request.getFunctionCacheable();
    if (cacheable) {
      Task<Object, Object> f = functions.get(request.getFunctionId());
      if (f != null) {
        return f;
      }
      if (!functionBytes.containsKey(request.getFunctionId())) {
        throw new ValueCodec.CodecException(
            "function " + request.getFunctionId() + " of task " + request.getDescription()
                + " was never sent to this worker",
            null);
      }
    }
    Object o =
        codec.decode(cacheable ? functionBytes.get(request.getFunctionId()) : request.getFunction(), loader);
    if (!(o instanceof Task)) {
      throw new ValueCodec.CodecException(
          "function of task " + request.getDescription() + " is a "
              + (o == null ? "null" : o.getClass().getName()) + ", not an io.procpool.Task",
          null);
    }
    Task<Object, Object> f = (Task<Object, Object>) o;
    if (cacheable) {
      functions.put(request.getFunctionId(), f);
    }
    return f;
  }

  /** Adds a finished task's result to the batch; sends the batch if it is full or old enough. */
  private void addPending(TaskResult result) {
    synchronized (pendingLock) {
      pending.add(result);
      pendingBytes += result.getSerializedSize();
      if (pending.size() == 1) {
        pendingSince = System.nanoTime();
      }
      if (pending.size() >= MAX_BATCH
          || pendingBytes >= MAX_BATCH_BYTES
          || System.nanoTime() - pendingSince >= MAX_BATCH_NANOS) {
        flush();
      }
    }
  }

  private void flushIfOld() {
    synchronized (pendingLock) {
      if (!pending.isEmpty() && System.nanoTime() - pendingSince >= MAX_BATCH_NANOS) {
        flush();
      }
    }
  }

  /** Sends the batch, if any. Sent under the lock, so batches leave in the order they were made. */
  private void flush() {
    synchronized (pendingLock) {
      if (pending.isEmpty()) {
        return;
      }
      WorkerMessage m =
          WorkerMessage.newBuilder().setResults(ResultBatch.newBuilder().addAllResults(pending)).build();
      pending.clear();
      pendingBytes = 0;
      send(m);
    }
  }
}
