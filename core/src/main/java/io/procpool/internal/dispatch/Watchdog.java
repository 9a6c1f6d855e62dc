package io.procpool.internal.dispatch;

import io.procpool.internal.supervisor.Durations;
import io.procpool.TaskTimeoutException;
import io.procpool.internal.jfr.PoolEvents;
import io.procpool.internal.worker.StatusFile;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Periodic checks, on the pool's timer thread: a task over its timeout (measured from the start its
 * worker recorded, not from when it was queued), a worker that never connected, a worker that has gone
 * silent. Each ends in {@link Supervisor#kill}; a timed-out task's future fails after the kill was sent.
 * In an elastic pool, also workers idle for longer than its idle timeout, which are told to exit.
 * The clock is injected, so tests drive it without waiting.
 */
final class Watchdog implements Runnable {
  private final String name;
  private final System.Logger log;
  private final CoreContext ctx;
  private final Supervisor supervisor;
  private final PoolCounters counters;
  private final Completions completions;
  private final LongSupplier clock;
  private final Duration taskTimeout;
  private final long taskTimeoutNanos;
  private final long startTimeoutNanos;
  private final long heartbeatTimeoutNanos;
  /** Elastic pools: how long a worker may idle before it exits; Long.MAX_VALUE for fixed pools. */
  private final long idleTimeoutNanos;
  private final boolean capture;
  private final Path dir;

  Watchdog(
      String name, System.Logger log, CoreContext ctx, Supervisor supervisor, PoolCounters counters,
      Completions completions, LongSupplier clock, PoolConfig config, boolean capture, Path dir) {
    this.name = name;
    this.log = log;
    this.ctx = ctx;
    this.supervisor = supervisor;
    this.counters = counters;
    this.completions = completions;
    this.clock = clock;
    this.taskTimeout = config.taskTimeout();
    this.taskTimeoutNanos = taskTimeout == null ? Long.MAX_VALUE : Durations.toNanosSaturated(taskTimeout);
    this.startTimeoutNanos = Durations.toNanosSaturated(config.startTimeout());
    this.heartbeatTimeoutNanos = Durations.toNanosSaturated(config.heartbeatTimeout());
    this.idleTimeoutNanos =
        config.elastic() ? Durations.toNanosSaturated(config.idleTimeout()) : Long.MAX_VALUE;
    this.capture = capture;
    this.dir = dir;
  }

  /**
   * Whether a worker that has not connected within the start timeout may go on waiting, once the pool has
   * a ready worker: one a cluster's scheduler keeps in its queue is not failing, and cancelling it would
   * only send its replacement to the back of the queue. Set before the first check.
   */
  private volatile boolean queuedStartsWait;

  void letQueuedStartsWait() {
    queuedStartsWait = true;
  }

  /** How often to check: often enough for the shortest of the timeouts, between 5 and 250 ms. */
  static long periodMillis(PoolConfig config) {
    long period = TimeUnit.NANOSECONDS.toMillis(Durations.toNanosSaturated(config.heartbeatInterval()));
    if (config.taskTimeout() != null) {
      period = Math.min(period, Math.max(5, TimeUnit.NANOSECONDS.toMillis(Durations.toNanosSaturated(config.taskTimeout())) / 10));
    }
    return Math.max(5, Math.min(period, 250));
  }

  /** One round of checks. Never throws: an exception would cancel the periodic schedule for good. */
  @Override
  public void run() {
    try {
      ctx.update(() -> check(clock.getAsLong()));
    } catch (Throwable t) {
      log.log(System.Logger.Level.ERROR, name + ": the watchdog failed one round of checks", t);
    }
  }

  /** Lock. Checks every live worker at time {@code now}. */
  void check(long now) {
    assert ctx.held();
    if (idleTimeoutNanos != Long.MAX_VALUE) {
      supervisor.retireIdleFor(now, idleTimeoutNanos);
    }
    for (Worker w : supervisor.all()) {
      if (!w.isLive() || w.process == null || w.killReason != null) {
        continue;
      }
      if (taskTimeout != null && !w.inFlight.isEmpty() && timedOut(w, now)) {
        continue;
      }
      long silentNanos = now - w.lastHeardNanos;
      if (w.state == Worker.State.LAUNCHING && silentNanos > startTimeoutNanos
          && !(queuedStartsWait && supervisor.anyReady())) {
        w.startFailure = new io.procpool.WorkerStartException(
            "Timed out after " + taskMillis(startTimeoutNanos) + " ms waiting for worker " + w.index
                + " (pid " + w.pid() + ") to connect",
            null);
        supervisor.kill(w, "it did not connect in time");
      } else if (w.state != Worker.State.LAUNCHING && silentNanos > heartbeatTimeoutNanos) {
        log.log(System.Logger.Level.WARNING,
            "{0}: worker {1} (pid {2,number,#}) sent nothing for {3,number,#} ms (hung, stopped or stalled); killing it",
            name, w.index, w.pid(), TimeUnit.NANOSECONDS.toMillis(silentNanos));
        w.lastHeardNanos = now;
        supervisor.kill(w, "it sent nothing for too long");
      }
    }
  }

  /** Fails and kills for the task {@code w} is running if it is over its timeout; true if it was. */
  private boolean timedOut(Worker w, long now) {
    StatusFile.Snapshot snap = w.status();
    TaskRecord r = snap.taskId() == 0 ? null : w.inFlight.get(snap.taskId());
    if (r == null || r.future.isDone() || now - snap.startNanos() <= taskTimeoutNanos) {
      return false;
    }
    w.release(r);
    r.worker = null;
    counters.failed++;
    TaskTimeoutException e =
        new TaskTimeoutException(
            r + " ran for more than " + taskTimeout.toMillis() + " ms on worker " + w.index
                + " (pid " + w.pid() + "); the worker was killed and will be replaced",
            taskTimeout,
            w.pid());
    log.log(System.Logger.Level.WARNING, "{0}: {1}", name, e.getMessage());
    PoolEvents.taskEnded(name, r.id, r.description(), r.size, w.index, w.pid(), PoolEvents.TIMED_OUT,
        now - snap.startNanos());
    supervisor.kill(w, r + " timed out");
    long workerId = w.workerId;
    ctx.outbox.later(() -> completions.failQuietly(r, Capture.attachTail(e, capture, dir, workerId)));
    return true;
  }

  private static long taskMillis(long nanos) {
    return TimeUnit.NANOSECONDS.toMillis(nanos);
  }
}
