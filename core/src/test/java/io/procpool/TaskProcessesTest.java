package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.procpool.internal.supervisor.DescendantWatch;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The processes a task starts die with its worker: a timeout, a cancel that kills, shutdownNow(), a
 * recycled worker, and a WorkerProcess killed or terminated. Each task starts {@code sleep 300} and
 * publishes its pid in a file.
 */
class TaskProcessesTest {
  @TempDir Path tmp;

  /** Pids of the sleeps: once their worker is dead they are no longer our descendants, so clean up here. */
  private final List<Long> sleeps = new ArrayList<>();

  @AfterEach
  void killLeftovers() {
    sleeps.forEach(pid -> ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly));
  }

  /** Starts {@code sleep 300} and writes its pid to {@code pidFile} (atomically); returns the pid. */
  static long startSleep(String pidFile) throws IOException {
    Process p =
        new ProcessBuilder("sleep", "300")
            .redirectOutput(ProcessBuilder.Redirect.DISCARD)
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    Path tmp = Path.of(pidFile + ".tmp");
    Files.writeString(tmp, Long.toString(p.pid()));
    Files.move(tmp, Path.of(pidFile), StandardCopyOption.ATOMIC_MOVE);
    return p.pid();
  }

  /** {@link #startSleep}, then runs on for up to 5 minutes ignoring interrupts, as a stubborn task does. */
  static long startSleepAndSpin(String pidFile) throws IOException {
    long pid = startSleep(pidFile);
    Workers.spinIgnoringInterrupts(300_000);
    return pid;
  }

  /** {@link #startSleep}, then halts the worker (no exit hooks run) once {@code pidFile + ".go"} exists. */
  static long startSleepAndHaltWhenTold(String pidFile) throws IOException {
    long pid = startSleep(pidFile);
    Path go = Path.of(pidFile + ".go");
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (!Files.exists(go) && System.nanoTime() < deadline) {
      java.util.concurrent.locks.LockSupport.parkNanos(10_000_000L);
    }
    Runtime.getRuntime().halt(3);
    return pid;
  }

  private long awaitSleepPid(Path pidFile) throws IOException {
    Conditions.await("the task to start sleep and write its pid to " + pidFile, Duration.ofSeconds(30),
        () -> Files.exists(pidFile));
    long pid = Long.parseLong(Files.readString(pidFile).trim());
    sleeps.add(pid);
    assertTrue(ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false), "sleep (pid " + pid + ") runs");
    return pid;
  }

  static void assertDies(long pid, String how) {
    Conditions.await(
        "sleep (pid " + pid + "), started by a task, to die with its worker after " + how,
        Duration.ofSeconds(10),
        () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
  }

  @Test
  void taskTimeout_taskStartedAProcess_itDiesWithTheKilledWorker() throws Exception {
    Path pidFile = tmp.resolve("sleep.pid");
    try (Pool pool = Pool.builder().workers(1).taskTimeout(Duration.ofSeconds(3)).build()) {
      ListenableFuture<Long> f = pool.submit(TaskProcessesTest::startSleepAndSpin, pidFile.toString());
      long pid = awaitSleepPid(pidFile);
      ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS));
      assertInstanceOf(TaskTimeoutException.class, e.getCause());
      assertDies(pid, "a task timeout");
    }
  }

  @Test
  void cancelTrue_taskIgnoresInterrupt_itsProcessDiesWithTheKilledWorker() throws Exception {
    Path pidFile = tmp.resolve("sleep.pid");
    try (Pool pool = Pool.builder().workers(1).cancelGracePeriod(Duration.ofMillis(100)).build()) {
      ListenableFuture<Long> f = pool.submit(TaskProcessesTest::startSleepAndSpin, pidFile.toString());
      long pid = awaitSleepPid(pidFile);
      long worker = pool.workers().get(0).pid();
      assertTrue(f.cancel(true));
      Conditions.await("the worker to be killed after the grace period", Duration.ofSeconds(30),
          () -> ProcessHandle.of(worker).map(h -> !h.isAlive()).orElse(true));
      assertDies(pid, "cancel(true)");
      assertThrows(CancellationException.class, f::get);
    }
  }

  @Test
  void shutdownNow_taskStartedAProcess_itDiesWithTheWorker() throws Exception {
    Path pidFile = tmp.resolve("sleep.pid");
    Pool pool = Pool.builder().workers(1).build();
    try {
      var unused = pool.submit(TaskProcessesTest::startSleepAndSpin, pidFile.toString());
      long pid = awaitSleepPid(pidFile);
      pool.shutdownNow();
      assertTrue(pool.awaitTermination(Duration.ofSeconds(30)));
      assertDies(pid, "shutdownNow()");
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void recycledWorker_taskLeftAProcessRunning_itDiesAsTheWorkerExits() throws Exception {
    Path pidFile = tmp.resolve("sleep.pid");
    try (Pool pool = Pool.builder().workers(1).maxTasksPerWorker(1).build()) {
      long pid = pool.submit(TaskProcessesTest::startSleep, pidFile.toString()).get(60, TimeUnit.SECONDS);
      sleeps.add(pid);
      // The spent worker is retired (told to exit) when the next task needs a worker.
      assertEquals(2, pool.submit(Workers::identity, 2).get(60, TimeUnit.SECONDS));
      assertDies(pid, "the worker was recycled (an orderly exit)");
    }
  }

  @Test
  void workerHaltsWithoutExitHooks_taskStartedAProcess_itDiesToo() throws Exception {
    Path pidFile = tmp.resolve("sleep.pid");
    try (Pool pool = Pool.builder().workers(1).build()) {
      long worker = pool.workers().get(0).pid();
      ListenableFuture<Long> f = pool.submit(TaskProcessesTest::startSleepAndHaltWhenTold, pidFile.toString());
      long pid = awaitSleepPid(pidFile);
      Conditions.await(
          "the parent to have seen sleep (pid " + pid + ") under worker " + worker,
          Duration.ofSeconds(10),
          () -> DescendantWatch.lastSeen(worker).stream().anyMatch(h -> h.pid() == pid));
      Files.createFile(Path.of(pidFile + ".go"));
      ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS));
      assertInstanceOf(WorkerCrashedException.class, e.getCause());
      assertDies(pid, "its worker halted (Runtime.halt: no exit hook ran)");
    }
  }

  @Test
  void workerProcessKill_targetStartedAProcess_itDiesToo() throws Exception {
    Path pidFile = tmp.resolve("sleep.pid");
    WorkerProcess p = WorkerProcess.start(TaskProcessesTest::startSleepAndSpin, pidFile.toString());
    try {
      long pid = awaitSleepPid(pidFile);
      p.kill();
      assertDies(pid, "WorkerProcess.kill()");
    } finally {
      p.kill();
      p.join();
    }
  }

  @Test
  void workerProcessTerminate_targetStartedAProcess_itDiesToo() throws Exception {
    Path pidFile = tmp.resolve("sleep.pid");
    WorkerProcess p = WorkerProcess.start(TaskProcessesTest::startSleepAndSpin, pidFile.toString());
    try {
      long pid = awaitSleepPid(pidFile);
      p.terminate();
      assertTrue(p.join(Duration.ofSeconds(30)));
      assertDies(pid, "WorkerProcess.terminate()");
    } finally {
      p.kill();
      p.join();
    }
  }
}
