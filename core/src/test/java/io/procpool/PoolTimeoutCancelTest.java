package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** taskTimeout and future.cancel. */
class PoolTimeoutCancelTest {
  @TempDir Path tmp;

  @Test
  void taskTimeout_taskRunsTooLong_failsWithTimeoutAndWorkerIsReplaced() throws Exception {
    try (Pool pool = Pool.builder().workers(1).taskTimeout(Duration.ofMillis(500)).build()) {
      long pid = pool.workers().get(0).pid();
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> pool.submit(Workers::sleep, 60_000L).get(30, TimeUnit.SECONDS));
      TaskTimeoutException t = assertInstanceOf(TaskTimeoutException.class, e.getCause());
      assertEquals(pid, t.pid());
      assertTrue(t.getMessage().contains("ran for more than 500 ms on worker 0"), t.getMessage());
      assertEquals(2, pool.submit(Workers::identity, 2).get(30, TimeUnit.SECONDS));
      assertNotEquals(pid, pool.workers().get(0).pid());
    }
  }

  @Test
  void taskTimeout_waitInQueueDoesNotCount() throws Exception {
    try (Pool pool = Pool.builder().workers(1).taskTimeout(Duration.ofMillis(1500)).build()) {
      ListenableFuture<Long> a = pool.submit(Workers::sleep, 1000L);
      ListenableFuture<Long> b = pool.submit(Workers::sleep, 1000L);
      assertEquals(1000L, a.get(30, TimeUnit.SECONDS));
      assertEquals(1000L, b.get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void cancel_runningInterruptibleTask_stopsItAndKeepsWorker() throws Exception {
    try (Pool pool = Pool.builder().workers(1).build()) {
      long pid = pool.workers().get(0).pid();
      ListenableFuture<Long> f = pool.submit(Workers::sleep, 60_000L);
      PoolCrashTest.awaitRunning(pool, 0);
      assertTrue(f.cancel(true));
      assertTrue(f.isCancelled());
      Conditions.await("the worker to be free", Duration.ofSeconds(10), () -> pool.stats().inFlight() == 0);
      assertEquals(8, pool.submit(Workers::identity, 8).get(30, TimeUnit.SECONDS));
      assertEquals(pid, pool.workers().get(0).pid());
      assertEquals(1, pool.stats().cancelled());
    }
  }

  @Test
  void cancel_runningTaskIgnoringInterrupts_killsWorkerAfterGrace() throws Exception {
    try (Pool pool = Pool.builder().workers(1).cancelGracePeriod(Duration.ofMillis(200)).build()) {
      long pid = pool.workers().get(0).pid();
      ListenableFuture<Long> f = pool.submit(Workers::spinIgnoringInterrupts, 60_000L);
      PoolCrashTest.awaitRunning(pool, 0);
      assertTrue(f.cancel(true));
      assertEquals(3, pool.submit(Workers::identity, 3).get(30, TimeUnit.SECONDS));
      assertNotEquals(pid, pool.workers().get(0).pid());
    }
  }

  @Test
  void cancel_queuedTask_neverRuns() throws Exception {
    try (Pool pool = Pool.builder().workers(1).build()) {
      ListenableFuture<Long> blocker = pool.submit(Workers::sleep, 1_000L);
      ListenableFuture<Long> blocker2 = pool.submit(Workers::sleep, 1_000L);
      Path marker = tmp.resolve("ran");
      ListenableFuture<String> queued = pool.submit(Workers::touch, marker.toString());
      assertTrue(queued.cancel(true));
      blocker.get(30, TimeUnit.SECONDS);
      blocker2.get(30, TimeUnit.SECONDS);
      assertEquals(4, pool.submit(Workers::identity, 4).get(30, TimeUnit.SECONDS));
      assertFalse(Files.exists(marker));
    }
  }
}
