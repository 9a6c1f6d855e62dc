package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import com.google.protobuf.ByteString;
import io.procpool.PoolStats;
import io.procpool.Task;
import io.procpool.WorkerInfo;
import io.procpool.WorkerStartException;
import io.procpool.internal.codec.ClassServer;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.SerialFilters;
import io.procpool.internal.codec.TaskEncoder;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.supervisor.Durations;
import io.procpool.internal.supervisor.ExitHook;
import io.procpool.internal.supervisor.InProcessLauncher;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.transport.PoolServer;
import io.procpool.internal.transport.WorkerService;
import io.procpool.internal.worker.WorkerRuntime;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.SerialFilter;
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
 * One pool: the wiring of its parts and its public entry points. The parts: {@link PoolLifecycle} (the
 * state machine and {@code reconcile}), {@link Supervisor} (workers), {@link Dispatcher} (queue), {@link
 * TaskIntake} (tasks in and out), {@link Settlement} (tasks of dead workers), {@link Completions}
 * (futures), the {@link Watchdog}, all changing state in one {@link CoreContext} and acting through one
 * {@link Outbox}; see docs/ARCHITECTURE.md.
 *
 * <p>Threads: callers (submit, cancel, shutdown), gRPC transport threads (worker messages), process-exit
 * threads and the timer thread (watchdog) each change state through {@link CoreContext#update}; none runs
 * user code. Futures are completed, and workers launched, on the pool's executor ({@code <pool>-exec-N}
 * threads, made as needed), except that a task failing at submit, and the cancellations of {@code
 * shutdownNow()}, complete in the calling thread, and results that need no user code to decode are
 * completed by the transport thread with their listeners handed to the executor ({@link
 * TaskFuture#completeHandingOff}).
 */
public final class PoolCore {
  private static final AtomicLong POOL_IDS = new AtomicLong();

  private final PoolConfig config;
  private final String name;
  private final System.Logger log = System.getLogger("io.procpool.Pool");
  private final PoolResources resources;
  private final TaskEncoder encoder;
  private final CoreContext ctx;
  private final PoolCounters counters = new PoolCounters();
  private final Dispatcher dispatcher;
  private final PoolLifecycle lifecycle;
  private final Supervisor supervisor;
  private final TaskIntake intake;
  private final Watchdog watchdog;
  private final SettableFuture<Void> started = SettableFuture.create();
  private final SettableFuture<Void> terminated = SettableFuture.create();
  /** Registered with the JVM exit hook while the pool runs. */
  private final Runnable onJvmExit;

  public PoolCore(PoolConfig config) {
    this.config = config;
    this.name = config.name() + "-" + POOL_IDS.incrementAndGet();
    this.resources = PoolResources.create(config, name);
    if (!config.elastic() && resources.launcher instanceof JvmLauncher local) {
      // The workers' JVMs start up while this one starts the server; they wait for their bootstrap.
      try {
        local.prestart(config.workers());
      } catch (IOException | RuntimeException e) {
        // Then each launch starts its own JVM, and reports what goes wrong.
        log.log(System.Logger.Level.DEBUG, "{0}: could not start workers ahead of time: {1}", name, e.toString());
      }
    }
    ValueCodec codec = resources.codec;
    ClassServer classes = new ClassServer(name, log, resources.executor);
    this.encoder = new TaskEncoder(codec, classes, log);
    this.ctx = new CoreContext(new Outbox(resources.executor));
    this.dispatcher = new Dispatcher(ctx, config.maxTasksPerWorker());
    Completions completions = new Completions(name, codec, log);
    this.lifecycle =
        new PoolLifecycle(name, log, config, ctx.outbox, dispatcher, completions, started, this::release);
    Settlement settlement =
        new Settlement(name, log, ctx, dispatcher, counters, completions, config.maxRetries(), resources.capture,
            resources.dir, System::nanoTime);
    Task<Integer, ?> init = config.initializer();
    this.supervisor =
        new Supervisor(name, log, ctx, config.workers(), resources.launcher, resources.dir, resources.capture,
            resources.timer, System::nanoTime, counters, settlement);
    lifecycle.supervise(supervisor);
    this.onJvmExit = () -> ctx.update(lifecycle::jvmExiting);
    this.intake =
        new TaskIntake(name, log, ctx, lifecycle, dispatcher, supervisor, completions, counters, encoder,
            resources.timer, config.cancelGracePeriod());
    this.watchdog =
        new Watchdog(name, log, ctx, supervisor, counters, completions, System::nanoTime, config,
            resources.capture, resources.dir);
    if (resources.network.isRoutable()) {
      // A scheduler's queue may hold workers for minutes (see Network): ready with the first, wait for the rest.
      lifecycle.readyWithFirstWorker();
      watchdog.letQueuedStartsWait();
    }
    ctx.reconcileWith(lifecycle::reconcile);
    try {
      Welcome.Builder welcome = Welcome.newBuilder();
      if (init != null) {
        welcome.setInitializer(encoder.function(init, "initializer").bytes());
      }
      WorkerStreams streams =
          new WorkerStreams(name, log, ctx, supervisor, intake::onResults, codec,
              init == null ? PoolCore.class.getClassLoader() : init.getClass().getClassLoader(),
              System::nanoTime, welcome.build(), classes);
      PoolServer server =
          resources.startServer(
              new WorkerService(resources.secret, resources.workerSecrets, streams, resources.timer, 30_000, log),
              resources.launcher instanceof InProcessLauncher, name);
      supervisor.configure(lifecycle, bootstrap(server), resources::spec);
    } catch (IOException | RuntimeException e) {
      resources.close();
      if (e instanceof IOException io) {
        throw new UncheckedIOException("Cannot start the pool's gRPC server", io);
      }
      throw (RuntimeException) e;
    }
  }

  private Bootstrap bootstrap(PoolServer server) {
    boolean routable = resources.network.isRoutable() && resources.tls != null;
    return Bootstrap.newBuilder()
        .setProtocolVersion(WorkerRuntime.PROTOCOL_VERSION)
        .setTarget(server.target())
        .setSecret(resources.secret)
        .setHeartbeatMillis((int) Math.min(Integer.MAX_VALUE, Durations.toNanosSaturated(config.heartbeatInterval()) / 1_000_000))
        .setPoolName(name)
        .setSerialFilter(SerialFilter.newBuilder().setPattern(SerialFilters.pattern(config.serialFilter())))
        .setBlobDir(routable ? "" : resources.dir.toString())
        .setTlsCertificateSha256(routable ? ByteString.copyFrom(resources.tls.fingerprint()) : ByteString.EMPTY)
        .setReportBegun(routable)
        .setInputArena(resources.inputArena == null ? "" : resources.inputArena.path().toString())
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
    ctx.update(() -> lifecycle.start(System.nanoTime()));
    ExitHook.registerPool(onJvmExit);
    long period = Watchdog.periodMillis(config);
    var unused = resources.timer.scheduleWithFixedDelay(watchdog, period, period, TimeUnit.MILLISECONDS);
    Throwable failure;
    try {
      started.get(Durations.toNanosSaturated(config.startTimeout()), TimeUnit.NANOSECONDS);
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

  private void release() {
    ExitHook.unregisterPool(onJvmExit);
    resources.close();
    log.log(System.Logger.Level.DEBUG, "{0}: terminated", name);
    terminated.set(null);
  }

  public boolean isShutdown() {
    synchronized (ctx.lock) {
      return lifecycle.isShutdown();
    }
  }

  public boolean isTerminated() {
    return terminated.isDone();
  }

  /** Orderly shutdown: no new tasks; queued and running tasks finish; then workers exit. */
  public void shutdown() {
    ctx.update(lifecycle::shutdown);
  }

  /** Cancels every unfinished future and kills every worker (and what it started). */
  public void shutdownNow() {
    List<TaskRecord> toCancel = new ArrayList<>();
    ctx.update(() -> toCancel.addAll(lifecycle.shutdownNow()));
    for (TaskRecord r : toCancel) {
      r.future.cancelQuietly();
    }
  }

  /**
   * Waits up to {@code timeout} for termination.
   *
   * @throws InterruptedException if interrupted while waiting, as {@code ExecutorService} does
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    try {
      terminated.get(Math.max(0, Durations.toNanosSaturated(timeout)), TimeUnit.NANOSECONDS);
      return true;
    } catch (TimeoutException e) {
      return false;
    } catch (ExecutionException e) {
      throw new AssertionError("termination never fails", e);
    }
  }

  public void join() throws InterruptedException {
    synchronized (ctx.lock) {
      if (!lifecycle.isShutdown()) {
        throw new IllegalStateException(
            "Pool[" + lifecycle.state() + "] cannot be joined before shutdown() or shutdownNow()");
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
    return intake.enqueue(function, inputs, single);
  }

  /** Gives back the arena slots and blob files of inputs encoded for a task that will not be queued. */
  void discardInputs(List<Value> encoded) {
    intake.discardInputs(encoded);
  }

  /** Queues a task of an encoded function and inputs; a {@code continuation} is a map's next chunk. */
  <T> TaskFuture<T> enqueue(TaskEncoder.Function f, Payload inputs, boolean single, boolean continuation) {
    return intake.enqueue(f, inputs, single, continuation);
  }

  /** A map starts: until {@link #closeMap()}, an orderly shutdown waits for its remaining inputs. */
  void openMap() {
    synchronized (ctx.lock) {
      lifecycle.mapOpened();
    }
  }

  /** A map has queued all its inputs (or failed, or was cancelled). */
  void closeMap() {
    ctx.update(lifecycle::mapClosed);
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
      return new PoolStats(lifecycle.state().name(), dispatcher.queued(), inFlight, counters.submitted,
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
      return "Pool[" + lifecycle.state() + ", workers=" + alive + "/" + config.workers() + ", queued="
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
