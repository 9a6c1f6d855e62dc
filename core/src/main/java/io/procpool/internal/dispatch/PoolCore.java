package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.common.util.concurrent.SettableFuture;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import com.google.protobuf.ByteString;
import io.procpool.PoolStats;
import io.procpool.Task;
import io.procpool.TaskCodecException;
import io.procpool.WorkerInfo;
import io.procpool.WorkerStartException;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.TaskEncoder;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.jfr.PoolEvents;
import io.procpool.internal.transport.PoolServer;
import io.procpool.internal.transport.WorkerService;
import io.procpool.internal.worker.WorkerRuntime;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.Cancel;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.SerialFilter;
import io.procpool.proto.v1.TaskRequest;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import io.procpool.proto.v1.Welcome;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One pool's lifecycle, and the wiring of its parts: the {@link Supervisor} (workers), the {@link
 * Dispatcher} (queue), {@link Settlement} (tasks of dead workers), {@link Completions} (futures), the
 * {@link Watchdog}, all changing state in one {@link CoreContext} and acting through one {@link Outbox}.
 *
 * <p>Threads: callers (submit, cancel, shutdown), gRPC transport threads (worker messages), process-exit
 * threads and the timer thread (watchdog) each change state through {@link CoreContext#update}; none runs
 * user code. Futures are completed, and workers launched, on the pool's executor ({@code <pool>-exec-N}
 * threads, made as needed), except that a task failing at submit, and the cancellations of {@code
 * shutdownNow()}, complete in the calling thread.
 */
public final class PoolCore {
  /**
   * A pool's life, in order; it only moves forward, through {@link #transition}.
   *
   * <ul>
   *   <li>NEW: built, nothing started. Trigger out: {@link #start()}.
   *   <li>STARTING: the first workers are launching; {@code build()} waits. Accepts tasks (they queue).
   *       Out: every worker ready (RUNNING), a worker fails to start (SHUTTING_DOWN, then TERMINATED).
   *   <li>RUNNING: accepts tasks; replaces workers that die. Out: shutdown or shutdownNow.
   *   <li>SHUTTING_DOWN: accepts no tasks, but lets the chunks of maps already accepted in; runs what is
   *       queued and in flight (replacing workers if needed; after shutdownNow nothing is left to run),
   *       then tells every worker to exit. Out: every worker settled and every future done (TERMINATED).
   *   <li>FAILED: workers cannot be (re)started; every unfinished future has failed. Out: every worker
   *       settled (TERMINATED).
   *   <li>TERMINATED: every worker process has exited, every future is done, resources are released.
   * </ul>
   */
  public enum State {
    NEW,
    STARTING,
    RUNNING,
    SHUTTING_DOWN,
    FAILED,
    TERMINATED
  }

  private static final AtomicLong POOL_IDS = new AtomicLong();

  private final PoolConfig config;
  private final String name;
  private final System.Logger log = System.getLogger("io.procpool.Pool");
  private final PoolResources resources;
  private final TaskEncoder encoder;
  private final CoreContext ctx;
  private final PoolCounters counters = new PoolCounters();
  private final Dispatcher dispatcher;
  private final Supervisor supervisor;
  private final Completions completions;
  private final Watchdog watchdog;
  private final SettableFuture<Void> started = SettableFuture.create();
  private final SettableFuture<Void> terminated = SettableFuture.create();
  private final AtomicLong taskIds = new AtomicLong();

  @GuardedBy("ctx.lock")
  private State state = State.NEW;

  /** Maps that have inputs not yet queued; an orderly shutdown waits for them. */
  @GuardedBy("ctx.lock")
  private int openMaps;

  /** Futures not yet done; the pool terminates only when none is left. */
  @GuardedBy("ctx.lock")
  private long openFutures;

  @GuardedBy("ctx.lock")
  private boolean stoppedNow;

  @GuardedBy("ctx.lock")
  private long startNanos;

  public PoolCore(PoolConfig config) {
    this.config = config;
    this.name = config.name() + "-" + POOL_IDS.incrementAndGet();
    this.resources = PoolResources.create(config, name);
    ValueCodec codec = resources.codec;
    this.encoder = new TaskEncoder(codec);
    this.ctx = new CoreContext(new Outbox(resources.executor));
    this.dispatcher = new Dispatcher(ctx.outbox, config.maxTasksPerWorker());
    this.completions = new Completions(name, codec, log);
    boolean capture = resources.capture;
    Settlement settlement =
        new Settlement(name, log, dispatcher, counters, completions, config.maxRetries(), capture,
            resources.dir, System::nanoTime);
    Task<Integer, ?> init = config.initializer();
    this.supervisor =
        new Supervisor(name, log, ctx, config.workers(), resources.launcher, resources.dir, capture,
            resources.timer, System::nanoTime, counters, settlement, this::onResults, codec,
            init == null ? PoolCore.class.getClassLoader() : init.getClass().getClassLoader());
    this.watchdog =
        new Watchdog(name, log, ctx, supervisor, counters, completions, System::nanoTime, config, capture,
            resources.dir);
    ctx.reconcileWith(this::reconcile);
    try {
      Welcome.Builder welcome = Welcome.newBuilder();
      if (init != null) {
        welcome.setInitializer(encoder.function(init, "initializer").bytes());
      }
      PoolServer server = resources.startServer(new WorkerService(resources.secret, supervisor,
          resources.timer, 30_000, log), launcherInProcess());
      supervisor.configure(new Lifecycle(), bootstrap(server), welcome.build());
    } catch (IOException | RuntimeException e) {
      resources.close();
      if (e instanceof IOException io) {
        throw new UncheckedIOException("Cannot start the pool's gRPC server", io);
      }
      throw (RuntimeException) e;
    }
  }

  private boolean launcherInProcess() {
    return resources.launcher.inProcess();
  }

  private Bootstrap bootstrap(PoolServer server) {
    return Bootstrap.newBuilder()
        .setProtocolVersion(WorkerRuntime.PROTOCOL_VERSION)
        .setTarget(server.target())
        .setSecret(ByteString.copyFrom(resources.secret.toByteArray()))
        .setHeartbeatMillis((int) Math.min(Integer.MAX_VALUE, Watchdog.nanos(config.heartbeatInterval()) / 1_000_000))
        .setPoolName(name)
        .setSerialFilter(SerialFilter.newBuilder().setPattern(PoolResources.filterPattern(config.serialFilter())))
        .setBlobDir(resources.dir.toString())
        .build();
  }

  public String name() {
    return name;
  }

  public PoolServer server() {
    return resources.server;
  }

  // ---------------------------------------------------------------------------------------------------
  // Lifecycle

  /**
   * Starts every worker and waits until all are ready. On failure, kills what was started, waits for
   * those processes to exit, and throws {@link WorkerStartException}.
   */
  public void start() {
    ctx.update(
        () -> {
          transition(State.STARTING);
          startNanos = System.nanoTime();
          for (int i = 0; i < config.workers(); i++) {
            supervisor.reserve(i);
          }
        });
    ShutdownHooks.register(this);
    long period = Watchdog.periodMillis(config);
    resources.timer.scheduleWithFixedDelay(watchdog, period, period, TimeUnit.MILLISECONDS);
    Throwable failure;
    long timeoutNanos = Watchdog.nanos(config.startTimeout());
    try {
      started.get(timeoutNanos, TimeUnit.NANOSECONDS);
      return;
    } catch (ExecutionException e) {
      failure = e.getCause();
    } catch (TimeoutException e) {
      failure = new TimeoutException("Timed out after " + config.startTimeout().toMillis()
          + " ms waiting for " + config.workers() + " workers to start");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      failure = e;
    }
    shutdownNow();
    try {
      terminated.get(30, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    } catch (ExecutionException | TimeoutException e) {
      // Reported below with the start failure.
    }
    throw failure instanceof WorkerStartException w
        ? w
        : new WorkerStartException("Pool " + name + " could not start its workers: " + failure, failure);
  }

  /** The one way the pool's state changes; throws if {@code next} does not follow the current state. */
  @GuardedBy("ctx.lock")
  private void transition(State next) {
    boolean ok;
    switch (next) {
      case STARTING:
        ok = state == State.NEW;
        break;
      case RUNNING:
        ok = state == State.STARTING;
        break;
      case SHUTTING_DOWN:
        ok = state == State.STARTING || state == State.RUNNING;
        break;
      case FAILED:
        ok = state.compareTo(State.FAILED) < 0;
        break;
      case TERMINATED:
        ok = state == State.SHUTTING_DOWN || state == State.FAILED;
        break;
      case NEW:
        ok = false;
        break;
      default:
        throw new AssertionError("Unexpected state: " + next);
    }
    if (!ok) {
      throw new IllegalStateException("Pool " + name + " cannot go from " + state + " to " + next);
    }
    log.log(System.Logger.Level.DEBUG, "{0}: {1} -> {2}", name, state, next);
    state = next;
  }

  /**
   * Runs after every change, under the lock: moves the pool toward where it should be. Proceed in 4
   * steps: (1) dispatch what is queued; (2) retire workers that used up maxTasksPerWorker; (3) when
   * draining and nothing is left to run, tell idle workers to exit; (4) terminate when every worker is
   * settled and every future done.
   */
  @GuardedBy("ctx.lock")
  private void reconcile() {
    dispatcher.pump(supervisor.current());
    boolean wantsWork =
        state == State.RUNNING || (state == State.SHUTTING_DOWN && !dispatcher.isEmpty());
    if (config.maxTasksPerWorker() > 0 && wantsWork) {
      supervisor.retireSpent(dispatcher, config.maxTasksPerWorker());
    }
    if (state == State.SHUTTING_DOWN && dispatcher.isEmpty() && openMaps == 0) {
      supervisor.retireIdle();
    }
    if ((state == State.SHUTTING_DOWN || state == State.FAILED)
        && supervisor.allSettled()
        && openFutures == 0
        && (openMaps == 0 || state == State.FAILED)) {
      transition(State.TERMINATED);
      ctx.outbox.later(this::releaseResources);
    }
  }

  private void releaseResources() {
    ShutdownHooks.unregister(this);
    resources.close();
    log.log(System.Logger.Level.DEBUG, "{0}: terminated", name);
    terminated.set(null);
  }

  /** What the supervisor asks of the lifecycle; called with the lock held. */
  private final class Lifecycle implements Supervisor.Lifecycle {
    @Override
    @SuppressWarnings("GuardedBy") // Called by the supervisor with ctx.lock held.
    public boolean isStarting() {
      return state == State.STARTING;
    }

    @Override
    @SuppressWarnings("GuardedBy")
    public boolean needsWorkers() {
      return state == State.RUNNING
          || (state == State.SHUTTING_DOWN && !stoppedNow && (!dispatcher.isEmpty() || openMaps > 0));
    }

    @Override
    @SuppressWarnings("GuardedBy")
    public void workerReady() {
      if (state == State.STARTING && supervisor.allReady()) {
        transition(State.RUNNING);
        log.log(System.Logger.Level.INFO, "{0}: ready, {1,number,#} worker(s) started in {2,number,#} ms",
            name, config.workers(), TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
        ctx.outbox.later(() -> started.set(null));
      }
    }

    @Override
    public void startFailed(Throwable cause) {
      ctx.outbox.later(() -> started.setException(cause));
    }

    @Override
    @SuppressWarnings("GuardedBy")
    public void cannotKeepWorkers(Throwable cause) {
      log.log(System.Logger.Level.ERROR, "{0}: cannot keep workers running; failing: {1}", name, cause);
      transition(State.FAILED);
      WorkerStartException e =
          new WorkerStartException("Pool " + name + " failed: its workers cannot be restarted", cause);
      List<TaskRecord> all = dispatcher.drain();
      for (Worker w : supervisor.all()) {
        all.addAll(w.inFlight.values());
        supervisor.kill(w, "the pool failed");
      }
      ctx.outbox.later(() -> all.forEach(r -> completions.failQuietly(r, e)));
    }
  }

  public State state() {
    synchronized (ctx.lock) {
      return state;
    }
  }

  public boolean isShutdown() {
    synchronized (ctx.lock) {
      return state.compareTo(State.SHUTTING_DOWN) >= 0;
    }
  }

  public boolean isTerminated() {
    return terminated.isDone();
  }

  /** Orderly shutdown: no new tasks; queued and running tasks finish; then workers exit. */
  public void shutdown() {
    ctx.update(
        () -> {
          if (state == State.STARTING || state == State.RUNNING) {
            transition(State.SHUTTING_DOWN);
          }
        });
  }

  /** Cancels every unfinished future and kills every worker (and what it started). */
  public void shutdownNow() {
    List<TaskRecord> toCancel = new ArrayList<>();
    ctx.update(
        () -> {
          if (state == State.STARTING || state == State.RUNNING) {
            transition(State.SHUTTING_DOWN);
          }
          stoppedNow = true;
          openMaps = 0;
          toCancel.addAll(dispatcher.drain());
          for (Worker w : supervisor.all()) {
            toCancel.addAll(w.inFlight.values());
            supervisor.kill(w, "the pool was shut down now");
          }
        });
    for (TaskRecord r : toCancel) {
      r.future.cancelQuietly();
    }
  }

  /** Kills every worker without waiting: the JVM shutdown hook. */
  void killAll() {
    ctx.update(
        () -> {
          for (Worker w : supervisor.all()) {
            supervisor.kill(w, "this JVM is exiting");
          }
        });
  }

  /**
   * Waits up to {@code timeout} for termination.
   *
   * @throws InterruptedException if interrupted while waiting, as {@code ExecutorService} does
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    try {
      terminated.get(Math.max(0, Watchdog.nanos(timeout)), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      return true;
    }
  }

  public void join() throws InterruptedException {
    synchronized (ctx.lock) {
      if (state.compareTo(State.SHUTTING_DOWN) < 0) {
        throw new IllegalStateException(
            "Pool[" + state + "] cannot be joined before shutdown() or shutdownNow()");
      }
    }
    try {
      terminated.get();
    } catch (ExecutionException e) {
      throw new AssertionError("termination never fails", e);
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Tasks

  /** Encodes what the parent sends; maps encode their function once per map through it. */
  TaskEncoder encoder() {
    return encoder;
  }

  /**
   * Creates and queues one task applying {@code function} to each of {@code inputs}. An encoding error
   * fails the returned future (and only it).
   *
   * @throws RejectedExecutionException if the pool is shut down
   */
  public <T> ListenableFuture<T> enqueue(Task<?, ?> function, List<?> inputs, boolean single) {
    TaskEncoder.Function f;
    List<Value> encoded = new ArrayList<>(inputs.size());
    try {
      f = encoder.function(function, "task");
      for (Object in : inputs) {
        encoded.add(encoder.input(f, in));
      }
    } catch (TaskCodecException e) {
      synchronized (ctx.lock) {
        rejectIfShutdown();
        counters.submitted++;
        counters.failed++;
      }
      TaskFuture<T> future = new TaskFuture<>(single);
      future.fail(e);
      return future;
    }
    return enqueue(f, new Payload.Separate(encoded), single, false);
  }

  /**
   * Queues a task of an encoded function and inputs. A {@code continuation} is the next chunk of a map
   * the pool already accepted, which an orderly shutdown lets through (shutdownNow does not).
   */
  <T> TaskFuture<T> enqueue(TaskEncoder.Function f, Payload inputs, boolean single, boolean continuation) {
    TaskRequest.Builder b =
        TaskRequest.newBuilder().setTaskId(taskIds.incrementAndGet()).setDescription(f.description());
    if (inputs instanceof Payload.PackedScalars p) {
      b.setPackedInputs(p.packed());
    } else if (inputs instanceof Payload.Separate s) {
      b.addAllInputs(s.values());
    }
    if (f.cacheId() != 0) {
      // The bytes are added by the dispatcher only for a worker that has not seen this function yet.
      b.setFunctionCacheable(true).setFunctionId(f.cacheId());
    } else {
      b.setFunction(f.bytes());
    }
    TaskFuture<T> future = new TaskFuture<>(single);
    TaskRecord r = new TaskRecord(b.build(), f, future);
    List<Value> blobs = inputs.blobs();
    ctx.update(
        () -> {
          if (!(continuation && state == State.SHUTTING_DOWN && !stoppedNow)) {
            rejectIfShutdown();
          }
          counters.submitted++;
          openFutures++;
          future.bind(this, r);
          dispatcher.add(r);
        });
    if (!blobs.isEmpty()) {
      future.addListener(() -> completions.deleteBlobs(blobs), MoreExecutors.directExecutor());
    }
    PoolEvents.taskSubmitted(name, r.id, r.description(), r.size);
    return future;
  }

  /** A map starts: until {@link #closeMap()}, an orderly shutdown waits for its remaining inputs. */
  void openMap() {
    synchronized (ctx.lock) {
      rejectIfShutdown();
      openMaps++;
    }
  }

  /** A map has queued all its inputs (or failed, or was cancelled). */
  void closeMap() {
    ctx.update(() -> openMaps = Math.max(0, openMaps - 1));
  }

  @GuardedBy("ctx.lock")
  private void rejectIfShutdown() {
    if (state != State.RUNNING && state != State.STARTING) {
      throw new RejectedExecutionException("Pool[" + state + "] is not accepting tasks");
    }
  }

  /** Results from worker {@code w}: taken out of flight under the lock, completed on the executor. */
  private void onResults(Worker w, List<TaskResult> results) {
    List<TaskRecord> done = new ArrayList<>(results.size());
    ctx.update(
        () -> {
          w.lastHeardNanos = System.nanoTime();
          for (TaskResult res : results) {
            TaskRecord r = dispatcher.take(w, res);
            if (r != null) {
              w.completed += Payload.outputsOf(res).size() + (res.hasFailure() ? 1 : 0);
              counters.countResult(res.getCancelled(), res.hasFailure());
            }
            done.add(r);
          }
          ctx.outbox.later(() -> completions.complete(w, done, results));
        });
  }

  /** A task's future is done (by a result, a failure, a cancel): the pool may be able to terminate. */
  void onFutureDone(TaskRecord r, boolean cancelled, boolean interrupt) {
    ctx.update(
        () -> {
          openFutures--;
          if (cancelled) {
            onCancelled(r, interrupt);
          }
        });
  }

  @GuardedBy("ctx.lock")
  private void onCancelled(TaskRecord r, boolean interrupt) {
    Worker w = r.worker;
    if (w == null) {
      dispatcher.remove(r);
      return;
    }
    if (!interrupt || r.cancelSent || w.connection == null) {
      return;
    }
    r.cancelSent = true;
    ctx.outbox.send(w.connection, ParentMessage.newBuilder().setCancel(Cancel.newBuilder().setTaskId(r.id)).build());
    resources.timer.schedule(
        () -> ctx.update(() -> killIfStillRunning(r, w)),
        Math.max(0, Watchdog.nanos(config.cancelGracePeriod())), TimeUnit.NANOSECONDS);
  }

  @GuardedBy("ctx.lock")
  private void killIfStillRunning(TaskRecord r, Worker w) {
    if (r.worker == w && w.isLive() && w.status().taskId() == r.id) {
      log.log(System.Logger.Level.WARNING,
          "{0}: {1} did not stop within {2,number,#} ms of being cancelled; killing worker {3} (pid {4,number,#})",
          name, r, config.cancelGracePeriod().toMillis(), w.index, w.pid());
      supervisor.kill(w, r + " did not stop when cancelled");
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Introspection

  public List<WorkerInfo> workers() {
    synchronized (ctx.lock) {
      List<WorkerInfo> out = new ArrayList<>(config.workers());
      for (Worker w : supervisor.current()) {
        if (w != null) {
          out.add(new WorkerInfo(w.index, w.pid(), w.process != null && w.process.isAlive(), w.completed));
        }
      }
      return out;
    }
  }

  public PoolStats stats() {
    long now = System.nanoTime();
    synchronized (ctx.lock) {
      List<PoolStats.Worker> ws = new ArrayList<>();
      for (Worker w : supervisor.current()) {
        if (w != null) {
          TaskRecord current = w.running();
          ws.add(new PoolStats.Worker(w.index, w.pid(), w.state.name(),
              current == null ? null : current.toString(), w.completed, Duration.ofNanos(w.busyNanos),
              Duration.ofNanos(now - w.launchedNanos), w.heapUsed, w.rss, w.gcMillis));
        }
      }
      int inFlight = 0;
      for (Worker w : supervisor.all()) {
        inFlight += w.inFlight.size();
      }
      return new PoolStats(state.name(), dispatcher.queued(), inFlight, counters.submitted,
          counters.completed, counters.failed, counters.retried, counters.cancelled,
          counters.workersReplaced, ws);
    }
  }

  @Override
  public String toString() {
    synchronized (ctx.lock) {
      int alive = 0;
      int running = 0;
      for (Worker w : supervisor.current()) {
        alive += w != null && w.isLive() ? 1 : 0;
        running += w != null && !w.inFlight.isEmpty() ? 1 : 0;
      }
      return "Pool[" + state + ", workers=" + alive + "/" + config.workers() + ", queued="
          + dispatcher.queued() + ", running=" + running + "]";
    }
  }

  /** Whether workers capture what tasks print (WorkerOutput.CAPTURE). */
  boolean capturesOutput() {
    return resources.capture;
  }

  /** For stats and map sizing. */
  public int workerCount() {
    return config.workers();
  }

  /** Average run time of one input in recent tasks, or -1 before any result; for chunk sizing. */
  long recentItemNanos() {
    synchronized (ctx.lock) {
      return dispatcher.recentItemNanos();
    }
  }

  Duration taskTimeout() {
    return config.taskTimeout();
  }

  long maxTasksPerWorker() {
    return config.maxTasksPerWorker();
  }
}
