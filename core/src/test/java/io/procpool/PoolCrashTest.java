package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Worker deaths: the task that was running fails (or is retried), everything else goes on. */
class PoolCrashTest {
  @TempDir Path tmp;

  static void awaitRunning(Pool pool, int index) {
    Conditions.await(
        "worker " + index + " to be running a task",
        Duration.ofSeconds(30),
        () -> pool.stats().workers().get(index).currentTask() != null);
  }

  static void killWorker(Pool pool, int index) {
    long pid = pool.workers().get(index).pid();
    ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
  }

  @Test
  void systemExitInTask_failsWithWorkerCrashedAndPoolServes() throws Exception {
    try (Pool pool = Pool.builder().workers(1).build()) {
      long pid = pool.workers().get(0).pid();
      ExecutionException e = assertThrows(ExecutionException.class, () -> pool.submit(Workers::exit, 3).get());
      WorkerCrashedException c = assertInstanceOf(WorkerCrashedException.class, e.getCause());
      assertEquals(3, c.exitCode());
      assertEquals(pid, c.pid());
      assertTrue(c.getMessage().startsWith("Worker 0 (pid " + pid + ") exited with code 3 while running task"), c.getMessage());
      assertEquals(5, pool.submit(Workers::identity, 5).get(30, TimeUnit.SECONDS));
      assertNotEquals(pid, pool.workers().get(0).pid());
      assertEquals(0, pool.workers().get(0).index());
    }
  }

  @Test
  void haltInTask_failsWithWorkerCrashed() throws Exception {
    try (Pool pool = Pool.builder().workers(1).build()) {
      ExecutionException e = assertThrows(ExecutionException.class, () -> pool.submit(Workers::halt, 7).get());
      assertEquals(7, assertInstanceOf(WorkerCrashedException.class, e.getCause()).exitCode());
      assertEquals(1, pool.submit(Workers::identity, 1).get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void sigkillWhileRunning_failsRunningTaskOnlyAndRunsPrefetchedElsewhere() throws Exception {
    try (Pool pool = Pool.builder().workers(1).build()) {
      ListenableFuture<Long> running = pool.submit(Workers::sleep, 60_000L);
      ListenableFuture<Integer> queued1 = pool.submit(Workers::identity, 1);
      ListenableFuture<Integer> queued2 = pool.submit(Workers::identity, 2);
      awaitRunning(pool, 0);
      killWorker(pool, 0);
      ExecutionException e = assertThrows(ExecutionException.class, () -> running.get(30, TimeUnit.SECONDS));
      assertEquals(137, assertInstanceOf(WorkerCrashedException.class, e.getCause()).exitCode());
      assertEquals(1, queued1.get(30, TimeUnit.SECONDS));
      assertEquals(2, queued2.get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void idleWorkerKilled_isReplacedWithSameIndex() throws Exception {
    try (Pool pool = Pool.builder().workers(2).build()) {
      long pid = pool.workers().get(1).pid();
      killWorker(pool, 1);
      Conditions.await(
          "worker 1 to be replaced",
          Duration.ofSeconds(30),
          () -> pool.workers().get(1).pid() != pid && pool.workers().get(1).isAlive());
      assertEquals(1, pool.workers().get(1).index());
      assertEquals(4, pool.submit(Workers::identity, 4).get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void maxRetries_taskCrashesOnce_succeedsOnRetry() throws Exception {
    try (Pool pool = Pool.builder().workers(1).maxRetries(1).build()) {
      String marker = tmp.resolve("crashed-once").toString();
      assertEquals("ok", pool.submit(Workers::crashOnce, marker).get(60, TimeUnit.SECONDS));
      assertEquals(1, pool.stats().retried());
    }
  }

  @Test
  void maxRetries_poisonTask_failsNamingEveryAttempt() throws Exception {
    try (Pool pool = Pool.builder().workers(2).maxRetries(2).build()) {
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> pool.submit(Workers::halt, 11).get(120, TimeUnit.SECONDS));
      WorkerCrashedException c = assertInstanceOf(WorkerCrashedException.class, e.getCause());
      assertEquals(3, c.attempts().size(), c.attempts().toString());
      assertTrue(c.attempts().stream().allMatch(a -> a.exitCode() == 11));
      assertTrue(c.getMessage().contains("it killed 3 workers"), c.getMessage());
      assertEquals(3, pool.submit(Workers::identity, 3).get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void taskThatThrows_isNeverRetried() throws Exception {
    try (Pool pool = Pool.builder().workers(1).maxRetries(3).build()) {
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> pool.submit((Integer x) -> 1 / x, 0).get());
      assertInstanceOf(ArithmeticException.class, e.getCause());
      assertEquals(0, pool.stats().retried());
    }
  }
}
