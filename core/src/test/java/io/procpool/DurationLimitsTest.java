package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import java.time.Duration;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Durations up to {@code ChronoUnit.FOREVER} are clamped where they enter the builder: none overflows
 * later, at start-up or in the watchdog. Workers are threads (no process).
 */
class DurationLimitsTest {
  static final Duration FOREVER = ChronoUnit.FOREVER.getDuration();

  /** Released by each test; in-process tasks block on it. */
  static volatile CountDownLatch release = new CountDownLatch(0);

  static int blockUntilReleased(int x) throws InterruptedException {
    release.await();
    return x;
  }

  @Test
  void heartbeat_foreverIntervalAndTimeout_acceptedInsteadOfArithmeticException() throws Exception {
    try (Pool pool =
        Pool.builder().workers(1).launcher(new ThreadLauncher()).heartbeat(FOREVER, FOREVER).build()) {
      assertEquals(7, pool.submit(Workers::identity, 7).get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void heartbeat_timeoutBelowTwiceTheInterval_stillRejected() {
    IllegalArgumentException e =
        assertThrows(
            IllegalArgumentException.class,
            () -> Pool.builder().heartbeat(Duration.ofSeconds(1), Duration.ofMillis(1500)));
    assertEquals("heartbeat timeout is PT1.5S, but must be at least twice the interval PT1S", e.getMessage());
  }

  @Test
  void build_foreverStartTimeoutAndGracePeriod_startsAndRunsTasksInsteadOfOverflowingAfterStart()
      throws Exception {
    try (Pool pool =
        Pool.builder()
            .workers(1)
            .launcher(new ThreadLauncher())
            .startTimeout(FOREVER)
            .cancelGracePeriod(FOREVER)
            .taskTimeout(FOREVER)
            .build()) {
      assertEquals(7, pool.submit(Workers::identity, 7).get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void taskTimeoutForever_whileATaskRuns_watchdogStillDetectsAHungWorker() throws Exception {
    release = new CountDownLatch(1);
    // In-process workers send no heartbeats: to the watchdog, a worker that runs a task without a word for
    // 300 ms is hung. 1000 years fit in milliseconds but not in nanoseconds: unclamped, the watchdog's
    // toNanos() threw at its first look at the running task, and the timer silently dropped the watchdog.
    Pool pool =
        Pool.builder()
            .workers(1)
            .launcher(new ThreadLauncher())
            .taskTimeout(Duration.ofDays(365_000))
            .heartbeat(Duration.ofMillis(10), Duration.ofMillis(300))
            .build();
    try {
      ListenableFuture<Integer> f = pool.submit(DurationLimitsTest::blockUntilReleased, 1);
      ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(20, TimeUnit.SECONDS));
      assertInstanceOf(WorkerCrashedException.class, e.getCause());
    } finally {
      release.countDown(); // Before close(): it waits for the task.
      pool.close();
    }
  }

  @Test
  void awaitTermination_forever_returnsTrueInsteadOfArithmeticException() throws Exception {
    Pool pool = Pool.builder().workers(1).launcher(new ThreadLauncher()).build();
    pool.shutdown();
    assertTrue(pool.awaitTermination(FOREVER));
    assertTrue(pool.isTerminated());
  }
}
