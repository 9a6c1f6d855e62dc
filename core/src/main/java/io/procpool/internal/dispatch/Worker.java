package io.procpool.internal.dispatch;

import io.procpool.WorkerStartException;
import io.procpool.internal.codec.SharedArena;
import io.procpool.internal.transport.WorkerConnection;
import io.procpool.internal.worker.StatusFile;
import io.procpool.internal.worker.WorkerRuntime;
import io.procpool.spi.WorkerHandle;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * One worker process and what the pool knows of it. A replacement worker is a new {@code Worker} with the
 * same index and a new id. Every mutable field is guarded by the pool's core lock ({@link
 * PoolCore}'s {@code lock}); the connection does its own locking for sends.
 */
final class Worker {
  /**
   * A worker's life, in order; it only moves forward, through {@link #moveTo}.
   *
   * <ul>
   *   <li>LAUNCHING: its files are being made and its process started, or it has not said Hello yet.
   *       Trigger out: a Hello with the right ids (CONNECTED), or its death (DEAD).
   *   <li>CONNECTED: Hello accepted; the initializer is running. Takes no tasks. Out: Ready (READY).
   *   <li>READY: takes tasks up to its window. Out: told to exit in order (RETIRING), or death.
   *   <li>RETIRING: told to exit (pool shutdown, maxTasksPerWorker used up); takes no new tasks and
   *       finishes those it has. Out: death.
   *   <li>DEAD: its process has exited (and its stream closed, or a grace period passed) and every task
   *       it held has been settled. Final.
   * </ul>
   *
   * A kill is not a state: any live worker may be killed ({@link #killReason} records why), and it then
   * goes to DEAD when its process exit is seen.
   */
  enum State {
    LAUNCHING,
    CONNECTED,
    READY,
    RETIRING,
    DEAD
  }

  final int index;
  final long workerId;
  final long launchedNanos;

  State state = State.LAUNCHING;
  /** Null until made by the launch, and again once the worker is settled (then closed and deleted). */
  StatusFile status;
  /**
   * A worker on another machine has no status file: it reports each task it begins on its stream
   * ({@code Begun}), and this is the last report (written without the lock by the transport thread).
   * Null for a worker with a status file.
   */
  volatile StatusFile.Snapshot reported;
  /** Where this worker writes large results; null if the pool has no arenas or once it is settled. */
  SharedArena outArena;
  /** Null until the launcher returns. */
  WorkerHandle process;
  /** Null until the worker's Hello is accepted. */
  WorkerConnection connection;

  /** Tasks sent and not answered, in the order sent, which is the order the worker runs them. */
  final LinkedHashMap<Long, TaskRecord> inFlight = new LinkedHashMap<>();
  /** Task messages sent and not yet fully answered: batch number -> tasks still out. */
  final Map<Integer, Integer> openBatches = new HashMap<>();
  /** Ids of the stateless functions whose bytes this worker has been sent. */
  final Set<Long> knownFunctions = new HashSet<>();
  int batchSeq;
  /** Tasks sent to this worker so far: a task's {@link TaskRecord#seq} is its place in that order. */
  long tasksSent;
  long inFlightBytes;
  /** Inputs assigned so far, for maxTasksPerWorker. */
  long assigned;
  long completed;
  long busyNanos;

  long lastHeardNanos;
  long readyNanos;
  /** Elastic pools: since when the worker has had nothing to do, and {@link #tasksSent} then. */
  long idleSinceNanos;
  long idleMark;
  long helloPid;
  long heapUsed = -1;
  long rss = -1;
  long gcMillis = -1;

  /** Why it could not start (launch failed, initializer threw, never connected); null otherwise. */
  Throwable startFailure;
  /** Why the pool killed it; null unless the pool killed it. A killed worker's exit is expected. */
  String killReason;

  boolean exited;
  boolean streamClosed;
  int exitCode = -1;

  Worker(int index, long workerId, long nowNanos) {
    this.index = index;
    this.workerId = workerId;
    this.launchedNanos = nowNanos;
    this.lastHeardNanos = nowNanos;
  }

  /** The one way a worker's state changes; throws if {@code next} is not a step forward from here. */
  void moveTo(State next) {
    boolean ok =
        switch (next) {
          case CONNECTED -> state == State.LAUNCHING;
          case READY -> state == State.CONNECTED;
          case RETIRING -> state == State.CONNECTED || state == State.READY;
          case DEAD -> state != State.DEAD;
          case LAUNCHING -> false;
        };
    if (!ok) {
      throw new IllegalStateException(this + " cannot go from " + state + " to " + next);
    }
    state = next;
  }

  boolean isLive() {
    return state != State.DEAD;
  }

  /** Whether the worker may be given tasks now (its window and budget aside). */
  boolean takesTasks() {
    return state == State.READY && killReason == null;
  }

  /** Takes {@code r} out of the in-flight table and its batch. */
  void release(TaskRecord r) {
    if (inFlight.remove(r.id) == null) {
      return;
    }
    inFlightBytes -= r.bytes;
    openBatches.computeIfPresent(r.batch, (k, n) -> n == 1 ? null : n - 1);
  }

  /**
   * What the worker last wrote to its status file, or last reported on its stream; all zero before the
   * first report and once a status file is closed.
   */
  StatusFile.Snapshot status() {
    if (status != null) {
      return status.read();
    }
    StatusFile.Snapshot r = reported;
    return r == null ? NOTHING_BEGUN : r;
  }

  private static final StatusFile.Snapshot NOTHING_BEGUN = new StatusFile.Snapshot(0, 0, 0);

  /** Whether this worker reports the tasks it begins on its stream (it runs on another machine). */
  boolean reportsBegun() {
    return reported != null;
  }

  /** The task the worker is running now, or null. */
  TaskRecord running() {
    long id = status().taskId();
    return id == 0 ? null : inFlight.get(id);
  }

  /** The worker's pid: as its launcher sees it, else as the worker said when it connected, else -1. */
  long pid() {
    WorkerHandle p = process;
    long pid = p == null ? -1 : p.pid();
    return pid >= 0 ? pid : helloPid != 0 ? helloPid : -1;
  }

  /** Why the worker did not start: the failure recorded, else what its exit code says. */
  Throwable whyNotStarted() {
    if (startFailure != null) {
      return startFailure;
    }
    return new WorkerStartException(
        "Worker " + index + " (pid " + pid() + ") exited with code " + exitCode + " before it was ready"
            + exitHint(exitCode),
        null);
  }

  private static String exitHint(int code) {
    return switch (code) {
      case WorkerRuntime.EXIT_REFUSED -> " (its parent refused its connection)";
      case WorkerRuntime.EXIT_INITIALIZER_FAILED -> " (its initializer threw)";
      case WorkerRuntime.EXIT_BAD_BOOTSTRAP -> " (it could not read its bootstrap)";
      case 1 -> " (the JVM could not start: see its stderr for the reason, e.g. a bad JVM option or classpath)";
      default -> "";
    };
  }

  @Override
  public String toString() {
    return "Worker#" + index + "[pid=" + pid() + ", " + state + (killReason == null ? "" : ", killed") + "]";
  }
}
