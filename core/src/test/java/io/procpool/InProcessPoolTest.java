package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** Dispatch, codecs and transport, with workers as threads over the in-process transport: no process. */
class InProcessPoolTest {
  static String upper(String s) {
    return s.toUpperCase(java.util.Locale.ROOT);
  }

  static int fail(int x) {
    throw new IllegalArgumentException("bad input " + x);
  }

  private static Pool pool(ThreadLauncher launcher, int workers) {
    return Pool.builder().workers(workers).launcher(launcher).build();
  }

  @Test
  void submit_inProcessWorkers_returnsResult() throws Exception {
    ThreadLauncher launcher = new ThreadLauncher();
    try (Pool pool = pool(launcher, 2)) {
      assertEquals("BOB", pool.submit(InProcessPoolTest::upper, "bob").get());
      assertEquals(2, launcher.launched.size());
    }
  }

  @Test
  void map_manyItems_keepsOrderAndSpreadsOverWorkers() throws Exception {
    try (Pool pool = pool(new ThreadLauncher(), 3)) {
      List<Integer> in = IntStream.range(0, 10_000).boxed().collect(Collectors.toList());
      List<Integer> out = pool.map(x -> x + 1, in);
      assertEquals(in.stream().map(x -> x + 1).collect(Collectors.toList()), out);
      assertTrue(pool.workers().stream().filter(w -> w.tasksCompleted() > 0).count() >= 2, pool.workers().toString());
    }
  }

  @Test
  void submit_manySingles_allComplete() throws Exception {
    try (Pool pool = pool(new ThreadLauncher(), 2)) {
      List<ListenableFuture<Integer>> fs = new ArrayList<>();
      for (int i = 0; i < 5_000; i++) {
        fs.add(pool.submit(x -> x * 2, i));
      }
      List<Integer> out = Futures.allAsList(fs).get();
      for (int i = 0; i < out.size(); i++) {
        assertEquals(i * 2, out.get(i));
      }
    }
  }

  @Test
  void submit_taskThrows_failsWithOriginalException() {
    try (Pool pool = pool(new ThreadLauncher(), 1)) {
      ExecutionException e = assertThrows(ExecutionException.class, () -> pool.submit(InProcessPoolTest::fail, 3).get());
      assertInstanceOf(IllegalArgumentException.class, e.getCause());
      assertEquals("bad input 3", e.getCause().getMessage());
    }
  }

  @Test
  void workerKilled_whileIdle_isReplacedAndPoolServes() throws Exception {
    ThreadLauncher launcher = new ThreadLauncher();
    try (Pool pool = pool(launcher, 1)) {
      launcher.launched.get(0).kill();
      Conditions.await("a replacement worker", Duration.ofSeconds(10), () -> launcher.launched.size() == 2);
      assertEquals("X", pool.submit(InProcessPoolTest::upper, "x").get());
    }
  }

  @Test
  void submit_afterShutdown_throwsRejected() throws Exception {
    Pool pool = pool(new ThreadLauncher(), 1);
    pool.shutdown();
    RejectedExecutionException e =
        assertThrows(RejectedExecutionException.class, () -> pool.submit(InProcessPoolTest::upper, "x"));
    assertTrue(e.getMessage().contains("is not accepting tasks"), e.getMessage());
    assertTrue(pool.awaitTermination(Duration.ofSeconds(10)));
  }
}
