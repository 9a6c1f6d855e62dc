package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Create/use/close cycles of a 2-worker pool leave the parent's threads, file descriptors and heap flat,
 * and no process behind. Quick size by default; the full size runs with {@code -Dtest=LeakTest
 * -Dprocpool.leak.cycles=200}.
 */
class LeakTest {
  private static int threads() {
    return ManagementFactory.getThreadMXBean().getThreadCount();
  }

  private static int fds() {
    String[] open = new File("/proc/self/fd").list();
    return open == null ? -1 : open.length;
  }

  private static long heapAfterGc() {
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
  }

  private static void cycle() throws Exception {
    try (Pool pool = Pool.builder().workers(2).build()) {
      assertEquals(List.of(1, 2, 3), pool.map(Workers::identity, List.of(1, 2, 3)));
      assertEquals(4, pool.submit(Workers::identity, 4).get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  @org.junit.jupiter.api.Timeout(value = 30, unit = java.util.concurrent.TimeUnit.MINUTES) // full size
  void createUseClose_manyCycles_leavesThreadsFdsHeapFlat() throws Exception {
    int cycles = Integer.getInteger("procpool.leak.cycles", 12);
    int warmup = Math.min(4, cycles / 2);
    for (int i = 0; i < warmup; i++) {
      cycle();
    }
    // Transport threads wind down asynchronously after a close; let them settle before the baseline.
    Conditions.await("no child processes", Duration.ofSeconds(20), () -> ProcessHandle.current().children().count() == 0);
    int threads0 = threads();
    int fds0 = fds();
    long heap0 = heapAfterGc();
    for (int i = warmup; i < cycles; i++) {
      cycle();
    }
    assertEquals(List.of(), ProcessLeakCheck.awaitNoChildren(Duration.ofSeconds(20)));
    Conditions.await("threads to wind down to " + threads0 + " + 4", Duration.ofSeconds(20), () -> threads() <= threads0 + 4);
    Conditions.await("fds to close to " + fds0 + " + 8", Duration.ofSeconds(20), () -> fds() <= fds0 + 8);
    long heap1 = heapAfterGc();
    System.err.printf(
        "leak: %d cycles; threads %d -> %d, fds %d -> %d, heap %d KiB -> %d KiB%n",
        cycles, threads0, threads(), fds0, fds(), heap0 / 1024, heap1 / 1024);
    assertTrue(heap1 - heap0 < 32L << 20, "heap grew from " + heap0 + " to " + heap1);
  }
}
