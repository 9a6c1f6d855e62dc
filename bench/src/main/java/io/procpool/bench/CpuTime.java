package io.procpool.bench;

import io.procpool.Pool;
import io.procpool.WorkerInfo;
import java.time.Duration;
import java.util.Optional;

/**
 * CPU time used so far by this JVM and the workers of a pool together, as the operating system
 * counts it (user plus system, at clock-tick resolution). A workload's {@code cpu_s} is the
 * difference across it.
 *
 * <p>Why: the development machine has 2 cores shared with other jobs, so wall-clock figures move
 * from run to run with the load; the CPU seconds a workload burns per task move much less, and they
 * are what bounds its throughput once both cores are busy.
 */
final class CpuTime {
  private CpuTime() {}

  /**
   * Nanoseconds of CPU used by this JVM and every live worker of {@code pool} (none if it is null);
   * -1 if unknown.
   */
  static long nanos(Pool pool) {
    long total = of(ProcessHandle.current());
    if (total < 0 || pool == null) {
      return total;
    }
    for (WorkerInfo w : pool.workers()) {
      Optional<ProcessHandle> p = ProcessHandle.of(w.pid());
      long n = p.map(CpuTime::of).orElse(-1L);
      if (n < 0) {
        return -1;
      }
      total += n;
    }
    return total;
  }

  private static long of(ProcessHandle p) {
    return p.info().totalCpuDuration().map(Duration::toNanos).orElse(-1L);
  }

  /** The CPU seconds between two readings of {@link #nanos}, or null if either is unknown. */
  static Double seconds(long before, long after) {
    return before < 0 || after < 0 ? null : (after - before) / 1e9;
  }
}
