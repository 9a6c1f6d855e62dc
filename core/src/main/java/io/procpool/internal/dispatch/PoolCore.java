package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.common.util.concurrent.SettableFuture;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.procpool.PoolStats;
import io.procpool.Task;
import io.procpool.TaskCodecException;
import io.procpool.TaskTimeoutException;
import io.procpool.WorkerCrashedException;
import io.procpool.WorkerInfo;
import io.procpool.WorkerStartException;
import io.procpool.internal.codec.FailureCodec;
import io.procpool.internal.codec.TaskDescriptions;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.jfr.PoolEvents;
import io.procpool.internal.supervisor.ClassDataSharing;
import io.procpool.internal.supervisor.Durations;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.supervisor.LaunchedWorker;
import io.procpool.internal.supervisor.PoolDirectory;
import io.procpool.internal.supervisor.WorkerLauncher;
import io.procpool.internal.transport.PoolServer;
import io.procpool.internal.transport.WorkerService;
import io.procpool.internal.worker.StatusFile;
import io.procpool.internal.worker.WorkerRuntime;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.Cancel;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.Packed;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.SerialFilter;
import io.procpool.proto.v1.Shutdown;
import io.procpool.proto.v1.TaskBatch;
import io.procpool.proto.v1.TaskRequest;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import io.procpool.proto.v1.Welcome;
import io.procpool.proto.v1.WorkerMessage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The supervisor and dispatcher of one pool: it starts and replaces workers, queues tasks, sends them to
 * workers with a prefetch window, and completes their futures.
 *
 * <p>Concurrency: one lock ({@link #lock}) guards the queue, the slots and every task record. It is held
 * only to change that state; encoding, decoding, sending on a stream, launching a process and completing
 * futures all happen after it is released, so user callbacks never run under it. Callbacks come from
 * three kinds of threads: callers (submit, cancel, shutdown), gRPC transport threads (worker messages),
 * and process-exit threads; timers run on one scheduler thread per pool.
 */
public final class PoolCore implements WorkerService.Acceptor {
  /**
   * A pool's life, in order. NEW: built, not started. STARTING: launching the first workers; build()
   * waits. RUNNING: accepts tasks, replaces dead workers. SHUTTING_DOWN: accepts no tasks; runs what is
   * queued and in flight (replacing workers if needed), then tells every worker to exit. TERMINATED: every
   * worker process has exited and every future is done. FAILED: workers could not be (re)started; every
   * unfinished future has failed.
   */
  public enum State {
    NEW,
    STARTING,
    RUNNING,
    SHUTTING_DOWN,
    TERMINATED,
    FAILED
  }

  private static final AtomicInteger POOL_IDS = new AtomicInteger();
  private static final long TARGET_BATCH_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
  private static final int MAX_WINDOW = 512;
  /**
   * At most this many task messages per worker are unanswered at once; further tasks wait in the queue
   * and leave together in one message when results come back. Without it a caller submitting in a loop
   * sends one gRPC message per task, and per-message cost caps throughput (Nagle's idea, for tasks).
   */
  private static final int MAX_OPEN_BATCHES = 2;
  private static final long MAX_INFLIGHT_BYTES = 64L << 20;
  private static final int MAX_CONSECUTIVE_START_FAILURES = 3;
  static final String DEFAULT_SERIAL_FILTER =
      "maxdepth=1000;maxrefs=50000000;maxarray=2147483639;maxbytes=9223372036854775807";

  private final PoolConfig config;
  private final String name;
  private final System.Logger log;
  private final ValueCodec codec;
  private final ByteString secret;
  private final Path dir;
  private final PoolDirectory directory;
  private final WorkerLauncher launcher;
  private final ScheduledExecutorService timer;
  private final PoolServer server;
  private final Value initializer;
  private final SettableFuture<Void> terminated = SettableFuture.create();
  private final SettableFuture<Void> started = SettableFuture.create();
  private final AtomicLong taskIds = new AtomicLong();
  private final Map<Class<?>, Value> functionCache = new ConcurrentHashMap<>();
  private final Map<Class<?>, Long> functionIds = new ConcurrentHashMap<>();
  private final AtomicLong functionIdSource = new AtomicLong();
  private volatile long startNanos;
  private final boolean capture;

  private final Object lock = new Object();

  @GuardedBy("lock")
  private State state = State.NEW;

  @GuardedBy("lock")
  private final ArrayDeque<TaskRecord> queue = new ArrayDeque<>();

  @GuardedBy("lock")
  private final Slot[] slots;

  @GuardedBy("lock")
  private final Map<Long, Slot> slotsById = new java.util.HashMap<>();

  @GuardedBy("lock")
  private final Set<Slot> retiring = Collections.newSetFromMap(new IdentityHashMap<>());

  @GuardedBy("lock")
  private long nextWorkerId = 1;

  @GuardedBy("lock")
  private int consecutiveStartFailures;

  @GuardedBy("lock")
  private boolean stoppedNow;

  @GuardedBy("lock")
  private long ewmaTaskNanos = TimeUnit.MILLISECONDS.toNanos(10);

  @GuardedBy("lock")
  private long ewmaItemNanos = -1;

  /** Maps that have inputs not yet queued; an orderly shutdown waits for them. */
  @GuardedBy("lock")
  private int openMaps;

  @GuardedBy("lock")
  private long submitted, completedTasks, failedTasks, retriedTasks, cancelledTasks, workersReplaced;

  public PoolCore(PoolConfig config) {
    this.config = config;
    this.name = config.name() + "-" + POOL_IDS.incrementAndGet();
    this.log = System.getLogger("io.procpool.Pool");
    byte[] s = new byte[32];
    new SecureRandom().nextBytes(s);
    this.secret = ByteString.copyFrom(s);
    this.slots = new Slot[config.workers()];
    try {
      this.directory = PoolDirectory.create("procpool-");
      this.dir = directory.path();
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create the pool's private directory", e);
    }
    this.codec = new ValueCodec(ValueCodec.createFilter(filterPattern(config.serialFilter())), dir);
    this.launcher =
        config.launcher() != null
            ? config.launcher()
            : new JvmLauncher(
                ClassDataSharing.apply(config.command(), dir, name), dir, config.output(), config.name());
    this.capture = Capture.enabled(config.output(), launcher.inProcess());
    this.timer =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, name + "-timer");
              t.setDaemon(true);
              return t;
            });
    try {
      this.initializer =
          config.initializer() == null ? null : encodeFunction(config.initializer(), "initializer");
      WorkerService service = new WorkerService(secret, this, timer, 30_000, log);
      this.server =
          launcher.inProcess()
              ? PoolServer.startInProcess(service, name)
              : PoolServer.startLoopback(service);
    } catch (IOException | RuntimeException e) {
      timer.shutdownNow();
      deleteDir();
      if (e instanceof IOException io) {
        throw new UncheckedIOException("Cannot start the pool's gRPC server", io);
      }
      throw (RuntimeException) e;
    }
  }

  static String filterPattern(String user) {
    return user == null || user.isEmpty() ? DEFAULT_SERIAL_FILTER : user + ";" + DEFAULT_SERIAL_FILTER;
  }

  public String name() {
    return name;
  }

  public PoolServer server() {
    return server;
  }

  // ---------------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Starts every worker concurrently and waits until all are ready. On failure, kills what was started,
   * waits for those processes to exit, and throws {@link WorkerStartException}.
   */
  public void start() {
    startNanos = System.nanoTime();
    synchronized (lock) {
      transition(State.STARTING);
      for (int i = 0; i < slots.length; i++) {
        reserve(i);
      }
    }
    for (int i = 0; i < slots.length; i++) {
      Slot s;
      synchronized (lock) {
        s = slots[i];
      }
      launch(s);
    }
    ShutdownHooks.register(this);
    timer.scheduleWithFixedDelay(
        this::watchdog, watchdogPeriodMillis(), watchdogPeriodMillis(), TimeUnit.MILLISECONDS);
    Throwable failure;
    try {
      started.get(config.startTimeout().toMillis(), TimeUnit.MILLISECONDS);
      return;
    } catch (ExecutionException e) {
      failure = e.getCause();
    } catch (TimeoutException e) {
      failure =
          new TimeoutException(
              "Timed out after " + config.startTimeout().toMillis() + " ms waiting for " + slots.length
                  + " workers to start");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = e;
    }
    stopNow();
    awaitTermination(Duration.ofSeconds(30));
    throw failure instanceof WorkerStartException w
        ? w
        : new WorkerStartException("Pool " + name + " could not start its workers: " + failure, failure);
  }

  private long watchdogPeriodMillis() {
    long period = config.heartbeatInterval().toMillis();
    if (config.taskTimeout() != null) {
      period = Math.min(period, Math.max(5, config.taskTimeout().toMillis() / 10));
    }
    return Math.max(5, Math.min(period, 250));
  }

  @GuardedBy("lock")
  private void transition(State next) {
    switch (next) {
      case STARTING:
        check(state == State.NEW, next);
        break;
      case RUNNING:
        check(state == State.STARTING, next);
        break;
      case SHUTTING_DOWN:
        check(state == State.STARTING || state == State.RUNNING, next);
        break;
      case TERMINATED:
        check(state == State.SHUTTING_DOWN || state == State.FAILED, next);
        break;
      case FAILED:
        check(state != State.TERMINATED, next);
        break;
      default:
        throw new AssertionError("Unexpected state: " + next);
    }
    log.log(System.Logger.Level.DEBUG, "{0}: {1} -> {2}", name, state, next);
    state = next;
  }

  private void check(boolean ok, State next) {
    if (!ok) {
      throw new IllegalStateException("Pool " + name + " cannot go from " + state + " to " + next);
    }
  }

  public State state() {
    synchronized (lock) {
      return state;
    }
  }

  public boolean isShutdown() {
    synchronized (lock) {
      return state.compareTo(State.SHUTTING_DOWN) >= 0;
    }
  }

  public boolean isTerminated() {
    return terminated.isDone();
  }

  /** Orderly shutdown: no new tasks; queued and running tasks finish; then workers exit. */
  public void shutdown() {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      if (state == State.STARTING || state == State.RUNNING) {
        transition(State.SHUTTING_DOWN);
        log.log(System.Logger.Level.DEBUG, "{0}: shutdown requested", name);
      }
      if (state == State.SHUTTING_DOWN) {
        retireIdleIfDrained(after);
        maybeTerminate(after);
      }
    }
    after.forEach(Runnable::run);
  }

  /** Cancels every unfinished future and kills every worker. */
  public void shutdownNow() {
    stopNow();
  }

  private void stopNow() {
    List<TaskFuture<?>> toCancel = new ArrayList<>();
    List<Slot> toKill = new ArrayList<>();
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      if (state == State.STARTING || state == State.RUNNING) {
        transition(State.SHUTTING_DOWN);
      }
      stoppedNow = true;
      openMaps = 0;
      for (TaskRecord r : queue) {
        toCancel.add(r.future);
      }
      queue.clear();
      for (Slot s : allSlotsLocked()) {
        for (TaskRecord r : s.inFlight.values()) {
          toCancel.add(r.future);
        }
        if (s.state != Slot.State.DEAD) {
          toKill.add(s);
          s.killRequested = true;
          if (s.state != Slot.State.LAUNCHING) {
            s.state = Slot.State.RETIRING;
          }
        }
      }
      maybeTerminate(after);
    }
    for (TaskFuture<?> f : toCancel) {
      f.cancelQuietly();
    }
    for (Slot s : toKill) {
      LaunchedWorker p = s.process;
      if (p != null) {
        p.kill();
      }
    }
    after.forEach(Runnable::run);
  }

  /** Kills every worker without waiting: used by the JVM shutdown hook. */
  void killAll() {
    List<LaunchedWorker> ps = new ArrayList<>();
    synchronized (lock) {
      for (Slot s : allSlotsLocked()) {
        if (s.process != null) {
          ps.add(s.process);
        }
      }
    }
    ps.forEach(LaunchedWorker::kill);
  }

  public boolean awaitTermination(Duration timeout) {
    try {
      terminated.get(Math.max(0, Durations.toNanosSaturated(timeout)), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } catch (ExecutionException e) {
      return true;
    }
  }

  public void join() throws InterruptedException {
    synchronized (lock) {
      if (state.compareTo(State.SHUTTING_DOWN) < 0) {
        throw new IllegalStateException(
            "Pool[" + state + "] cannot be joined before shutdown() or shutdownNow()");
      }
    }
    try {
      terminated.get();
    } catch (ExecutionException e) {
      // Never failed.
    }
  }

  public ListenableFuture<Void> terminationFuture() {
    return terminated;
  }

  @GuardedBy("lock")
  private List<Slot> allSlotsLocked() {
    List<Slot> all = new ArrayList<>(slots.length + retiring.size());
    for (Slot s : slots) {
      if (s != null) {
        all.add(s);
      }
    }
    all.addAll(retiring);
    return all;
  }

  /** When shutting down and nothing is queued or in flight, tells every ready worker to exit. */
  @GuardedBy("lock")
  private void retireIdleIfDrained(List<Runnable> after) {
    if (state != State.SHUTTING_DOWN || !queue.isEmpty() || openMaps > 0) {
      return;
    }
    for (Slot s : slots) {
      if (s != null && (s.state == Slot.State.READY || s.state == Slot.State.CONNECTED) && s.inFlight.isEmpty()) {
        s.state = Slot.State.RETIRING;
        after.add(() -> s.send(ParentMessage.newBuilder().setShutdown(Shutdown.getDefaultInstance()).build()));
      } else if (s != null && s.state == Slot.State.LAUNCHING) {
        // Not connected yet: nothing to hand it, so do not wait for its start-up.
        s.killRequested = true;
        LaunchedWorker p = s.process;
        if (p != null) {
          after.add(p::kill);
        }
      }
    }
  }

  @GuardedBy("lock")
  private void maybeTerminate(List<Runnable> after) {
    if (state != State.SHUTTING_DOWN && state != State.FAILED) {
      return;
    }
    for (Slot s : allSlotsLocked()) {
      if (!s.settled) {
        return;
      }
    }
    if (!queue.isEmpty() || (openMaps > 0 && state != State.FAILED)) {
      return;
    }
    transition(State.TERMINATED);
    after.add(this::closeResources);
  }

  private void closeResources() {
    ShutdownHooks.unregister(this);
    server.close();
    timer.shutdownNow();
    synchronized (lock) {
      for (Slot s : allSlotsLocked()) {
        s.status.close();
      }
    }
    deleteDir();
    log.log(System.Logger.Level.DEBUG, "{0}: terminated", name);
    terminated.set(null);
  }

  private void deleteDir() {
    directory.delete();
  }

  // ---------------------------------------------------------------------------------------------------
  // Workers

  /** Creates the slot for a new worker at {@code index}; the caller launches it after unlocking. */
  @GuardedBy("lock")
  private Slot reserve(int index) {
    long id = nextWorkerId++;
    StatusFile status;
    try {
      status = StatusFile.create(dir.resolve("worker-" + id + ".status"));
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create the status file of worker " + index, e);
    }
    Slot s = new Slot(index, id, status);
    Slot old = slots[index];
    if (old != null && old.state != Slot.State.DEAD) {
      retiring.add(old);
    }
    slots[index] = s;
    slotsById.put(id, s);
    return s;
  }

  private void launch(Slot s) {
    Bootstrap b =
        Bootstrap.newBuilder()
            .setProtocolVersion(WorkerRuntime.PROTOCOL_VERSION)
            .setTarget(server.target())
            .setSecret(secret)
            .setWorkerIndex(s.index)
            .setWorkerId(s.workerId)
            .setStatusFile(s.status.path().toString())
            .setHeartbeatMillis((int) config.heartbeatInterval().toMillis())
            .setPoolName(name)
            .setSerialFilter(SerialFilter.newBuilder().setPattern(filterPattern(config.serialFilter())))
            .setBlobDir(dir.toString())
            .build();
    b = Capture.withFiles(b, capture, dir, s.workerId);
    LaunchedWorker p;
    try {
      p = launcher.launch(b);
    } catch (IOException | RuntimeException e) {
      onLaunchFailed(s, e);
      return;
    }
    boolean killNow;
    synchronized (lock) {
      s.process = p;
      killNow = s.killRequested || (s.helloPid != 0 && s.helloPid != p.pid());
      s.lastHeardNanos = System.nanoTime();
    }
    log.log(System.Logger.Level.DEBUG, "{0}: started worker {1} (pid {2,number,#})", name, s.index, p.pid());
    p.onExit().whenComplete((code, e) -> onExit(s, code == null ? -1 : code));
    if (killNow) {
      p.kill();
    }
  }

  private void onLaunchFailed(Slot s, Throwable e) {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      s.startFailure =
          new WorkerStartException(
              "Cannot launch worker " + s.index + " with " + config.command().java() + ": " + e, e);
      s.exited = true;
      s.streamClosed = true;
      settle(s, after);
    }
    after.forEach(Runnable::run);
  }

  @Override
  public WorkerService.StreamHandler accept(Hello hello, ServerCallStreamObserver<ParentMessage> out) {
    Slot s;
    synchronized (lock) {
      s = slotsById.get(hello.getWorkerId());
      if (s == null || s.index != hello.getWorkerIndex()) {
        throw Status.PERMISSION_DENIED
            .withDescription("no worker " + hello.getWorkerIndex() + " with id " + hello.getWorkerId()
                + " was started by pool " + name)
            .asRuntimeException();
      }
      if (s.state != Slot.State.LAUNCHING) {
        throw Status.PERMISSION_DENIED
            .withDescription("worker " + s.index + " (pid " + s.pid() + ") is already connected")
            .asRuntimeException();
      }
      // The process handle may not be recorded yet (a fast worker can connect before launch() returns);
      // then launch() compares the pids when it records the handle.
      if (s.process != null && s.process.pid() != hello.getPid()) {
        throw Status.PERMISSION_DENIED
            .withDescription("worker " + s.index + " is pid " + s.pid() + ", not pid " + hello.getPid())
            .asRuntimeException();
      }
      s.helloPid = hello.getPid();
      s.state = Slot.State.CONNECTED;
      s.lastHeardNanos = System.nanoTime();
      s.attach(out);
    }
    Welcome.Builder w = Welcome.newBuilder();
    if (initializer != null) {
      w.setInitializer(initializer);
    }
    s.send(ParentMessage.newBuilder().setWelcome(w).build());
    return new Handler(s);
  }

  private final class Handler implements WorkerService.StreamHandler {
    private final Slot slot;

    Handler(Slot slot) {
      this.slot = slot;
    }

    @Override
    public void onMessage(WorkerMessage message) {
      switch (message.getKindCase()) {
        case RESULTS:
          onResults(slot, message.getResults().getResultsList());
          break;
        case READY:
          onReady(slot);
          break;
        case HEARTBEAT:
          synchronized (lock) {
            slot.lastHeardNanos = System.nanoTime();
            slot.heapUsed = message.getHeartbeat().getHeapUsedBytes();
            slot.rss = message.getHeartbeat().getRssBytes();
            slot.gcMillis = message.getHeartbeat().getGcMillis();
          }
          break;
        case INIT_FAILED:
          Throwable t = FailureCodec.decode(message.getInitFailed(), codec, initializerLoader());
          synchronized (lock) {
            slot.startFailure =
                new WorkerStartException(
                    "The initializer threw in worker " + slot.index + " (pid " + slot.pid() + "): " + t, t);
          }
          break;
        case HELLO:
        case KIND_NOT_SET:
          break;
      }
    }

    @Override
    public void onClosed(Throwable error) {
      LaunchedWorker p;
      List<Runnable> after = new ArrayList<>();
      synchronized (lock) {
        slot.streamClosed = true;
        p = slot.process;
        if (slot.exited) {
          settle(slot, after);
        }
      }
      slot.closeStream();
      after.forEach(Runnable::run);
      // A worker whose stream is gone can do nothing useful; its exit settles its tasks.
      if (p != null && p.isAlive()) {
        timer.schedule(
            () -> {
              if (p.isAlive()) {
                p.kill();
              }
            },
            2,
            TimeUnit.SECONDS);
      }
    }
  }

  private ClassLoader initializerLoader() {
    Task<Integer, ?> init = config.initializer();
    return init == null ? PoolCore.class.getClassLoader() : init.getClass().getClassLoader();
  }

  private void onReady(Slot s) {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      if (s.state != Slot.State.CONNECTED) {
        return;
      }
      s.state = Slot.State.READY;
      s.readyNanos = System.nanoTime();
      s.lastHeardNanos = s.readyNanos;
      PoolEvents.workerStarted(name, s.index, s.pid(), s.readyNanos - s.launchedNanos);
      consecutiveStartFailures = 0;
      if (state == State.STARTING && allReady()) {
        transition(State.RUNNING);
        log.log(
            System.Logger.Level.INFO,
            "{0}: ready, {1,number,#} worker(s) started in {2,number,#} ms",
            name, slots.length, TimeUnit.NANOSECONDS.toMillis(s.readyNanos - startNanos));
        after.add(() -> started.set(null));
      }
      pump(after);
      retireIdleIfDrained(after);
    }
    after.forEach(Runnable::run);
  }

  @GuardedBy("lock")
  private boolean allReady() {
    for (Slot s : slots) {
      if (s == null || s.state != Slot.State.READY) {
        return false;
      }
    }
    return true;
  }

  /** The worker's process exited. Settles it once its stream has closed too (so late results count). */
  private void onExit(Slot s, int code) {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      s.exited = true;
      s.exitCode = code;
      if (s.streamClosed || s.state == Slot.State.LAUNCHING) {
        settle(s, after);
      } else {
        // Results the worker wrote just before it died may still be in the socket; give the stream a
        // moment to deliver them and close.
        timer.schedule(
            () -> {
              List<Runnable> later = new ArrayList<>();
              synchronized (lock) {
                settle(s, later);
              }
              later.forEach(Runnable::run);
            },
            1,
            TimeUnit.SECONDS);
      }
    }
    after.forEach(Runnable::run);
  }

  /**
   * Settles a worker that is gone: proceed in 3 steps. (1) Its running task, read from its status file,
   * failed with WorkerCrashedException or requeued per maxRetries; every other task it held had not
   * started, and goes back to the front of the queue. (2) It is replaced if the pool still needs it. (3)
   * Queued tasks are dispatched, and the pool terminates if this was its last worker.
   */
  @GuardedBy("lock")
  private void settle(Slot s, List<Runnable> after) {
    if (s.settled) {
      return;
    }
    s.settled = true;
    Slot.State was = s.state;
    s.state = Slot.State.DEAD;
    retiring.remove(s);
    slotsById.remove(s.workerId);
    after.add(s::closeStream);
    // Step 1.
    long running = s.status.read().taskId();
    List<TaskRecord> requeue = new ArrayList<>();
    for (TaskRecord r : s.inFlight.values()) {
      r.slot = null;
      if (r.future.isDone()) {
        continue;
      }
      if (r.id == running) {
        r.deaths.add(new WorkerCrashedException.Attempt(s.index, s.pid(), s.exitCode));
        if (r.deaths.size() <= config.maxRetries() && state.compareTo(State.TERMINATED) < 0) {
          retriedTasks++;
          log.log(
              System.Logger.Level.INFO,
              "{0}: worker {1} (pid {2,number,#}) exited with code {3} while running {4}; retrying it (attempt {5,number,#} of {6,number,#})",
              name, s.index, s.pid(), s.exitCode, r, r.deaths.size() + 1, config.maxRetries() + 1);
          requeue.add(r);
        } else {
          failedTasks++;
          WorkerCrashedException e = crashed(r, s);
          PoolEvents.taskEnded(name, r.id, r.description(), r.size, s.index, s.pid(), PoolEvents.CRASHED,
              System.nanoTime() - s.status.read().startNanos());
          after.add(() -> r.future.fail(Capture.attachTail(e, capture, dir, s.workerId)));
        }
      } else {
        requeue.add(r);
      }
    }
    s.inFlight.clear();
    s.inFlightBytes = 0;
    s.openBatches.clear();
    for (int i = requeue.size() - 1; i >= 0; i--) {
      queue.addFirst(requeue.get(i));
    }
    // A worker we told to exit, or killed while stopping, exited as expected; anything else is news.
    boolean expected = was == Slot.State.RETIRING || s.killRequested;
    log.log(
        expected ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
        "{0}: worker {1} (pid {2,number,#}) exited {3}with code {4}",
        name, s.index, s.pid(), expected ? "" : "unexpectedly ", s.exitCode);
    PoolEvents.workerExited(
        name, s.index, s.pid(), s.exitCode, expected, s.completed, System.nanoTime() - s.launchedNanos);
    // Step 2.
    boolean failedToStart = was == Slot.State.LAUNCHING || was == Slot.State.CONNECTED;
    if (state == State.STARTING && failedToStart) {
      Throwable cause = s.startFailure != null ? s.startFailure : startExitFailure(s);
      after.add(() -> started.setException(cause));
    } else if (slots[s.index] == s && needsReplacement()) {
      // A worker killed from outside while starting (a signal: code > 128) says nothing about whether
      // workers can start; one that failed by itself (bad option, initializer threw) does.
      boolean couldNotStart = failedToStart && (s.startFailure != null || s.exitCode < 128);
      if (couldNotStart && ++consecutiveStartFailures >= MAX_CONSECUTIVE_START_FAILURES) {
        Throwable cause = s.startFailure != null ? s.startFailure : startExitFailure(s);
        fail(cause, after);
      } else {
        workersReplaced++;
        Slot replacement = reserve(s.index);
        log.log(System.Logger.Level.INFO, "{0}: replacing worker {1} (pid {2,number,#})", name, s.index, s.pid());
        after.add(() -> launch(replacement));
      }
    }
    // Step 3.
    pump(after);
    retireIdleIfDrained(after);
    maybeTerminate(after);
  }

  private WorkerStartException startExitFailure(Slot s) {
    return new WorkerStartException(
        "Worker " + s.index + " (pid " + s.pid() + ") exited with code " + s.exitCode
            + " before it was ready" + exitHint(s.exitCode),
        null);
  }

  private static String exitHint(int code) {
    switch (code) {
      case WorkerRuntime.EXIT_REFUSED:
        return " (its parent refused its connection)";
      case WorkerRuntime.EXIT_INITIALIZER_FAILED:
        return " (its initializer threw)";
      case WorkerRuntime.EXIT_BAD_BOOTSTRAP:
        return " (it could not read its bootstrap)";
      case 1:
        return " (the JVM could not start: see its stderr for the reason, e.g. a bad JVM option or classpath)";
      default:
        return "";
    }
  }

  @GuardedBy("lock")
  private boolean needsReplacement() {
    if (state == State.RUNNING) {
      return true;
    }
    return state == State.SHUTTING_DOWN && !stoppedNow && (!queue.isEmpty() || openMaps > 0);
  }

  /** The pool can no longer start workers: every unfinished future fails with {@code cause}. */
  @GuardedBy("lock")
  private void fail(Throwable cause, List<Runnable> after) {
    log.log(System.Logger.Level.ERROR, "{0}: cannot keep workers running; failing: {1}", name, cause);
    transition(State.FAILED);
    WorkerStartException e =
        new WorkerStartException("Pool " + name + " failed: its workers cannot be restarted", cause);
    List<TaskRecord> all = new ArrayList<>(queue);
    queue.clear();
    for (Slot s : allSlotsLocked()) {
      all.addAll(s.inFlight.values());
      if (s.process != null) {
        LaunchedWorker p = s.process;
        after.add(p::kill);
      }
    }
    for (TaskRecord r : all) {
      after.add(() -> r.future.fail(e));
    }
  }

  private WorkerCrashedException crashed(TaskRecord r, Slot s) {
    StringBuilder m =
        new StringBuilder("Worker ")
            .append(s.index)
            .append(" (pid ")
            .append(s.pid())
            .append(") exited with code ")
            .append(s.exitCode)
            .append(" while running ")
            .append(r);
    if (r.deaths.size() > 1) {
      m.append("; it killed ").append(r.deaths.size()).append(" workers: ").append(r.deaths);
    }
    return new WorkerCrashedException(m.toString(), r.deaths);
  }

  /** Periodic checks: task timeouts, hung workers, workers that never connected. */
  private void watchdog() {
    List<Runnable> after = new ArrayList<>();
    long now = System.nanoTime();
    synchronized (lock) {
      for (Slot s : allSlotsLocked()) {
        if (s.state == Slot.State.DEAD || s.process == null) {
          continue;
        }
        LaunchedWorker p = s.process;
        if (config.taskTimeout() != null && !s.inFlight.isEmpty()) {
          StatusFile.Snapshot snap = s.status.read();
          TaskRecord r = snap.taskId() == 0 ? null : s.inFlight.get(snap.taskId());
          if (r != null && !r.future.isDone() && now - snap.startNanos() > config.taskTimeout().toNanos()) {
            s.release(r);
            r.slot = null;
            failedTasks++;
            TaskTimeoutException e =
                new TaskTimeoutException(
                    r + " ran for more than " + config.taskTimeout().toMillis() + " ms on worker " + s.index
                        + " (pid " + s.pid() + "); the worker was killed and will be replaced",
                    config.taskTimeout(),
                    s.pid());
            log.log(System.Logger.Level.WARNING, "{0}: {1}", name, e.getMessage());
            PoolEvents.taskEnded(name, r.id, r.description(), r.size, s.index, s.pid(), PoolEvents.TIMED_OUT,
                now - snap.startNanos());
            after.add(() -> r.future.fail(Capture.attachTail(e, capture, dir, s.workerId)));
            s.killRequested = true; // Logged here; its exit is then expected, not a second warning.
            after.add(p::kill);
            continue;
          }
        }
        long silentNanos = now - s.lastHeardNanos;
        if (s.state == Slot.State.LAUNCHING && silentNanos > config.startTimeout().toNanos()) {
          s.startFailure =
              new WorkerStartException(
                  "Timed out after " + config.startTimeout().toMillis() + " ms waiting for worker " + s.index
                      + " (pid " + s.pid() + ") to connect",
                  null);
          after.add(p::kill);
        } else if (s.state != Slot.State.LAUNCHING
            && silentNanos > config.heartbeatTimeout().toNanos()) {
          log.log(
              System.Logger.Level.WARNING,
              "{0}: worker {1} (pid {2,number,#}) sent nothing for {3,number,#} ms (hung, stopped or stalled); killing it",
              name, s.index, s.pid(), TimeUnit.NANOSECONDS.toMillis(silentNanos));
          s.lastHeardNanos = now;
          s.killRequested = true; // Logged here; its exit is then expected, not a second warning.
          after.add(p::kill);
        }
      }
    }
    after.forEach(Runnable::run);
  }

  // ---------------------------------------------------------------------------------------------------
  // Tasks

  /** Encodes a task function, reusing the bytes of stateless functions (no captured values). */
  Value encodeFunction(Task<?, ?> function, String what) {
    Class<?> c = function.getClass();
    Value v = functionCache.get(c);
    if (v != null) {
      return v;
    }
    try {
      v = Value.newBuilder().setJava(ValueCodec.serialize(function)).build();
    } catch (ValueCodec.CodecException e) {
      throw new TaskCodecException(
          "Cannot send " + what + " " + TaskDescriptions.describe(function) + ": captured "
              + e.getMessage(),
          e);
    }
    if (isStateless(c)) {
      functionIds.putIfAbsent(c, functionIdSource.incrementAndGet());
      functionCache.put(c, v);
    }
    return v;
  }

  private static boolean isStateless(Class<?> c) {
    for (java.lang.reflect.Field f : c.getDeclaredFields()) {
      if (!java.lang.reflect.Modifier.isStatic(f.getModifiers())) {
        return false;
      }
    }
    return c.isSynthetic() || c.getName().contains("$$Lambda");
  }

  /**
   * Creates and queues one task applying {@code function} to each of {@code inputs}. Encoding errors
   * fail the returned future (and only it).
   */
  public <T> ListenableFuture<T> enqueue(Task<?, ?> function, List<?> inputs, boolean single) {
    List<Value> encoded = new ArrayList<>(inputs.size());
    try {
      for (Object in : inputs) {
        encoded.add(encodeInput(function, in));
      }
      encodeFunction(function, "task");
    } catch (TaskCodecException e) {
      TaskFuture<T> future = new TaskFuture<>(single);
      synchronized (lock) {
        rejectIfShutdown();
        submitted++;
        failedTasks++;
      }
      future.fail(e);
      return future;
    }
    return enqueueEncoded(function, encoded, single);
  }

  /** Encodes one input of {@code function}; the message names the task and the offending class. */
  Value encodeInput(Task<?, ?> function, Object input) {
    try {
      return codec.encode(input);
    } catch (ValueCodec.CodecException e) {
      throw new TaskCodecException(
          "Cannot send input of task " + TaskDescriptions.describe(function) + ": " + e.getMessage(), e);
    }
  }

  /** Queues a task whose function encodes (callers have checked) and whose inputs are encoded. */
  <T> TaskFuture<T> enqueueEncoded(Task<?, ?> function, List<Value> inputs, boolean single) {
    return enqueueEncoded(function, inputs, single, false);
  }

  /**
   * As above; a {@code continuation} is the next chunk of a map or imap the pool already accepted, which
   * an orderly shutdown lets through (shutdownNow does not).
   */
  <T> TaskFuture<T> enqueueEncoded(
      Task<?, ?> function, List<Value> inputs, boolean single, boolean continuation) {
    return enqueueEncoded(function, inputs, null, single, continuation);
  }

  /** As above, with the inputs either encoded one by one or {@code packed} (then {@code inputs} is empty). */
  <T> TaskFuture<T> enqueueEncoded(
      Task<?, ?> function, List<Value> inputs, Packed packed, boolean single, boolean continuation) {
    TaskFuture<T> future = new TaskFuture<>(single);
    Value fn = encodeFunction(function, "task");
    Long functionId = functionIds.get(function.getClass());
    boolean cacheable = functionId != null && functionCache.get(function.getClass()) == fn;
    TaskRequest.Builder b =
        TaskRequest.newBuilder()
            .setTaskId(taskIds.incrementAndGet())
            .setDescription(TaskDescriptions.describe(function))
            .addAllInputs(inputs);
    if (packed != null) {
      b.setPackedInputs(packed);
    }
    if (cacheable) {
      // The bytes are added by pump() only for a worker that has not seen this function yet.
      b.setFunctionCacheable(true).setFunctionId(functionId);
    } else {
      b.setFunction(fn);
    }
    TaskRequest request = b.build();
    TaskRecord r =
        new TaskRecord(
            request.getTaskId(), request, cacheable ? fn : null, function.getClass().getClassLoader(), future);
    future.bind(this, r);
    if (inputs.stream().anyMatch(v -> v.getKindCase() == Value.KindCase.BLOB)) {
      future.addListener(() -> deleteBlobs(inputs), MoreExecutors.directExecutor());
    }
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      if (!(continuation && state == State.SHUTTING_DOWN && !stoppedNow)) {
        rejectIfShutdown();
      }
      submitted++;
      queue.addLast(r);
      pump(after);
    }
    after.forEach(Runnable::run);
    PoolEvents.taskSubmitted(name, r.id, r.description(), r.size);
    return future;
  }

  /** A map starts: until {@link #closeMap()}, an orderly shutdown waits for its remaining inputs. */
  void openMap() {
    synchronized (lock) {
      rejectIfShutdown();
      openMaps++;
    }
  }

  /** A map has queued all its inputs (or failed, or was cancelled). */
  void closeMap() {
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      openMaps = Math.max(0, openMaps - 1);
      retireIdleIfDrained(after);
      maybeTerminate(after);
    }
    after.forEach(Runnable::run);
  }

  @GuardedBy("lock")
  private void rejectIfShutdown() {
    if (state != State.RUNNING && state != State.STARTING) {
      throw new RejectedExecutionException("Pool[" + state + "] is not accepting tasks");
    }
  }

  /** How many tasks a worker may hold: enough to cover a round trip, going by recent task run times. */
  @GuardedBy("lock")
  private int window() {
    long w = TARGET_BATCH_NANOS / Math.max(1, ewmaTaskNanos);
    return (int) Math.max(2, Math.min(MAX_WINDOW, w + 1));
  }

  /**
   * Moves queued tasks to ready workers, least loaded first, up to each one's window; the batches are
   * sent after the lock is released.
   */
  @GuardedBy("lock")
  private void pump(List<Runnable> after) {
    if (queue.isEmpty()) {
      return;
    }
    int window = window();
    Map<Slot, TaskBatch.Builder> batches = null;
    while (!queue.isEmpty()) {
      TaskRecord r = queue.peekFirst();
      if (r.future.isDone()) {
        queue.pollFirst();
        continue;
      }
      Slot best = null;
      for (Slot s : slots) {
        if (s != null
            && s.state == Slot.State.READY
            && s.inFlight.size() < window
            && (s.inFlight.isEmpty() || s.inFlightBytes + r.bytes <= MAX_INFLIGHT_BYTES)
            && withinBudget(s, r)
            && (s.openBatches.size() < MAX_OPEN_BATCHES || (batches != null && batches.containsKey(s)))
            && (best == null || s.inFlight.size() < best.inFlight.size())) {
          best = s;
        }
      }
      if (best == null) {
        break;
      }
      queue.pollFirst();
      if (batches == null) {
        batches = new IdentityHashMap<>();
      }
      if (!batches.containsKey(best)) {
        best.batchSeq++;
      }
      r.batch = best.batchSeq;
      best.openBatches.merge(r.batch, 1, Integer::sum);
      r.slot = best;
      best.inFlight.put(r.id, r);
      best.inFlightBytes += r.bytes;
      best.assigned += r.size;
      TaskRequest request = r.request;
      if (r.function != null && best.knownFunctions.add(request.getFunctionId())) {
        request = request.toBuilder().setFunction(r.function).build();
      }
      batches.computeIfAbsent(best, k -> TaskBatch.newBuilder()).addTasks(request);
    }
    if (batches != null) {
      for (Map.Entry<Slot, TaskBatch.Builder> e : batches.entrySet()) {
        Slot s = e.getKey();
        ParentMessage m = ParentMessage.newBuilder().setTasks(e.getValue()).build();
        after.add(() -> s.send(m));
      }
    }
    retireSpent(after);
  }

  @GuardedBy("lock")
  private boolean withinBudget(Slot s, TaskRecord r) {
    return config.maxTasksPerWorker() <= 0 || s.assigned == 0 || s.assigned + r.size <= config.maxTasksPerWorker();
  }

  /** Retires (and replaces) ready workers that have used up maxTasksPerWorker. */
  @GuardedBy("lock")
  private void retireSpent(List<Runnable> after) {
    if (config.maxTasksPerWorker() <= 0 || state != State.RUNNING && (state != State.SHUTTING_DOWN || queue.isEmpty())) {
      return;
    }
    TaskRecord head = queue.peekFirst();
    for (Slot s : slots) {
      if (s == null || s.state != Slot.State.READY || !s.inFlight.isEmpty()) {
        continue;
      }
      boolean spent =
          s.assigned >= config.maxTasksPerWorker() || (head != null && !withinBudget(s, head));
      if (spent) {
        s.state = Slot.State.RETIRING;
        log.log(
            System.Logger.Level.DEBUG,
            "{0}: worker {1} (pid {2,number,#}) ran {3,number,#} tasks; replacing it",
            name, s.index, s.pid(), s.assigned);
        after.add(() -> s.send(ParentMessage.newBuilder().setShutdown(Shutdown.getDefaultInstance()).build()));
        workersReplaced++;
        Slot replacement = reserve(s.index);
        after.add(() -> launch(replacement));
      }
    }
  }

  private void onResults(Slot s, List<TaskResult> results) {
    // Step 1: under the lock, take the records out of the in-flight table.
    List<TaskRecord> done = new ArrayList<>(results.size());
    List<Runnable> after = new ArrayList<>();
    synchronized (lock) {
      s.lastHeardNanos = System.nanoTime();
      for (TaskResult res : results) {
        TaskRecord r = s.inFlight.get(res.getTaskId());
        if (r == null) {
          done.add(null);
          continue;
        }
        s.release(r);
        r.slot = null;
        s.completed += outputCount(res) + (res.hasFailure() ? 1 : 0);
        s.busyNanos += res.getRunNanos();
        ewmaTaskNanos += (res.getRunNanos() - ewmaTaskNanos) / 8;
        long perItem = res.getRunNanos() / Math.max(1, r.size);
        ewmaItemNanos = ewmaItemNanos < 0 ? perItem : ewmaItemNanos + (perItem - ewmaItemNanos) / 8;
        if (res.getCancelled()) {
          cancelledTasks++;
        } else if (res.hasFailure()) {
          failedTasks++;
        } else {
          completedTasks++;
        }
        done.add(r);
      }
      pump(after);
      retireIdleIfDrained(after);
    }
    // Step 2: send more work before decoding, so the worker is not left idle meanwhile.
    after.forEach(Runnable::run);
    // Step 3: decode and complete, outside the lock.
    for (int i = 0; i < results.size(); i++) {
      TaskRecord r = done.get(i);
      TaskResult res = results.get(i);
      if (r == null) {
        deleteBlobs(res.getOutputsList());
        continue;
      }
      PoolEvents.taskEnded(name, r.id, r.description(), r.size, s.index, s.pid(),
          PoolEvents.outcome(res.getCancelled(), res.hasFailure()), res.getRunNanos());
      if (res.getCancelled()) {
        r.future.cancelQuietly();
      } else if (res.hasFailure()) {
        Throwable t = Capture.attach(FailureCodec.decode(res.getFailure(), codec, r.loader), res);
        List<Object> partial;
        try {
          partial = decodeOutputs(res, r.loader);
        } catch (ValueCodec.CodecException | RuntimeException e) {
          partial = List.of();
        }
        deleteBlobs(res.getOutputsList());
        r.future.fail(t, partial);
      } else {
        List<Object> outputs;
        try {
          outputs = decodeOutputs(res, r.loader);
        } catch (ValueCodec.CodecException | RuntimeException e) {
          deleteBlobs(res.getOutputsList());
          r.future.fail(
              new TaskCodecException(
                  "Cannot receive result of " + r + " from worker " + s.index + ": " + e.getMessage(), e));
          continue;
        }
        deleteBlobs(res.getOutputsList());
        Capture.onResult(r.future, res);
        r.future.complete(outputs);
      }
    }
  }

  private static int outputCount(TaskResult res) {
    return res.hasPackedOutputs() ? ValueCodec.size(res.getPackedOutputs()) : res.getOutputsCount();
  }

  private List<Object> decodeOutputs(TaskResult res, ClassLoader loader) throws ValueCodec.CodecException {
    if (res.hasPackedOutputs()) {
      return ValueCodec.unpack(res.getPackedOutputs());
    }
    List<Object> outputs = new ArrayList<>(res.getOutputsCount());
    for (Value v : res.getOutputsList()) {
      outputs.add(codec.decode(v, loader));
    }
    return outputs;
  }

  /** Deletes the files behind any blob values (results once read, task inputs once the task is done). */
  void deleteBlobs(List<Value> values) {
    for (Value v : values) {
      Path p = codec.blobPath(v);
      if (p != null) {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // Removed with the pool's directory at the latest.
        }
      }
    }
  }

  /** A task's future was cancelled by its caller. */
  void onCancelled(TaskRecord r, boolean interrupt) {
    Slot s;
    synchronized (lock) {
      s = r.slot;
      if (s == null) {
        queue.remove(r);
        return;
      }
      if (!interrupt || r.cancelSent) {
        return;
      }
      r.cancelSent = true;
    }
    s.send(ParentMessage.newBuilder().setCancel(Cancel.newBuilder().setTaskId(r.id)).build());
    timer.schedule(
        () -> {
          LaunchedWorker p = null;
          synchronized (lock) {
            if (r.slot == s && s.state != Slot.State.DEAD && s.status.read().taskId() == r.id) {
              p = s.process;
              log.log(
                  System.Logger.Level.WARNING,
                  "{0}: {1} did not stop within {2,number,#} ms of being cancelled; killing worker {3} (pid {4,number,#})",
                  name, r, config.cancelGracePeriod().toMillis(), s.index, s.pid());
              s.killRequested = true; // Logged here; its exit is then expected, not a second warning.
            }
          }
          if (p != null) {
            p.kill();
          }
        },
        config.cancelGracePeriod().toMillis(),
        TimeUnit.MILLISECONDS);
  }

  // ---------------------------------------------------------------------------------------------------
  // Introspection

  public List<WorkerInfo> workers() {
    synchronized (lock) {
      List<WorkerInfo> out = new ArrayList<>(slots.length);
      for (Slot s : slots) {
        if (s != null) {
          LaunchedWorker p = s.process;
          out.add(new WorkerInfo(s.index, s.pid(), p != null && p.isAlive(), s.completed));
        }
      }
      return out;
    }
  }

  public PoolStats stats() {
    long now = System.nanoTime();
    synchronized (lock) {
      List<PoolStats.Worker> ws = new ArrayList<>();
      int running = 0;
      for (Slot s : slots) {
        if (s == null) {
          continue;
        }
        running += s.inFlight.isEmpty() ? 0 : 1;
        StatusFile.Snapshot snap = s.status.read();
        TaskRecord current = snap.taskId() == 0 ? null : s.inFlight.get(snap.taskId());
        ws.add(
            new PoolStats.Worker(
                s.index,
                s.pid(),
                s.state.name(),
                current == null ? null : current.toString(),
                s.completed,
                Duration.ofNanos(s.busyNanos),
                Duration.ofNanos(now - s.launchedNanos),
                s.heapUsed,
                s.rss,
                s.gcMillis));
      }
      int inFlight = 0;
      for (Slot s : allSlotsLocked()) {
        inFlight += s.inFlight.size();
      }
      return new PoolStats(
          state.name(), queue.size(), inFlight, submitted, completedTasks, failedTasks, retriedTasks,
          cancelledTasks, workersReplaced, ws);
    }
  }

  @Override
  public String toString() {
    synchronized (lock) {
      int alive = 0;
      int running = 0;
      for (Slot s : slots) {
        if (s != null && s.state != Slot.State.DEAD) {
          alive++;
        }
        if (s != null && !s.inFlight.isEmpty()) {
          running++;
        }
      }
      return "Pool[" + state + ", workers=" + alive + "/" + slots.length + ", queued=" + queue.size()
          + ", running=" + running + "]";
    }
  }

  /** Whether workers capture what tasks print (WorkerOutput.CAPTURE). */
  boolean capturesOutput() {
    return capture;
  }

  /** For stats and map sizing. */
  public int workerCount() {
    return slots.length;
  }

  /** Average run time of one input in recent tasks, or -1 before any result; for chunk sizing. */
  long recentItemNanos() {
    synchronized (lock) {
      return ewmaItemNanos;
    }
  }

  Duration taskTimeout() {
    return config.taskTimeout();
  }

  long maxTasksPerWorker() {
    return config.maxTasksPerWorker();
  }

}
