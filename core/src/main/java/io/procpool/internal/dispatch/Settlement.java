package io.procpool.internal.dispatch;

import io.procpool.WorkerCrashedException;
import io.procpool.internal.jfr.PoolEvents;
import io.procpool.internal.worker.StatusFile;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongSupplier;

/**
 * What becomes of the tasks of a worker that is gone. The worker runs its tasks one at a time in the
 * order they were sent, and counts in its status file how many it has begun, so the tasks it held split
 * in two:
 *
 * <ul>
 *   <li>begun: the one it was running when it died, and any it had finished without its result leaving
 *       (results are batched). Each such death counts against the task's {@code maxRetries}: the task
 *       runs again while it has retries left, else fails with {@link WorkerCrashedException} naming every
 *       attempt. However a worker dies, a task is begun at most {@code maxRetries + 1} times;
 *   <li>not begun: back to the head of the queue, to run elsewhere. They never fail for it.
 * </ul>
 *
 * Called with the core lock held.
 */
final class Settlement {
  private final String name;
  private final System.Logger log;
  private final CoreContext ctx;
  private final Dispatcher dispatcher;
  private final PoolCounters counters;
  private final Completions completions;
  private final int maxRetries;
  private final boolean capture;
  private final Path dir;
  private final LongSupplier clock;

  Settlement(
      String name, System.Logger log, CoreContext ctx, Dispatcher dispatcher, PoolCounters counters, Completions completions,
      int maxRetries, boolean capture, Path dir, LongSupplier clock) {
    this.name = name;
    this.log = log;
    this.ctx = ctx;
    this.dispatcher = dispatcher;
    this.counters = counters;
    this.completions = completions;
    this.maxRetries = maxRetries;
    this.capture = capture;
    this.dir = dir;
    this.clock = clock;
  }

  /**
   * Requeues or fails every task {@code w} held; returns the job that fails the crashed ones, to run
   * outside the lock (it reads the worker's capture files and completes futures).
   */
  Runnable settleTasks(Worker w) {
    assert ctx.held();
    StatusFile.Snapshot status = w.status();
    // A worker on another machine reports what it begins on its stream, and a task that kills it at once
    // can beat its report out. So when such a worker dies with nothing reported running (every task it
    // reported has its result here), the next task in line is a suspect: requeued as not begun the first
    // time, treated as begun if it is the unreported next-in-line of a second dead worker. A task that
    // kills every worker it reaches cannot then go round for ever.
    boolean suspectNext =
        w.reportsBegun() && (status.taskId() == 0 || !w.inFlight.containsKey(status.taskId()));
    List<TaskRecord> requeue = new ArrayList<>();
    List<TaskRecord> crashed = new ArrayList<>();
    List<WorkerCrashedException> errors = new ArrayList<>();
    for (TaskRecord r : w.inFlight.values()) {
      r.worker = null;
      if (r.future.isDone()) {
        continue;
      }
      if (r.seq > status.begun()
          && !(suspectNext && r.seq == status.begun() + 1 && ++r.unreported >= UNREPORTED_DEATHS)) {
        requeue.add(r);
        continue;
      }
      boolean running = r.id == status.taskId();
      r.died(new WorkerCrashedException.Attempt(w.index, w.pid(), w.exitCode));
      if (r.deaths().size() <= maxRetries) {
        counters.retried++;
        log.log(System.Logger.Level.INFO,
            "{0}: worker {1} (pid {2,number,#}) exited with code {3} while running {4}; retrying it (attempt {5,number,#} of {6,number,#})",
            name, w.index, w.pid(), w.exitCode, r, r.deaths().size() + 1, maxRetries + 1);
        requeue.add(r);
      } else {
        counters.failed++;
        PoolEvents.taskEnded(name, r.id, r.description(), r.size, w.index, w.pid(), PoolEvents.CRASHED,
            running ? clock.getAsLong() - status.startNanos() : 0);
        crashed.add(r);
        errors.add(crashed(r, w, running));
      }
    }
    w.inFlight.clear();
    w.inFlightBytes = 0;
    w.openBatches.clear();
    dispatcher.requeueFirst(requeue);
    if (crashed.isEmpty()) {
      return () -> {};
    }
    return () -> {
      for (int i = 0; i < crashed.size(); i++) {
        completions.failQuietly(crashed.get(i), Capture.attachTail(errors.get(i), capture, dir, w.workerId));
      }
    };
  }

  /** How many workers a task may be the unreported next-in-line of before it counts as begun. */
  static final int UNREPORTED_DEATHS = 2;

  private static WorkerCrashedException crashed(TaskRecord r, Worker w, boolean running) {
    StringBuilder m =
        new StringBuilder("Worker ")
            .append(w.index)
            .append(" (pid ")
            .append(w.pid())
            .append(") exited with code ")
            .append(w.exitCode)
            .append(running ? " while running " : " after running ")
            .append(r);
    if (!running && r.unreported >= UNREPORTED_DEATHS) {
      m.append(" (or had just begun it: the worker had not reported starting it, but it was next in line on ")
          .append(r.unreported).append(" workers that died so)");
    } else if (!running) {
      m.append(" but before sending its result");
    }
    if (r.deaths().size() > 1) {
      m.append("; it killed ").append(r.deaths().size()).append(" workers: ").append(r.deaths());
    }
    return new WorkerCrashedException(m.toString(), r.deaths());
  }
}
