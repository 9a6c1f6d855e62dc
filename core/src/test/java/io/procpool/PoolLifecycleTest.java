package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** shutdown, shutdownNow, join, awaitTermination, close; initializer; maxTasksPerWorker; start failures. */
class PoolLifecycleTest {
  @TempDir Path tmp;

  static String indexProperty(Object ignored) throws InterruptedException {
    Thread.sleep(20); // long enough for both workers to get some of the inputs
    return System.getProperty("procpool.test.index") + "@" + ProcessHandle.current().pid();
  }

  static Object setIndex(int index) {
    System.setProperty("procpool.test.index", Integer.toString(index));
    return null;
  }

  static Object failingInit(int index) {
    throw new IllegalStateException("init boom in " + index);
  }

  static void assertAllExited(List<WorkerInfo> workers) {
    for (WorkerInfo w : workers) {
      assertFalse(ProcessHandle.of(w.pid()).map(ProcessHandle::isAlive).orElse(false), w + " is still alive");
    }
  }

  @Test
  void shutdown_withQueuedTasks_finishesThemThenTerminates() throws Exception {
    Pool pool = Pool.builder().workers(2).build();
    List<WorkerInfo> workers = pool.workers();
    List<ListenableFuture<Long>> fs = new ArrayList<>();
    for (int i = 0; i < 6; i++) {
      fs.add(pool.submit(Workers::sleep, 100L));
    }
    pool.shutdown();
    assertTrue(pool.isShutdown());
    assertThrows(RejectedExecutionException.class, () -> pool.submit(Workers::identity, 1));
    pool.join();
    assertTrue(pool.isTerminated());
    for (ListenableFuture<Long> f : fs) {
      assertEquals(100L, f.get(0, TimeUnit.SECONDS));
    }
    assertAllExited(workers);
  }

  @Test
  void shutdown_whileMapInFlight_mapCompletes() throws Exception {
    Pool pool = Pool.builder().workers(2).build();
    List<Integer> in = IntStream.range(0, 20_000).boxed().collect(Collectors.toList());
    ListenableFuture<List<Integer>> f = pool.mapAsync(Workers::identity, in);
    pool.shutdown();
    assertEquals(in, f.get(60, TimeUnit.SECONDS));
    assertTrue(pool.awaitTermination(Duration.ofSeconds(30)));
  }

  @Test
  void join_beforeShutdown_throwsIllegalState() throws Exception {
    try (Pool pool = Pool.builder().workers(1).build()) {
      IllegalStateException e = assertThrows(IllegalStateException.class, pool::join);
      assertEquals("Pool[RUNNING] cannot be joined before shutdown() or shutdownNow()", e.getMessage());
      assertFalse(pool.awaitTermination(Duration.ofMillis(200)));
      assertFalse(pool.isTerminated());
    }
  }

  @Test
  void shutdownNow_cancelsRunningAndQueuedAndKillsWorkers() throws Exception {
    Pool pool = Pool.builder().workers(1).build();
    List<WorkerInfo> workers = pool.workers();
    ListenableFuture<Long> running = pool.submit(Workers::sleep, 60_000L);
    ListenableFuture<Long> queued = pool.submit(Workers::sleep, 60_000L);
    ListenableFuture<Long> queued2 = pool.submit(Workers::sleep, 60_000L);
    PoolCrashTest.awaitRunning(pool, 0);
    pool.shutdownNow();
    assertTrue(running.isCancelled());
    assertTrue(queued.isCancelled());
    assertTrue(queued2.isCancelled());
    assertTrue(pool.awaitTermination(Duration.ofSeconds(30)));
    assertAllExited(workers);
  }

  @Test
  void close_twice_isHarmless() {
    Pool pool = Pool.builder().workers(1).build();
    pool.close();
    pool.close();
    pool.shutdownNow();
    assertTrue(pool.isTerminated());
  }

  @Test
  void initializer_runsInEachWorkerWithItsIndex() throws Exception {
    try (Pool pool = Pool.builder().workers(2).initializer(PoolLifecycleTest::setIndex).build()) {
      List<String> answers =
          pool.map(PoolLifecycleTest::indexProperty, IntStream.range(0, 40).boxed().collect(Collectors.toList()));
      for (WorkerInfo w : pool.workers()) {
        assertTrue(answers.contains(w.index() + "@" + w.pid()), w + " in " + answers);
      }
      assertTrue(answers.stream().allMatch(a -> a.startsWith("0@") || a.startsWith("1@")), answers.toString());
    }
  }

  @Test
  void initializer_throws_buildFailsWithCauseAndLeavesNoProcess() {
    WorkerStartException e =
        assertThrows(
            WorkerStartException.class,
            () -> Pool.builder().workers(2).initializer(PoolLifecycleTest::failingInit).build());
    Throwable t = e;
    while (t != null && !(t instanceof IllegalStateException)) {
      t = t.getCause();
    }
    assertInstanceOf(IllegalStateException.class, t, "cause chain of " + e);
    assertTrue(t.getMessage().startsWith("init boom in "), t.getMessage());
    assertEquals(List.of(), ProcessLeakCheck.awaitNoChildren(Duration.ofSeconds(10)));
  }

  @Test
  void build_badJvmOption_failsAndLeavesNoProcess() {
    WorkerStartException e =
        assertThrows(
            WorkerStartException.class,
            () -> Pool.builder().workers(1).jvmOptions("-XX:+NoSuchOptionProcpool").build());
    assertTrue(e.getMessage().contains("exited with code 1 before it was ready"), e.getMessage());
    assertEquals(List.of(), ProcessLeakCheck.awaitNoChildren(Duration.ofSeconds(10)));
  }

  @Test
  void maxTasksPerWorker_replacesWorkersKeepingIndex() throws Exception {
    try (Pool pool = Pool.builder().workers(1).maxTasksPerWorker(5).build()) {
      List<Long> pids = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        pids.add(pool.submit(Workers::pid, null).get(30, TimeUnit.SECONDS));
      }
      long distinct = pids.stream().distinct().count();
      assertEquals(4, distinct, pids.toString());
      assertEquals(0, pool.workers().get(0).index());
      List<Integer> in = IntStream.range(0, 100).boxed().collect(Collectors.toList());
      assertEquals(in, pool.map(Workers::identity, in));
    }
  }

  @Test
  void jvmOptions_reachWorkers() throws Exception {
    try (Pool pool = Pool.builder().workers(1).jvmOptions("-Dprocpool.test.k=v").build()) {
      assertEquals("v", pool.submit((String k) -> System.getProperty(k), "procpool.test.k").get());
    }
  }

  @Test
  void workingDirectoryAndEnvironment_reachWorkers() throws Exception {
    Files.createDirectories(tmp);
    try (Pool pool = Pool.builder().workers(1).workingDirectory(tmp).environment("PROCPOOL_TEST", "yes").build()) {
      assertEquals("yes", pool.submit((String k) -> System.getenv(k), "PROCPOOL_TEST").get());
      assertEquals(
          tmp.toRealPath().toString(),
          pool.submit((String k) -> Path.of("").toAbsolutePath().toRealPath().toString(), "").get());
    }
  }

  @Test
  void submit_afterTermination_rejectedNamingState() throws Exception {
    Pool pool = Pool.builder().workers(1).build();
    pool.close();
    RejectedExecutionException e =
        assertThrows(RejectedExecutionException.class, () -> pool.submit(Workers::identity, 1));
    assertEquals("Pool[TERMINATED] is not accepting tasks", e.getMessage());
  }
}
