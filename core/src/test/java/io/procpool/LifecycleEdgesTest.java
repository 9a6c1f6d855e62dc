package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Lifecycle edges (after CPython's test_shutdown.py): shutdowns that race with deaths and recycling. */
class LifecycleEdgesTest {
  @Test
  void shutdownNow_whileWorkersAreRecycled_terminatesAndCancelsEverything() throws Exception {
    Pool pool = Pool.builder().workers(2).maxTasksPerWorker(1).build();
    List<ListenableFuture<Long>> fs = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      fs.add(pool.submit(Workers::pid, null));
    }
    fs.get(2).get(60, TimeUnit.SECONDS); // recycling is under way
    pool.shutdownNow();
    assertTrue(pool.awaitTermination(Duration.ofSeconds(30)), pool.toString());
    assertTrue(fs.stream().allMatch(f -> f.isDone()));
    assertTrue(fs.stream().anyMatch(f -> f.isCancelled()), "some tasks were still queued");
  }

  @Test
  void workerDiesDuringShutdown_runningTaskFailsAndPoolTerminates() throws Exception {
    Pool pool = Pool.builder().workers(1).build();
    ListenableFuture<Long> running = pool.submit(Workers::sleep, 60_000L);
    ListenableFuture<Integer> queued = pool.submit(Workers::identity, 7);
    PoolCrashTest.awaitRunning(pool, 0);
    pool.shutdown();
    PoolCrashTest.killWorker(pool, 0);
    ExecutionException e = assertThrows(ExecutionException.class, () -> running.get(30, TimeUnit.SECONDS));
    assertInstanceOf(WorkerCrashedException.class, e.getCause());
    assertEquals(7, queued.get(60, TimeUnit.SECONDS), "a queued task still runs, on a replacement");
    assertTrue(pool.awaitTermination(Duration.ofSeconds(30)), pool.toString());
  }

  @Test
  void shutdown_whileImapConsumed_streamYieldsEverything() throws Exception {
    Pool pool = Pool.builder().workers(2).build();
    List<Integer> in = IntStream.range(0, 2_000).boxed().collect(Collectors.toList());
    ListenableFuture<List<Integer>> map = pool.mapAsync(Workers::identity, in);
    pool.shutdown();
    assertEquals(in, map.get(60, TimeUnit.SECONDS));
    assertTrue(pool.awaitTermination(Duration.ofSeconds(30)));
    assertThrows(RejectedExecutionException.class, () -> pool.map(Workers::identity, in));
  }

  @Test
  void badInput_everyPublicMethod_failsAtOnceNamingTheArgument() throws Exception {
    try (Pool pool = Pool.builder().workers(1).build()) {
      assertEquals("task", assertThrows(NullPointerException.class, () -> pool.submit(null, 1)).getMessage());
      assertEquals("task", assertThrows(NullPointerException.class, () -> pool.mapAsync(null, List.of())).getMessage());
      assertEquals("inputs", assertThrows(NullPointerException.class, () -> pool.mapAsync(Workers::identity, null)).getMessage());
      assertEquals("inputs", assertThrows(NullPointerException.class, () -> pool.imap(Workers::identity, null)).getMessage());
      assertEquals("inputs", assertThrows(NullPointerException.class, () -> pool.imapUnordered(Workers::identity, null)).getMessage());
      assertEquals("timeout", assertThrows(NullPointerException.class, () -> pool.awaitTermination(null)).getMessage());
      // A null input is a value like any other.
      assertEquals(null, pool.submit((Object x) -> x, null).get(30, TimeUnit.SECONDS));
    }
    Pool.Builder b = Pool.builder();
    assertEquals("workers is -3, but must be at least 1", assertThrows(IllegalArgumentException.class, () -> b.workers(-3)).getMessage());
    assertEquals("maxTasksPerWorker is 0, but must be at least 1", assertThrows(IllegalArgumentException.class, () -> b.maxTasksPerWorker(0)).getMessage());
    assertEquals("maxRetries is -1, but must be at least 0", assertThrows(IllegalArgumentException.class, () -> b.maxRetries(-1)).getMessage());
    assertEquals("taskTimeout is PT-1S, but must be positive", assertThrows(IllegalArgumentException.class, () -> b.taskTimeout(Duration.ofSeconds(-1))).getMessage());
    assertEquals("jvmOptions contains null", assertThrows(NullPointerException.class, () -> b.jvmOptions("-Xmx1g", null)).getMessage());
    assertEquals("jvmOptions contains a blank option", assertThrows(IllegalArgumentException.class, () -> b.jvmOptions(" ")).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.javaExecutable(java.nio.file.Path.of("/no/such/java")));
    assertThrows(IllegalArgumentException.class, () -> b.workingDirectory(java.nio.file.Path.of("/no/such/dir")));
    assertThrows(IllegalArgumentException.class, () -> b.heartbeat(Duration.ofMillis(500), Duration.ofMillis(600)));
    assertThrows(IllegalArgumentException.class, () -> b.serialFilter("maxdepth=notanumber"));
    assertThrows(IllegalArgumentException.class, () -> b.name("has space"));
    assertEquals("target", assertThrows(NullPointerException.class, () -> WorkerProcess.start(null, 1)).getMessage());
  }
}
