package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.SettableFuture;
import io.procpool.WorkerStartException;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.transport.WorkerConnection;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.ParentMessage;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pool's state machine and reconcile, over a supervisor with fake processes: no process, no server. */
class PoolLifecycleStatesTest {
  @TempDir Path tmp;

  private final List<String> events = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  private final class Pool {
    final CoreFixtures fx = new CoreFixtures(tmp);
    final FakeLauncher launcher = new FakeLauncher(events);
    final SettableFuture<Void> started = SettableFuture.create();
    final AtomicBoolean terminated = new AtomicBoolean();
    final PoolLifecycle lifecycle;
    final Supervisor supervisor;
    final List<RecordingStream> streams = new CopyOnWriteArrayList<>();

    Pool(int workers) {
      this(workers, null);
    }

    /** {@code idleTimeout}: null for a fixed pool, else an elastic one (the common pool's kind). */
    Pool(int workers, Duration idleTimeout) {
      PoolConfig config =
          new PoolConfig("test", workers, null, JvmLauncher.OutputMode.INHERIT, 0, null, 0, null,
              Duration.ofSeconds(5), Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(2), "", null,
              idleTimeout);
      lifecycle = new PoolLifecycle("test-1", CoreFixtures.LOG, config, fx.outbox, fx.dispatcher, fx.completions,
          started, () -> terminated.set(true));
      supervisor = new Supervisor("test-1", CoreFixtures.LOG, fx.ctx, workers, launcher, tmp, false, timer,
          System::nanoTime, fx.counters, fx.settlement(0));
      lifecycle.supervise(supervisor);
      supervisor.configure(lifecycle, Bootstrap.getDefaultInstance());
      fx.ctx.reconcileWith(lifecycle::reconcile);
    }

    Worker[] workers() {
      synchronized (fx.ctx.lock) {
        return supervisor.current().clone();
      }
    }

    /** Starts, and has every worker say Hello and Ready. */
    void startReady() {
      fx.ctx.update(() -> lifecycle.start(System.nanoTime()));
      for (Worker w : workers()) {
        ready(w);
      }
    }

    /** Worker {@code w} says Hello and Ready. */
    RecordingStream ready(Worker w) {
      RecordingStream s = new RecordingStream();
      streams.add(s);
      fx.ctx.update(
          () -> {
            w.moveTo(Worker.State.CONNECTED);
            w.connection = new WorkerConnection(s, null);
            supervisor.ready(w);
          });
      return s;
    }

    /** Queues a one-input task, as submit does. */
    TaskRecord queue(long id) {
      TaskRecord r = CoreFixtures.task(id, 1);
      fx.ctx.update(() -> fx.dispatcher.add(r));
      return r;
    }

    /** Worker {@code w}'s stream closes and its process exits with {@code code}. */
    void exit(Worker w, int code) {
      fx.ctx.update(() -> w.streamClosed = true);
      launcher.launched.stream().filter(p -> p.pid == w.pid()).findFirst().orElseThrow().exit.complete(code);
    }

    PoolLifecycle.State state() {
      synchronized (fx.ctx.lock) {
        return lifecycle.state();
      }
    }
  }

  @Test
  void start_everyWorkerReady_runningAndBuildReturns() {
    Pool pool = new Pool(2);
    pool.startReady();
    assertEquals(PoolLifecycle.State.RUNNING, pool.state());
    assertTrue(pool.started.isDone());
    assertEquals(2, pool.launcher.launched.size());
  }

  @Test
  void start_scheduledWorkersOneReady_runningWhileTheOthersStillWait() {
    Pool pool = new Pool(3);
    pool.lifecycle.readyWithFirstWorker();
    pool.fx.ctx.update(() -> pool.lifecycle.start(System.nanoTime()));
    assertFalse(pool.started.isDone(), "no worker is ready yet");
    pool.ready(pool.workers()[1]);
    assertEquals(PoolLifecycle.State.RUNNING, pool.state());
    assertTrue(pool.started.isDone(), "build() returns with one worker of three");
    pool.ready(pool.workers()[0]);
    assertEquals(PoolLifecycle.State.RUNNING, pool.state());
  }

  @Test
  void start_localWorkersOneReady_stillStarting() {
    Pool pool = new Pool(2);
    pool.fx.ctx.update(() -> pool.lifecycle.start(System.nanoTime()));
    pool.ready(pool.workers()[0]);
    assertEquals(PoolLifecycle.State.STARTING, pool.state());
    assertFalse(pool.started.isDone(), "a local pool waits for every worker");
  }

  @Test
  void start_workerExitsBeforeReady_buildFailsNamingTheExit() throws Exception {
    Pool pool = new Pool(1);
    pool.fx.ctx.update(() -> pool.lifecycle.start(System.nanoTime()));
    pool.exit(pool.workers()[0], 1);
    ExecutionException e = assertThrows(ExecutionException.class, pool.started::get);
    WorkerStartException s = assertInstanceOf(WorkerStartException.class, e.getCause());
    assertEquals("Worker 0 (pid 1000) exited with code 1 before it was ready (the JVM could not start: see its "
        + "stderr for the reason, e.g. a bad JVM option or classpath)", s.getMessage());
  }

  @Test
  void shutdown_withAFutureStillOpen_terminatesOnlyOnceItIsDone() {
    Pool pool = new Pool(2);
    pool.startReady();
    pool.fx.ctx.update(pool.lifecycle::futureOpened);
    pool.fx.ctx.update(pool.lifecycle::shutdown);
    for (RecordingStream s : pool.streams) {
      assertEquals(ParentMessage.KindCase.SHUTDOWN, s.sent.get(s.sent.size() - 1).getKindCase(),
          "idle workers are told to exit");
    }
    for (Worker w : pool.workers()) {
      pool.exit(w, 0);
    }
    assertEquals(PoolLifecycle.State.SHUTTING_DOWN, pool.state());
    assertFalse(pool.terminated.get(), "a future is not done yet");
    pool.fx.ctx.update(pool.lifecycle::futureDone);
    assertEquals(PoolLifecycle.State.TERMINATED, pool.state());
    assertTrue(pool.terminated.get());
    assertEquals(2, pool.launcher.launched.size(), "no worker replaced while draining an empty queue");
  }

  @Test
  void transition_backwards_throwsNamingBothStates() {
    Pool pool = new Pool(1);
    pool.startReady();
    pool.fx.ctx.update(pool.lifecycle::shutdown);
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> pool.fx.ctx.update(() -> pool.lifecycle.start(0)));
    assertEquals("Pool test-1 cannot go from SHUTTING_DOWN to STARTING", e.getMessage());
  }

  @Test
  void admit_afterShutdown_rejectsNewTasksButLetsAcceptedMapsFinish() {
    Pool pool = new Pool(1);
    pool.startReady();
    synchronized (pool.fx.ctx.lock) {
      pool.lifecycle.admit(false);
      pool.lifecycle.shutdown();
      RejectedExecutionException e =
          assertThrows(RejectedExecutionException.class, () -> pool.lifecycle.admit(false));
      assertEquals("Pool[SHUTTING_DOWN] is not accepting tasks", e.getMessage());
      pool.lifecycle.admit(true);
      pool.lifecycle.shutdownNow();
      assertThrows(RejectedExecutionException.class, () -> pool.lifecycle.admit(true));
    }
  }

  @Test
  void jvmExiting_killsEveryWorkerAndReplacesNone() {
    Pool pool = new Pool(2);
    pool.startReady();
    for (Worker w : pool.workers()) {
      pool.fx.ctx.update(() -> w.streamClosed = true); // Else each exit waits a second for late results.
    }
    pool.fx.ctx.update(pool.lifecycle::jvmExiting);
    assertEquals(List.of("kill 1000", "kill 1001"), events.stream().sorted().toList());
    assertEquals(2, pool.launcher.launched.size());
    assertEquals(PoolLifecycle.State.TERMINATED, pool.state());
  }

  @Test
  void workerDies_whileRunning_isReplacedAtItsIndex() {
    Pool pool = new Pool(2);
    pool.startReady();
    Worker dead = pool.workers()[1];
    pool.exit(dead, 137);
    Worker replacement = pool.workers()[1];
    assertEquals(1, replacement.index);
    assertEquals(Worker.State.LAUNCHING, replacement.state);
    assertEquals(3, pool.launcher.launched.size());
    assertEquals(PoolLifecycle.State.RUNNING, pool.state());
  }

  // -------------------------------------------------------------------------------------------------
  // Elastic pools (Pool.common()): workers start for waiting tasks and exit when idle.

  @Test
  void elasticPool_start_runsAtOnceWithNoWorker() {
    Pool pool = new Pool(2, Duration.ofSeconds(60));
    pool.fx.ctx.update(() -> pool.lifecycle.start(System.nanoTime()));
    assertEquals(PoolLifecycle.State.RUNNING, pool.state());
    assertTrue(pool.started.isDone(), "build() returns without waiting for a worker");
    assertEquals(0, pool.launcher.launched.size());
  }

  @Test
  void elasticPool_tasksWaiting_launchesOneWorkerPerTaskUpToItsSize() {
    Pool pool = new Pool(3, Duration.ofSeconds(60));
    pool.fx.ctx.update(() -> pool.lifecycle.start(System.nanoTime()));
    pool.queue(1);
    assertEquals(1, pool.launcher.launched.size(), "one task, one worker");
    pool.queue(2);
    assertEquals(2, pool.launcher.launched.size(), "a second task does not wait for the first worker");
    pool.queue(3);
    pool.queue(4);
    pool.queue(5);
    assertEquals(3, pool.launcher.launched.size(), "never more workers than the pool's size");
    Worker w = pool.workers()[0];
    RecordingStream s = pool.ready(w);
    assertEquals(ParentMessage.KindCase.TASKS, s.sent.get(s.sent.size() - 1).getKindCase(),
        "the first ready worker takes tasks at once");
  }

  @Test
  void elasticPool_workerIdleForTheTimeout_isToldToExitAndNotReplaced() {
    Pool pool = new Pool(1, Duration.ofSeconds(60));
    pool.fx.ctx.update(() -> pool.lifecycle.start(System.nanoTime()));
    TaskRecord r = pool.queue(1);
    Worker w = pool.workers()[0];
    RecordingStream s = pool.ready(w);
    long t0 = w.readyNanos;
    pool.fx.ctx.update(() -> pool.supervisor.retireIdleFor(t0 + Duration.ofSeconds(100).toNanos(), Duration.ofSeconds(60).toNanos()));
    assertEquals(Worker.State.READY, w.state, "a worker with a task in flight is not idle");
    pool.fx.ctx.update(() -> w.release(r));
    long t1 = t0 + Duration.ofSeconds(100).toNanos(); // Last seen busy.
    pool.fx.ctx.update(() -> pool.supervisor.retireIdleFor(t1 + Duration.ofSeconds(59).toNanos(), Duration.ofSeconds(60).toNanos()));
    assertEquals(Worker.State.READY, w.state, "idle for 59 s of 60");
    pool.fx.ctx.update(() -> pool.supervisor.retireIdleFor(t1 + Duration.ofSeconds(60).toNanos(), Duration.ofSeconds(60).toNanos()));
    assertEquals(Worker.State.RETIRING, w.state);
    assertEquals(ParentMessage.KindCase.SHUTDOWN, s.sent.get(s.sent.size() - 1).getKindCase());
    pool.exit(w, 0);
    assertEquals(1, pool.launcher.launched.size(), "an idle worker that exited is not replaced");
    assertEquals(PoolLifecycle.State.RUNNING, pool.state());
    pool.queue(2);
    assertEquals(2, pool.launcher.launched.size(), "the next task starts a worker again");
  }

  @Test
  void elasticPool_workerGivenATaskBetweenTwoChecks_isNotIdle() {
    Pool pool = new Pool(1, Duration.ofSeconds(60));
    pool.fx.ctx.update(() -> pool.lifecycle.start(System.nanoTime()));
    TaskRecord first = pool.queue(1);
    Worker w = pool.workers()[0];
    pool.ready(w);
    pool.fx.ctx.update(() -> w.release(first));
    long t0 = w.readyNanos;
    pool.fx.ctx.update(() -> pool.supervisor.retireIdleFor(t0 + Duration.ofSeconds(30).toNanos(), Duration.ofSeconds(60).toNanos()));
    TaskRecord second = pool.queue(2);
    pool.fx.ctx.update(() -> w.release(second)); // Sent and answered between two checks.
    pool.fx.ctx.update(() -> pool.supervisor.retireIdleFor(t0 + Duration.ofSeconds(70).toNanos(), Duration.ofSeconds(60).toNanos()));
    assertEquals(Worker.State.READY, w.state, "busy at 30 s to 70 s: idle only from the check at 70 s");
    pool.fx.ctx.update(() -> pool.supervisor.retireIdleFor(t0 + Duration.ofSeconds(130).toNanos(), Duration.ofSeconds(60).toNanos()));
    assertEquals(Worker.State.RETIRING, w.state);
  }

  @Test
  void elasticPool_workersCannotStart_failsTheWaitingTasksAndTriesAgainForTheNext() {
    Pool pool = new Pool(1, Duration.ofSeconds(60));
    pool.fx.ctx.update(() -> pool.lifecycle.start(System.nanoTime()));
    TaskRecord r = pool.queue(1);
    for (int attempt = 1; attempt <= 3; attempt++) {
      Worker w = pool.workers()[0];
      assertEquals(Worker.State.LAUNCHING, w.state, "attempt " + attempt);
      pool.exit(w, 1);
    }
    ExecutionException e = assertThrows(ExecutionException.class, r.future::get);
    WorkerStartException s = assertInstanceOf(WorkerStartException.class, e.getCause());
    assertEquals("Pool test-1 could not start a worker for this task", s.getMessage());
    assertTrue(s.getCause().getMessage().startsWith("Worker 0 (pid 1002) exited with code 1 before it was ready"),
        s.getCause().getMessage());
    assertEquals(PoolLifecycle.State.RUNNING, pool.state(), "the pool lives on");
    assertEquals(3, pool.launcher.launched.size(), "no launch while no task waits");
    pool.queue(2);
    assertEquals(4, pool.launcher.launched.size(), "the next task tries again");
  }

  @Test
  void shutdownNow_workerDeathSettledBeforeTheCallerCancels_taskIsNotFailedAsCrashed() {
    Pool pool = new Pool(1);
    pool.startReady();
    TaskRecord r = pool.queue(1);
    Worker w = pool.workers()[0];
    synchronized (pool.fx.ctx.lock) {
      assertTrue(w.inFlight.containsKey(r.id), "dispatched to the ready worker");
    }
    pool.fx.ctx.update(() -> w.streamClosed = true); // Its death is settled as soon as it exits.
    List<TaskRecord> toCancel = new java.util.ArrayList<>();
    // The fake kill exits the worker at once: its death is settled before shutdownNow's caller cancels.
    pool.fx.ctx.update(() -> toCancel.addAll(pool.lifecycle.shutdownNow()));
    assertEquals(Worker.State.DEAD, w.state);
    assertEquals(List.of(r), toCancel);
    assertFalse(r.future.isDone(), "the settled death did not fail the task as crashed");
    assertTrue(r.future.cancelQuietly());
  }
}
