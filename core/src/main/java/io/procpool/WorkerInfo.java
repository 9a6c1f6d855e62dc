package io.procpool;

/**
 * A snapshot of one worker of a {@link Pool}, as returned by {@link Pool#workers()}.
 *
 * @param index the worker's index, from 0 to workers-1; a replacement takes the index it replaces
 * @param pid the worker's operating-system process id, or -1 while it is being started
 * @param isAlive whether the worker's process was alive when the snapshot was taken
 * @param tasksCompleted how many task inputs this worker process has finished (successfully or not)
 */
public record WorkerInfo(int index, long pid, boolean isAlive, long tasksCompleted) {
  @Override
  public String toString() {
    return "Worker#" + index + "[pid=" + pid + (isAlive ? ", alive" : ", exited") + ", tasksCompleted="
        + tasksCompleted + "]";
  }
}
