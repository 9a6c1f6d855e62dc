package io.procpool.internal.dispatch;

/**
 * The counters behind {@code Pool.stats()}. Guarded by the core lock: every change happens with it held,
 * next to the state change it counts, so a snapshot is consistent with the queue and the workers.
 */
final class PoolCounters {
  long submitted;
  long completed;
  long failed;
  long retried;
  long cancelled;
  long workersReplaced;

  /** Counts the outcome a worker reported for one task. */
  void countResult(boolean cancelled, boolean failed) {
    if (cancelled) {
      this.cancelled++;
    } else if (failed) {
      this.failed++;
    } else {
      this.completed++;
    }
  }
}
