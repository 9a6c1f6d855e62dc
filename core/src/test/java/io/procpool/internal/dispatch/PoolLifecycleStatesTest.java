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
      PoolConfig config =
          new PoolConfig("test", workers, null, JvmLauncher.OutputMode.INHERIT, 0, null, 0, null,
              Duration.ofSeconds(5), Duration.ofMillis(500), Duration.ofSeconds(10), Duration.ofSeconds(2), "", null);
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
        RecordingStream s = new RecordingStream();
        streams.add(s);
        fx.ctx.update(
            () -> {
              w.moveTo(Worker.State.CONNECTED);
              w.connection = new WorkerConnection(s, null);
              supervisor.ready(w);
            });
      }
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
}
