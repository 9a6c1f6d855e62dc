package io.procpool.spi;

import java.util.concurrent.CompletableFuture;

/** A started worker, as its {@link WorkerLauncher} sees it. Implementations are thread-safe. */
public interface WorkerHandle {
  /**
   * Completes with the worker's exit code once it has ended, whether by itself or by {@link #kill};
   * never completes exceptionally. A worker that ended without an exit code of its own (a scheduler
   * cancelled it, its node failed) completes with a non-zero code that says so as well as one can.
   *
   * @return the future of the worker's exit code
   */
  CompletableFuture<Integer> onExit();

  /** Ends the worker now: SIGKILL, or the nearest equivalent (cancelling its job, deleting its Pod). Idempotent. */
  void kill();

  /**
   * Whether the worker may still be running; the default: {@link #onExit()} has not completed.
   *
   * @return false once the worker has ended
   */
  default boolean isAlive() {
    return !onExit().isDone();
  }

  /**
   * The worker's operating-system process id, if this JVM can see it (a child process), else -1. The
   * worker reports its own pid when it connects; a pid given here must match it.
   *
   * @return the pid, or -1 if this JVM cannot see the worker's process
   */
  default long pid() {
    return -1;
  }

  /**
   * How logs and errors name the worker beyond its index: "pid 4122", "Slurm job 77 step 3".
   *
   * @return a short description for people
   */
  default String description() {
    long pid = pid();
    return pid >= 0 ? "pid " + pid : "a worker";
  }

  /**
   * The worker's stream has ended: the pool will send it nothing more. A launcher may release what ties
   * the worker to this JVM; the default local launcher closes the worker's stdin, whose end the worker
   * takes as its cue to exit. Called at most once, never under the pool's lock. The default does nothing.
   */
  default void streamEnded() {}
}
