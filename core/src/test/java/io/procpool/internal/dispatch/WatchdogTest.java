package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.MoreExecutors;
import io.procpool.TaskTimeoutException;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.worker.StatusFile;
import io.procpool.proto.v1.Bootstrap;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The watchdog and the supervisor with a fake launcher and a fake clock: no process, no waiting. */
class WatchdogTest {
  @TempDir Path tmp;

  private final AtomicLong now = new AtomicLong(TimeUnit.SECONDS.toNanos(1_000));
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final TestLifecycle lifecycle = new TestLifecycle();

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  private final class Harness {
    final CoreFixtures fx = new CoreFixtures(tmp);
    final CoreContext ctx = fx.ctx;
    final FakeLauncher launcher = new FakeLauncher(events);
    final Supervisor supervisor;
    final Watchdog watchdog;

    Harness(PoolConfig config) {
      this(config, 1);
    }

    Harness(PoolConfig config, int workers) {
      supervisor =
          new Supervisor("test-1", CoreFixtures.LOG, ctx, workers, launcher, tmp, false, timer, now::get, fx.counters,
              fx.settlement(0));
      supervisor.configure(lifecycle, Bootstrap.getDefaultInstance());
      watchdog = new Watchdog("test-1", CoreFixtures.LOG, ctx, supervisor, fx.counters, fx.completions, now::get,
          config, false, tmp);
    }

    Worker launch() {
      return launch(0);
    }

    Worker launch(int index) {
      ctx.update(() -> supervisor.reserve(index));
      synchronized (ctx.lock) {
        return supervisor.current()[index];
      }
    }

    Worker launchReady() {
      Worker w = launch();
      synchronized (ctx.lock) {
        w.moveTo(Worker.State.CONNECTED);
        w.moveTo(Worker.State.READY);
      }
      return w;
    }
  }


  private static PoolConfig config(Duration taskTimeout, Duration startTimeout, Duration heartbeatTimeout) {
    return new PoolConfig("test", 1, null, JvmLauncher.OutputMode.INHERIT, 0, taskTimeout, 0, null, startTimeout,
        Duration.ofMillis(500), heartbeatTimeout, Duration.ofSeconds(2), "", null, null);
  }

  private static final PoolConfig DEFAULTS =
      config(Duration.ofSeconds(1), Duration.ofSeconds(5), Duration.ofSeconds(10));

  @Test
  void taskOverItsTimeout_workerKilledBeforeTheFutureFails() throws Exception {
    Harness h = new Harness(DEFAULTS);
    Worker w = h.launchReady();
    TaskRecord r = CoreFixtures.task(7, 1);
    r.future.addListener(() -> events.add("future done"), MoreExecutors.directExecutor());
    synchronized (h.ctx.lock) {
      CoreFixtures.send(w, r);
    }
    try (StatusFile worker = StatusFile.open(tmp.resolve("worker-1.status"))) {
      worker.begin(7, now.get());
      now.addAndGet(TimeUnit.MILLISECONDS.toNanos(999));
      h.watchdog.run();
      assertEquals(List.of(), events, "under its timeout, nothing happens");
      now.addAndGet(TimeUnit.MILLISECONDS.toNanos(2));
      h.watchdog.run();
    }
    assertEquals(List.of("kill 1000", "future done"), events);
    ExecutionException e = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, r.future::get);
    TaskTimeoutException t = assertInstanceOf(TaskTimeoutException.class, e.getCause());
    assertEquals("task 7 (Fixture::task) ran for more than 1000 ms on worker 0 (pid 1000); the worker was killed "
        + "and will be replaced", t.getMessage());
    assertEquals(Worker.State.DEAD, w.state);
    assertEquals(1, h.fx.counters.failed);
  }

  @Test
  void silentWorker_killedAsHung() {
    Harness h = new Harness(DEFAULTS);
    Worker w = h.launchReady();
    now.addAndGet(TimeUnit.SECONDS.toNanos(10));
    h.watchdog.run();
    assertEquals(List.of(), events);
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(1));
    h.watchdog.run();
    assertEquals(List.of("kill 1000"), events);
    assertEquals("it sent nothing for too long", w.killReason);
    assertEquals(Worker.State.DEAD, w.state);
  }

  @Test
  void workerThatNeverConnects_killedWithStartFailure() {
    Harness h = new Harness(DEFAULTS);
    Worker w = h.launch();
    now.addAndGet(TimeUnit.SECONDS.toNanos(6));
    h.watchdog.run();
    assertEquals(List.of("kill 1000"), events);
    assertEquals("Timed out after 5000 ms waiting for worker 0 (pid 1000) to connect", w.startFailure.getMessage());
  }

  @Test
  void scheduledWorkerQueuedPastStartTimeout_anotherReady_keepsWaiting() {
    Harness h = new Harness(DEFAULTS, 2);
    h.watchdog.letQueuedStartsWait();
    Worker ready = h.launch(0);
    synchronized (h.ctx.lock) {
      ready.moveTo(Worker.State.CONNECTED);
      ready.moveTo(Worker.State.READY);
    }
    Worker queued = h.launch(1);
    now.addAndGet(TimeUnit.MINUTES.toNanos(30));
    synchronized (h.ctx.lock) {
      ready.lastHeardNanos = now.get(); // The ready one keeps sending heartbeats.
    }
    h.watchdog.run();
    assertEquals(List.of(), events, "a worker waiting in a scheduler's queue is not killed");
    assertEquals(Worker.State.LAUNCHING, queued.state);
  }

  @Test
  void scheduledWorkerPastStartTimeout_noneReady_killed() {
    Harness h = new Harness(DEFAULTS, 1);
    h.watchdog.letQueuedStartsWait();
    Worker w = h.launch();
    now.addAndGet(TimeUnit.SECONDS.toNanos(6));
    h.watchdog.run();
    assertEquals(List.of("kill 1000"), events);
    assertEquals(Worker.State.DEAD, w.state);
  }

  @Test
  void durationsOfForever_neitherOverflowNorStopTheWatchdog() {
    Duration forever = ChronoUnit.FOREVER.getDuration();
    PoolConfig config = config(forever, forever, forever);
    long period = Watchdog.periodMillis(config);
    assertTrue(period >= 5 && period <= 250, "period " + period);
    Harness h = new Harness(config);
    Worker w = h.launchReady();
    now.addAndGet(TimeUnit.DAYS.toNanos(365));
    h.watchdog.run();
    assertEquals(List.of(), events);
    assertNull(w.killReason);
  }

  @Test
  void launches_failingThreeTimesInARow_failThePool() {
    lifecycle.needsWorkers = true;
    Harness h = new Harness(DEFAULTS);
    h.launcher.fail = true;
    h.launch();
    Throwable cause = lifecycle.poolFailure.get();
    assertTrue(cause != null, "the pool must fail after three failed launches");
    assertEquals("Cannot launch worker 0: java.io.IOException: no java here", cause.getMessage());
    assertEquals(2, h.fx.counters.workersReplaced);
  }

  @Test
  void deadWorker_replacedWithANewIdAtItsIndex() {
    lifecycle.needsWorkers = true;
    Harness h = new Harness(DEFAULTS);
    Worker first = h.launchReady();
    h.launcher.launched.get(0).exit.complete(9);
    Worker second;
    synchronized (h.ctx.lock) {
      second = h.supervisor.current()[0];
    }
    assertEquals(Worker.State.DEAD, first.state);
    assertEquals(0, second.index);
    assertEquals(first.workerId + 1, second.workerId);
    assertEquals(2, h.launcher.launched.size());
    assertEquals(1, h.fx.counters.workersReplaced);
  }
}
