package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/**
 * Chaos: a map with retries on while another thread SIGKILLs a random ready worker every 200 ms. Every
 * result must be correct and nothing may hang.
 *
 * <p>Quick size by default (CI); the full size runs with {@code mvn -pl core -am verify
 * -Dtest=ChaosTest -Dsurefire.failIfNoSpecifiedTests=false -Dprocpool.chaos.tasks=20000}
 * (add {@code -Dprocpool.chaos.itemMicros=N} for heavier items). Each kill costs a worker JVM start
 * (~0.8 CPU-s with the class-data-sharing archive), so on 2 cores a kill every 200 ms leaves the workers
 * little time to run: the quick size keeps the CI run short.
 */
class ChaosTest {
  static long work(long x) {
    long micros = Long.getLong("procpool.chaos.itemMicros", 100);
    long end = System.nanoTime() + micros * 1000;
    long acc = x;
    while (System.nanoTime() < end) {
      acc = acc * 6364136223846793005L + 1442695040888963407L;
    }
    return x * 2 + (acc == 42 ? 1L : 0L) * 0L;
  }

  @Test
  @org.junit.jupiter.api.Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES) // full size
  void map_whileWorkersAreKilled_everyResultCorrect() throws Exception {
    int tasks = Integer.getInteger("procpool.chaos.tasks", 2_000);
    long itemMicros = Long.getLong("procpool.chaos.itemMicros", 100);
    Random random = new Random(42);
    try (Pool pool =
        Pool.builder()
            .workers(2)
            .maxRetries(1_000)
            .jvmOptions("-Dprocpool.chaos.itemMicros=" + itemMicros)
            .build()) {
      List<Long> in = IntStream.range(0, tasks).mapToObj(i -> (long) i).collect(Collectors.toList());
      long start = System.nanoTime();
      ListenableFuture<List<Long>> f = pool.mapAsync(ChaosTest::work, in);
      int kills = 0;
      long longestRecoveryNanos = 0;
      Map<Integer, long[]> pending = new HashMap<>(); // index -> {killed pid, kill time}
      long nextKill = System.nanoTime();
      long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
      while (!f.isDone()) {
        assertTrue(System.nanoTime() < deadline, "the map hung: " + pool.stats());
        PoolStats stats = pool.stats();
        for (PoolStats.Worker w : stats.workers()) {
          long[] p = pending.get(w.index());
          if (p != null && w.pid() != p[0] && w.state().equals("READY")) {
            longestRecoveryNanos = Math.max(longestRecoveryNanos, System.nanoTime() - p[1]);
            pending.remove(w.index());
          }
        }
        if (System.nanoTime() >= nextKill) {
          List<PoolStats.Worker> ready =
              stats.workers().stream().filter(w -> w.state().equals("READY")).collect(Collectors.toList());
          if (!ready.isEmpty()) {
            PoolStats.Worker victim = ready.get(random.nextInt(ready.size()));
            if (ProcessHandle.of(victim.pid()).map(ProcessHandle::destroyForcibly).orElse(false)) {
              kills++;
              pending.putIfAbsent(victim.index(), new long[] {victim.pid(), System.nanoTime()});
            }
          }
          nextKill += TimeUnit.MILLISECONDS.toNanos(200);
        }
        LockSupport.parkNanos(5_000_000);
      }
      List<Long> out = f.get();
      long elapsedMs = (System.nanoTime() - start) / 1_000_000;
      for (int i = 0; i < tasks; i++) {
        assertEquals(2L * i, out.get(i), "result " + i);
      }
      PoolStats s = pool.stats();
      System.err.printf(
          "chaos: %d tasks (%d us each) in %d ms, %d kills, %d retries, %d replacements, longest recovery %d ms%n",
          tasks, itemMicros, elapsedMs, kills, s.retried(), s.workersReplaced(), longestRecoveryNanos / 1_000_000);
      assertTrue(kills > 0, "the chaos thread killed nobody: the map finished before the first kill");
    }
  }
}
