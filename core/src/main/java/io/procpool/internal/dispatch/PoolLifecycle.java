package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.SettableFuture;
import io.procpool.WorkerStartException;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;

/**
 * The pool's state machine, what keeps the pool from terminating, and {@link #reconcile()}, the step that
 * runs after every change. Every method is called with the core lock held.
 */
final class PoolLifecycle implements Supervisor.Lifecycle {
  /**
   * A pool's life, in order; it only moves forward, through {@link #transition}.
   *
   * <ul>
   *   <li>NEW: built, nothing started. Trigger out: {@code start()}.
   *   <li>STARTING: the first workers are launching; {@code build()} waits. Accepts tasks (they queue).
   *       Out: every worker ready (RUNNING), or a worker fails to start (SHUTTING_DOWN, then TERMINATED).
   *   <li>RUNNING: accepts tasks; replaces workers that die. Out: shutdown or shutdownNow.
   *   <li>SHUTTING_DOWN: accepts no tasks, but lets in the chunks of maps already accepted; runs what is
   *       queued and in flight (replacing workers if needed; after shutdownNow nothing is left to run),
   *       then tells every worker to exit. Out: every worker settled and every future done (TERMINATED).
   *   <li>FAILED: workers cannot be (re)started; every unfinished future has failed. Out: every worker
   *       settled (TERMINATED).
   *   <li>TERMINATED: every worker process has exited, every future is done, resources are released.
   * </ul>
   */
  enum State {
    NEW,
    STARTING,
    RUNNING,
    SHUTTING_DOWN,
    FAILED,
    TERMINATED
  }

  private final String name;
  private final System.Logger log;
  private final PoolConfig config;
  private final Outbox outbox;
  private final Dispatcher dispatcher;
  private final Completions completions;
  private final SettableFuture<Void> started;
  private final Runnable onTerminated;
  private Supervisor supervisor;

  private State state = State.NEW;
  /** Maps that have inputs not yet queued; an orderly shutdown waits for them. */
  private int openMaps;
  /** Futures not yet done; the pool terminates only when none is left. */
  private long openFutures;
  private boolean stoppedNow;
  private long startNanos;

  /**
   * Workers placed by a cluster's scheduler may wait in its queue for minutes: the pool is ready with its
   * first worker, and the others join as they connect.
   */
  private boolean readyWithFirstWorker;

  /** Lock-free setup, before {@link #start}: {@link #readyWithFirstWorker}. */
  void readyWithFirstWorker() {
    readyWithFirstWorker = true;
  }

  PoolLifecycle(
      String name, System.Logger log, PoolConfig config, Outbox outbox, Dispatcher dispatcher,
      Completions completions, SettableFuture<Void> started, Runnable onTerminated) {
    this.name = name;
    this.log = log;
    this.config = config;
    this.outbox = outbox;
    this.dispatcher = dispatcher;
    this.completions = completions;
    this.started = started;
    this.onTerminated = onTerminated;
  }

  void supervise(Supervisor supervisor) {
    this.supervisor = supervisor;
  }

  State state() {
    return state;
  }

  /** The one way the state changes; throws if {@code next} does not follow the current state. */
  private void transition(State next) {
    boolean ok =
        switch (next) {
          case STARTING -> state == State.NEW;
          case RUNNING -> state == State.STARTING;
          case SHUTTING_DOWN -> state == State.STARTING || state == State.RUNNING;
          case FAILED -> state.compareTo(State.FAILED) < 0;
          case TERMINATED -> state == State.SHUTTING_DOWN || state == State.FAILED;
          case NEW -> false;
        };
    if (!ok) {
      throw new IllegalStateException("Pool " + name + " cannot go from " + state + " to " + next);
    }
    log.log(System.Logger.Level.DEBUG, "{0}: {1} -> {2}", name, state, next);
    state = next;
  }

  /**
   * start(): launches every worker. An elastic pool launches none: it runs at once, and {@link
   * #reconcile()} launches workers when tasks wait.
   */
  void start(long nowNanos) {
    transition(State.STARTING);
    startNanos = nowNanos;
    if (config.elastic()) {
      transition(State.RUNNING);
      log.log(System.Logger.Level.DEBUG, "{0}: ready; up to {1,number,#} worker(s) start as tasks come",
          name, config.workers());
      outbox.later(() -> started.set(null));
      return;
    }
    for (int i = 0; i < config.workers(); i++) {
      supervisor.reserve(i);
    }
  }

  /** shutdown(): no new tasks. */
  void shutdown() {
    if (state == State.STARTING || state == State.RUNNING) {
      transition(State.SHUTTING_DOWN);
    }
  }

  /** shutdownNow(): no new tasks, nothing more to run, every worker killed; returns what to cancel. */
  List<TaskRecord> shutdownNow() {
    shutdown();
    stoppedNow = true;
    openMaps = 0;
    List<TaskRecord> toCancel = dispatcher.drain();
    for (Worker w : supervisor.all()) {
      // Out of flight now, under the lock: the kills leave when it is released, and the worker's death
      // may be settled before the caller has cancelled these; they must not fail as crashed meanwhile.
      for (TaskRecord r : List.copyOf(w.inFlight.values())) {
        w.release(r);
        r.worker = null;
        toCancel.add(r);
      }
      supervisor.kill(w, "the pool was shut down now");
    }
    return toCancel;
  }

  /**
   * The JVM is exiting without close(): nothing more is launched or replaced, and every worker is killed.
   * Futures are left as they are: completing them would run user listeners in the exit hook.
   */
  void jvmExiting() {
    shutdown();
    stoppedNow = true;
    openMaps = 0;
    for (Worker w : supervisor.all()) {
      supervisor.kill(w, "this JVM is exiting");
    }
  }

  boolean isShutdown() {
    return state.compareTo(State.SHUTTING_DOWN) >= 0;
  }

  /**
   * Admits a new task, or the next chunk of a map already admitted ({@code continuation}), which an
   * orderly shutdown lets through.
   *
   * @throws RejectedExecutionException if the pool does not accept it
   */
  void admit(boolean continuation) {
    boolean accepts = state == State.RUNNING || state == State.STARTING
        || (continuation && state == State.SHUTTING_DOWN && !stoppedNow);
    if (!accepts) {
      throw new RejectedExecutionException("Pool[" + state + "] is not accepting tasks");
    }
  }

  void futureOpened() {
    openFutures++;
  }

  void futureDone() {
    openFutures--;
  }

  void mapOpened() {
    admit(false);
    openMaps++;
  }

  void mapClosed() {
    openMaps = Math.max(0, openMaps - 1);
  }

  /**
   * Moves the pool toward where it should be. Proceed in 4 steps: (1) dispatch what is queued, and in
   * an elastic pool launch workers for what is left; (2) retire workers that used up
   * maxTasksPerWorker; (3) when draining and nothing is left to run, tell idle workers to exit; (4)
   * terminate once every worker is settled and every future done.
   */
  void reconcile() {
    assert supervisor.lockHeld();
    dispatcher.pump(supervisor.current());
    boolean wantsWork =
        state == State.RUNNING || (state == State.SHUTTING_DOWN && !dispatcher.isEmpty());
    if (config.elastic() && wantsWork && !stoppedNow && !dispatcher.isEmpty()) {
      supervisor.grow(dispatcher.queued());
    }
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
      outbox.later(onTerminated);
    }
  }

  @Override
  public boolean isStarting() {
    return state == State.STARTING;
  }

  @Override
  public boolean growsOnDemand() {
    return config.elastic();
  }

  @Override
  public boolean needsWorkers() {
    return state == State.RUNNING
        || (state == State.SHUTTING_DOWN && !stoppedNow && (!dispatcher.isEmpty() || openMaps > 0));
  }

  @Override
  public void workerReady() {
    if (state == State.STARTING && (supervisor.allReady() || (readyWithFirstWorker && supervisor.anyReady()))) {
      transition(State.RUNNING);
      long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos);
      if (supervisor.allReady()) {
        log.log(System.Logger.Level.INFO, "{0}: ready, {1,number,#} worker(s) started in {2,number,#} ms",
            name, config.workers(), millis);
      } else {
        log.log(System.Logger.Level.INFO,
            "{0}: ready with {1,number,#} of {2,number,#} workers after {3,number,#} ms; the others join as they start",
            name, supervisor.readyCount(), config.workers(), millis);
      }
      outbox.later(() -> started.set(null));
    }
  }

  @Override
  public void startFailed(Throwable cause) {
    outbox.later(() -> started.setException(cause));
  }

  @Override
  public void cannotKeepWorkers(Throwable cause) {
    if (config.elastic()) {
      // An elastic pool lives on (the common pool cannot be rebuilt by its users): the tasks waiting
      // for a worker fail, workers that run go on, and the next task tries to launch one again.
      List<TaskRecord> waiting = dispatcher.drain();
      log.log(System.Logger.Level.ERROR, "{0}: workers cannot start; failing the {1,number,#} task(s) waiting "
          + "for one: {2}", name, waiting.size(), cause);
      WorkerStartException e = new WorkerStartException(
          "Pool " + name + " could not start a worker for this task", cause);
      outbox.later(() -> waiting.forEach(r -> completions.failQuietly(r, e)));
      return;
    }
    log.log(System.Logger.Level.ERROR, "{0}: cannot keep workers running; failing: {1}", name, cause);
    transition(State.FAILED);
    WorkerStartException e =
        new WorkerStartException("Pool " + name + " failed: its workers cannot be restarted", cause);
    List<TaskRecord> all = dispatcher.drain();
    for (Worker w : supervisor.all()) {
      all.addAll(w.inFlight.values());
      supervisor.kill(w, "the pool failed");
    }
    outbox.later(() -> all.forEach(r -> completions.failQuietly(r, e)));
  }
}
