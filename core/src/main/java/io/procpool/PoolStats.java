package io.procpool;

import java.time.Duration;
import java.util.List;

/**
 * A snapshot of a pool's counters and of each worker, as returned by {@link Pool#stats()}.
 *
 * @param state the pool's state: STARTING, RUNNING, SHUTTING_DOWN, TERMINATED or FAILED
 * @param queued tasks waiting for a worker (a map chunk counts as one task)
 * @param inFlight tasks sent to a worker and not yet finished (running or prefetched)
 * @param submitted tasks accepted since the pool started
 * @param completed tasks that returned normally
 * @param failed tasks that failed (threw, crashed their worker, timed out, or could not be encoded)
 * @param retried re-runs of tasks whose worker died (maxRetries)
 * @param cancelled tasks that a worker stopped because they were cancelled
 * @param workersReplaced workers started to replace one that exited or was retired
 * @param workers one entry per worker index
 */
public record PoolStats(
    String state,
    int queued,
    int inFlight,
    long submitted,
    long completed,
    long failed,
    long retried,
    long cancelled,
    long workersReplaced,
    List<Worker> workers) {

  /**
   * One worker.
   *
   * @param state LAUNCHING, CONNECTED (initializer running), READY, RETIRING or DEAD
   * @param currentTask the task it is running now, or null
   * @param tasksDone task inputs it has finished
   * @param busy time spent running tasks
   * @param uptime time since it was launched
   * @param heapUsedBytes heap in use at its last heartbeat, or -1 before the first
   * @param rssBytes resident memory at its last heartbeat, or -1
   * @param gcMillis total GC time at its last heartbeat, or -1
   */
  public record Worker(
      int index,
      long pid,
      String state,
      String currentTask,
      long tasksDone,
      Duration busy,
      Duration uptime,
      long heapUsedBytes,
      long rssBytes,
      long gcMillis) {}
}
