package io.procpool.internal.jfr;

/**
 * Emits the pool's Flight Recorder events. Each method costs an allocation the JIT usually removes and a
 * flag check when no recording asks for the event, so dispatch calls them unconditionally. Called from
 * the parent only (workers are separate JVMs with recordings of their own).
 */
public final class PoolEvents {
  /** Outcomes of {@link #taskEnded}. */
  public static final String SUCCEEDED = "SUCCEEDED";

  public static final String FAILED = "FAILED";
  public static final String CANCELLED = "CANCELLED";
  public static final String CRASHED = "CRASHED";
  public static final String TIMED_OUT = "TIMED_OUT";

  private PoolEvents() {}

  public static void taskSubmitted(String pool, long taskId, String task, int inputs) {
    TaskSubmitEvent e = new TaskSubmitEvent();
    if (e.isEnabled()) {
      e.pool = pool;
      e.taskId = taskId;
      e.task = task;
      e.inputs = inputs;
      e.commit();
    }
  }

  /** A task's outcome from a worker's report: cancelled, failed (threw) or succeeded. */
  public static String outcome(boolean cancelled, boolean failed) {
    return cancelled ? CANCELLED : failed ? FAILED : SUCCEEDED;
  }

  public static void taskEnded(
      String pool, long taskId, String task, int inputs, int workerIndex, long pid, String outcome, long runNanos) {
    TaskEndEvent e = new TaskEndEvent();
    if (e.isEnabled()) {
      e.pool = pool;
      e.taskId = taskId;
      e.task = task;
      e.inputs = inputs;
      e.workerIndex = workerIndex;
      e.pid = pid;
      e.outcome = outcome;
      e.runTime = Math.max(0, runNanos);
      e.commit();
    }
  }

  public static void workerStarted(String pool, int workerIndex, long pid, long startupNanos) {
    WorkerStartEvent e = new WorkerStartEvent();
    if (e.isEnabled()) {
      e.pool = pool;
      e.workerIndex = workerIndex;
      e.pid = pid;
      e.startupTime = Math.max(0, startupNanos);
      e.commit();
    }
  }

  public static void workerExited(
      String pool, int workerIndex, long pid, int exitCode, boolean expected, long tasksCompleted, long uptimeNanos) {
    WorkerExitEvent e = new WorkerExitEvent();
    if (e.isEnabled()) {
      e.pool = pool;
      e.workerIndex = workerIndex;
      e.pid = pid;
      e.exitCode = exitCode;
      e.expected = expected;
      e.tasksCompleted = tasksCompleted;
      e.uptime = Math.max(0, uptimeNanos);
      e.commit();
    }
  }
}
