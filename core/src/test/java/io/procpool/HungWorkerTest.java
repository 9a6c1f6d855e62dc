package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.common.util.concurrent.ListenableFuture;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Hung, not dead: a worker that stops answering while alive is detected and replaced. */
class HungWorkerTest {
  @Test
  void sigstoppedWorker_isKilledAndReplacedAndItsTaskFails() throws Exception {
    try (Pool pool = Pool.builder().workers(1).heartbeat(Duration.ofMillis(100), Duration.ofSeconds(1)).build()) {
      long pid = pool.workers().get(0).pid();
      ListenableFuture<Long> f = pool.submit(Workers::sleep, 60_000L);
      PoolCrashTest.awaitRunning(pool, 0);
      long stoppedAt = System.nanoTime();
      new ProcessBuilder("kill", "-STOP", Long.toString(pid)).start().waitFor();
      ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(30, TimeUnit.SECONDS));
      WorkerCrashedException c = assertInstanceOf(WorkerCrashedException.class, e.getCause());
      assertEquals(137, c.exitCode());
      System.err.println("hung worker detected after " + (System.nanoTime() - stoppedAt) / 1_000_000 + " ms");
      assertEquals(5, pool.submit(Workers::identity, 5).get(30, TimeUnit.SECONDS));
      assertNotEquals(pid, pool.workers().get(0).pid());
    }
  }

  @Test
  void sigstoppedWorker_withRetries_taskRunsElsewhere() throws Exception {
    try (Pool pool =
        Pool.builder().workers(2).maxRetries(1).heartbeat(Duration.ofMillis(100), Duration.ofSeconds(1)).build()) {
      ListenableFuture<Long> f = pool.submit(Workers::sleep, 2_000L);
      Conditions.await(
          "a worker to run the task",
          Duration.ofSeconds(30),
          () -> pool.stats().workers().stream().anyMatch(w -> w.currentTask() != null));
      long pid =
          pool.stats().workers().stream().filter(w -> w.currentTask() != null).findFirst().orElseThrow().pid();
      new ProcessBuilder("kill", "-STOP", Long.toString(pid)).start().waitFor();
      assertEquals(2_000L, f.get(60, TimeUnit.SECONDS));
      assertEquals(1, pool.stats().retried());
    }
  }
}
