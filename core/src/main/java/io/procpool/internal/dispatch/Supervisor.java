package io.procpool.internal.dispatch;

import io.procpool.WorkerStartException;
import io.procpool.internal.codec.SharedArena;
import io.procpool.internal.jfr.PoolEvents;
import io.procpool.internal.worker.StatusFile;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.Shutdown;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Launches workers, binds their streams, watches them exit, and replaces them. It owns the table of
 * workers (the current one at each index, and older ones still exiting) and the start-failure policy.
 * What happens to the tasks of a worker that is gone is {@link Settlement}'s part; binding a worker's
 * stream and turning its messages into changes is {@link WorkerStreams}'.
 *
 * <p>Methods marked "lock" are called with the core lock held; the others take it through {@link
 * CoreContext#update}.
 */
final class Supervisor {
  /** A worker that could not start this many times in a row makes the pool fail. */
  private static final int MAX_CONSECUTIVE_START_FAILURES = 3;
  /** How long an exited worker's stream may still deliver results before the worker is settled. */
  private static final long EXIT_GRACE_MILLIS = 1_000;
  /** How long a worker whose stream closed may stay alive before it is killed. */
  private static final long STREAM_GONE_KILL_MILLIS = 2_000;

  /** What the supervisor needs from the pool's lifecycle. */
  interface Lifecycle {
    boolean isStarting();

    /** Whether a worker that died must be replaced (the pool runs, or still has work to finish). */
    boolean needsWorkers();

    /**
     * Whether workers are launched only for waiting tasks ({@link #grow}) rather than replaced when
     * they die.
     */
    default boolean growsOnDemand() {
      return false;
    }

    /** A worker became ready. */
    void workerReady();

    /** A worker could not start while the pool was starting. */
    void startFailed(Throwable cause);

    /** Workers keep failing to start: the pool cannot go on. */
    void cannotKeepWorkers(Throwable cause);
  }

  private final String name;
  private final System.Logger log;
  private final CoreContext ctx;
  private final Outbox outbox;
  private final WorkerLauncher launcher;
  private final Path dir;
  private final boolean capture;
  private final ScheduledExecutorService timer;
  private final LongSupplier clock;
  private final PoolCounters counters;
  private final Settlement settlement;
  private volatile Lifecycle lifecycle;
  private volatile Bootstrap template;
  private volatile Specs specs;

  // Guarded by the core lock.
  private final Worker[] current;
  private final Map<Long, Worker> byId = new HashMap<>();
  /** Replaced workers that have not exited yet. */
  private final Set<Worker> replaced = Collections.newSetFromMap(new IdentityHashMap<>());
  private long nextWorkerId = 1;
  private int consecutiveStartFailures;

  Supervisor(
      String name, System.Logger log, CoreContext ctx, int workers, WorkerLauncher launcher, Path dir,
      boolean capture, ScheduledExecutorService timer, LongSupplier clock, PoolCounters counters,
      Settlement settlement) {
    this.name = name;
    this.log = log;
    this.ctx = ctx;
    this.outbox = ctx.outbox;
    this.current = new Worker[workers];
    this.launcher = launcher;
    this.dir = dir;
    this.capture = capture;
    this.timer = timer;
    this.clock = clock;
    this.counters = counters;
    this.settlement = settlement;
  }

  /** Turns a worker's bootstrap into what its launcher is given. */
  @FunctionalInterface
  interface Specs {
    WorkerSpec of(Bootstrap bootstrap) throws IOException;
  }

  /** Sets what every worker is started with, before the first launch (with no command line: tests). */
  void configure(Lifecycle lifecycle, Bootstrap template) {
    configure(lifecycle, template,
        b -> new WorkerSpec(b.getWorkerIndex(), b.getWorkerId(), b.getPoolName(), PoolResources.delimited(b),
            b.getTarget(), List.of(), Map.of(), null));
  }

  /** Sets what every worker is started with, and how its launcher's {@link WorkerSpec} is made. */
  void configure(Lifecycle lifecycle, Bootstrap template, Specs specs) {
    this.lifecycle = lifecycle;
    this.specs = specs;
    this.template = template;
  }

  /** Lock. The current worker at each index (null before the first launch); the dispatcher reads it. */
  Worker[] current() {
    return current;
  }

  /** Lock. Every worker not yet settled or still in the table. */
  List<Worker> all() {
    List<Worker> all = new ArrayList<>(current.length + replaced.size());
    for (Worker w : current) {
      if (w != null) {
        all.add(w);
      }
    }
    all.addAll(replaced);
    return all;
  }

  /** Whether the calling thread holds the core lock (for assertions). */
  boolean lockHeld() {
    return ctx.held();
  }

  /** Lock. Whether every worker has exited and been settled. */
  boolean allSettled() {
    for (Worker w : all()) {
      if (w.isLive()) {
        return false;
      }
    }
    return true;
  }

  /** Lock. Whether every index has a ready worker. */
  boolean anyReady() {
    return readyCount() > 0;
  }

  /** Lock. How many current workers are ready. */
  int readyCount() {
    int n = 0;
    for (Worker w : current) {
      if (w != null && w.state == Worker.State.READY) {
        n++;
      }
    }
    return n;
  }

  /** Lock. Whether every slot has a ready worker. */
  boolean allReady() {
    for (Worker w : current) {
      if (w == null || w.state != Worker.State.READY) {
        return false;
      }
    }
    return true;
  }

  /** Lock. Makes a new worker at {@code index} and has it launched once the lock is released. */
  Worker reserve(int index) {
    assert ctx.held();
    Worker w = new Worker(index, nextWorkerId++, clock.getAsLong());
    Worker old = current[index];
    if (old != null && old.isLive()) {
      replaced.add(old);
    }
    current[index] = w;
    byId.put(w.workerId, w);
    outbox.later(() -> launch(w));
    return w;
  }

  /**
   * Lock. The one place a worker is killed: records why (so its exit is expected, not news) and has its
   * process, and the processes it started, killed once the lock is released. A worker still launching is
   * killed as soon as its process exists.
   */
  void kill(Worker w, String reason) {
    assert ctx.held();
    if (!w.isLive() || w.killReason != null) {
      return;
    }
    w.killReason = reason;
    log.log(System.Logger.Level.DEBUG, "{0}: killing worker {1} (pid {2,number,#}): {3}",
        name, w.index, w.pid(), reason);
    if (w.process != null) {
      outbox.kill(w.process);
    }
  }

  /** Lock. Tells a connected worker to finish what it holds and exit. */
  void retire(Worker w) {
    w.moveTo(Worker.State.RETIRING);
    outbox.send(w.connection, ParentMessage.newBuilder().setShutdown(Shutdown.getDefaultInstance()).build());
  }

  /** Lock. Retires and replaces idle workers that have used up maxTasksPerWorker. */
  void retireSpent(Dispatcher dispatcher, long maxTasksPerWorker) {
    TaskRecord head = dispatcher.head();
    for (Worker w : current) {
      if (w == null || !w.takesTasks() || !w.inFlight.isEmpty()) {
        continue;
      }
      if (w.assigned >= maxTasksPerWorker || (head != null && !dispatcher.withinBudget(w, head))) {
        log.log(System.Logger.Level.DEBUG,
            "{0}: worker {1} (pid {2,number,#}) ran {3,number,#} tasks; replacing it",
            name, w.index, w.pid(), w.assigned);
        retire(w);
        counters.workersReplaced++;
        reserve(w.index);
      }
    }
  }

  /**
   * Lock. An elastic pool has {@code queued} tasks no worker could take: launches a worker at each free
   * index (none there, or its worker dead) for each of them that no worker now starting will take.
   */
  void grow(int queued) {
    assert ctx.held();
    int starting = 0;
    for (Worker w : current) {
      if (w != null && w.killReason == null
          && (w.state == Worker.State.LAUNCHING || w.state == Worker.State.CONNECTED)) {
        starting++;
      }
    }
    int wanted = queued - starting;
    for (int i = 0; i < current.length && wanted > 0; i++) {
      if (current[i] == null || !current[i].isLive()) {
        reserve(i);
        wanted--;
      }
    }
  }

  /**
   * Lock. An elastic pool's ready workers that have had nothing to do for {@code idleNanos} at time
   * {@code now} are told to exit. Called periodically: a worker is idle since it became ready or since
   * the last check that found it with a task in flight or a task sent since the check before.
   */
  void retireIdleFor(long now, long idleNanos) {
    assert ctx.held();
    for (Worker w : current) {
      if (w == null || !w.takesTasks()) {
        continue;
      }
      if (!w.inFlight.isEmpty() || w.tasksSent != w.idleMark) {
        w.idleMark = w.tasksSent;
        w.idleSinceNanos = now;
      } else if (now - w.idleSinceNanos >= idleNanos) {
        log.log(System.Logger.Level.DEBUG, "{0}: worker {1} (pid {2,number,#}) idle for {3,number,#} ms; "
            + "it exits", name, w.index, w.pid(), TimeUnit.NANOSECONDS.toMillis(now - w.idleSinceNanos));
        retire(w);
      }
    }
  }

  /** Lock. The pool is draining and has nothing left to run: every idle worker is told to exit. */
  void retireIdle() {
    for (Worker w : current) {
      if (w == null || w.killReason != null || !w.inFlight.isEmpty()) {
        continue;
      }
      if (w.state == Worker.State.READY || w.state == Worker.State.CONNECTED) {
        retire(w);
      } else if (w.state == Worker.State.LAUNCHING) {
        // Not connected yet: there is nothing to hand it, so do not wait for its start-up.
        kill(w, "not needed any more: the pool is shutting down");
      }
    }
  }

  // ---------------------------------------------------------------------------------------------------
  // Launching: on the pool's executor, never under the lock.

  private void launch(Worker w) {
    Bootstrap t = template;
    // Step 1: the worker's status file. Failing to make it (no descriptors left, disk full, a tmp
    // cleaner) is a failed launch like any other. A worker that may run on another machine reports what
    // it begins on its stream instead.
    Path statusPath = dir.resolve("worker-" + w.workerId + ".status");
    StatusFile status = null;
    if (t.getReportBegun()) {
      w.reported = new StatusFile.Snapshot(0, 0, 0);
    } else {
      try {
        status = StatusFile.create(statusPath);
      } catch (IOException | RuntimeException e) {
        launchFailed(w, "Cannot create the status file " + statusPath + " of worker " + w.index, e);
        return;
      }
    }
    StatusFile made = status;
    // Step 1b: its output arena, next to the pool's input arena when the pool has one.
    SharedArena out = null;
    if (!t.getInputArena().isEmpty()) {
      Path arenaPath = Path.of(t.getInputArena()).resolveSibling("out-" + w.workerId);
      try {
        out = SharedArena.create(arenaPath, PoolResources.OUTPUT_ARENA_BYTES, false);
      } catch (IOException | RuntimeException e) {
        if (made != null) {
          made.close();
        }
        launchFailed(w, "Cannot create the output arena " + arenaPath + " of worker " + w.index, e);
        return;
      }
    }
    SharedArena arena = out;
    boolean[] go = {false};
    ctx.update(
        () -> {
          w.status = made;
          w.outArena = arena;
          go[0] = w.killReason == null;
          if (!go[0]) {
            // Killed before it existed (shutdownNow during start): it never will.
            w.exited = true;
            w.streamClosed = true;
            settle(w);
          }
        });
    if (!go[0]) {
      return;
    }
    // Step 2: the process.
    Bootstrap.Builder bb =
        t.toBuilder()
            .setWorkerIndex(w.index)
            .setWorkerId(w.workerId);
    if (made != null) {
      bb.setStatusFile(statusPath.toString());
    }
    if (arena != null) {
      bb.setOutputArena(arena.path().toString());
    }
    Bootstrap b = bb.build();
    WorkerHandle p;
    try {
      p = launcher.launch(specs.of(Capture.withFiles(b, capture, dir, w.workerId)));
    } catch (IOException | RuntimeException e) {
      launchFailed(w, "Cannot launch worker " + w.index, e);
      return;
    }
    // Step 3: record it; a worker killed meanwhile, or one whose Hello named another pid, dies now.
    ctx.update(
        () -> {
          w.process = p;
          w.lastHeardNanos = clock.getAsLong();
          if (w.killReason != null) {
            outbox.kill(p);
          } else if (w.helloPid != 0 && p.pid() >= 0 && w.helloPid != p.pid()) {
            kill(w, "its Hello named pid " + w.helloPid + ", not " + p.pid());
          }
        });
    log.log(System.Logger.Level.DEBUG, "{0}: started worker {1} (pid {2,number,#})", name, w.index, p.pid());
    var unused = p.onExit().whenComplete((code, e) -> onExit(w, code == null ? -1 : code));
  }

  private void launchFailed(Worker w, String what, Throwable e) {
    ctx.update(
        () -> {
          w.startFailure = new WorkerStartException(what + ": " + e, e);
          w.exited = true;
          w.streamClosed = true;
          settle(w);
        });
  }

  // ---------------------------------------------------------------------------------------------------
  // Events of a worker's stream (see WorkerStreams).

  /** Lock. The worker with id {@code workerId}, if it is one of ours and not settled. */
  Worker byId(long workerId) {
    return byId.get(workerId);
  }

  /** Lock. The worker finished its initializer and takes tasks. */
  void ready(Worker w) {
    if (w.state != Worker.State.CONNECTED) {
      return;
    }
    w.moveTo(Worker.State.READY);
    w.readyNanos = clock.getAsLong();
    w.lastHeardNanos = w.readyNanos;
    w.idleSinceNanos = w.readyNanos;
    consecutiveStartFailures = 0;
    PoolEvents.workerStarted(name, w.index, w.pid(), w.readyNanos - w.launchedNanos);
    lifecycle.workerReady();
  }

  /** The worker's stream ended. It is settled once its process has exited too. */
  void streamClosed(Worker w) {
    WorkerHandle[] p = {null};
    ctx.update(
        () -> {
          w.streamClosed = true;
          outbox.close(w.connection);
          p[0] = w.process;
          if (w.exited) {
            settle(w);
          }
        });
    if (p[0] != null) {
      p[0].streamEnded();
    }
    // A worker whose stream is gone can do nothing useful; its exit settles its tasks.
    if (p[0] != null && p[0].isAlive()) {
      var unused = timer.schedule(
          () -> ctx.update(() -> kill(w, "its stream closed but it did not exit")),
          STREAM_GONE_KILL_MILLIS, TimeUnit.MILLISECONDS);
    }
  }

  /** The worker's process exited. It is settled once its stream has closed too, so late results count. */
  private void onExit(Worker w, int code) {
    ctx.update(
        () -> {
          w.exited = true;
          w.exitCode = code;
          if (w.streamClosed || w.connection == null) {
            settle(w);
          } else {
            // Results the worker wrote just before it died may still be in the socket; give the
            // stream a moment to deliver them and close.
            var unused = timer.schedule(() -> ctx.update(() -> settle(w)), EXIT_GRACE_MILLIS, TimeUnit.MILLISECONDS);
          }
        });
  }

  // ---------------------------------------------------------------------------------------------------
  // Settling.

  /**
   * Lock. Settles a worker that is gone, in 3 steps: (1) its tasks, by {@link Settlement}; (2) its files
   * closed and deleted; (3) a replacement if the pool still needs one, or the start failure reported.
   */
  void settle(Worker w) {
    assert ctx.held();
    if (!w.isLive()) {
      return;
    }
    Worker.State was = w.state;
    w.moveTo(Worker.State.DEAD);
    replaced.remove(w);
    byId.remove(w.workerId);
    if (w.connection != null) {
      outbox.close(w.connection);
    }
    // Step 1.
    Runnable crashReports = settlement.settleTasks(w);
    // Step 2. The capture files go once the failures that quote their tails have been made.
    StatusFile status = w.status;
    w.status = null;
    if (status != null) {
      status.close();
    }
    // Results already taken hold the arena until they are decoded; the file goes now.
    SharedArena arena = w.outArena;
    w.outArena = null;
    if (arena != null) {
      arena.close();
    }
    outbox.later(
        () -> {
          crashReports.run();
          Capture.deleteFiles(capture, dir, w.workerId);
        });
    boolean expected = was == Worker.State.RETIRING || w.killReason != null;
    if (w.process == null) {
      log.log(expected ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
          "{0}: worker {1} was never started: {2}", name, w.index,
          w.startFailure != null ? w.startFailure.getMessage() : w.killReason);
    } else {
      log.log(expected ? System.Logger.Level.DEBUG : System.Logger.Level.WARNING,
          "{0}: worker {1} (pid {2,number,#}) exited {3}with code {4}",
          name, w.index, w.pid(), expected ? "" : "unexpectedly ", w.exitCode);
    }
    PoolEvents.workerExited(name, w.index, w.pid(), w.exitCode, expected, w.completed,
        clock.getAsLong() - w.launchedNanos);
    // Step 3. A worker killed from outside while starting (a signal: code > 128) says nothing about
    // whether workers can start; one that failed by itself (bad option, initializer threw) does.
    boolean failedToStart = was == Worker.State.LAUNCHING || was == Worker.State.CONNECTED;
    if (lifecycle.isStarting() && failedToStart) {
      lifecycle.startFailed(w.whyNotStarted());
    } else if (current[w.index] == w && (lifecycle.needsWorkers() || lifecycle.growsOnDemand())) {
      boolean couldNotStart = failedToStart && (w.startFailure != null || w.exitCode < 128);
      if (couldNotStart && ++consecutiveStartFailures >= MAX_CONSECUTIVE_START_FAILURES) {
        consecutiveStartFailures = 0;
        lifecycle.cannotKeepWorkers(w.whyNotStarted());
      } else if (lifecycle.growsOnDemand()) {
        // Launched again by the pool's reconcile if tasks wait for it, not before.
        log.log(System.Logger.Level.DEBUG, "{0}: worker {1} is gone; a new one starts when tasks wait", name, w.index);
      } else {
        counters.workersReplaced++;
        log.log(System.Logger.Level.INFO, "{0}: replacing worker {1} (pid {2,number,#})", name, w.index, w.pid());
        reserve(w.index);
      }
    }
  }
}
