package io.procpool.spi;

import java.io.IOException;

/**
 * Where and how a pool's worker JVMs are started: the extension point behind {@code
 * Pool.builder().launcher(...)}. The default starts each worker as a child process of this JVM; a launcher
 * of one's own can run them under another command (a job scheduler's, a container runtime's), on this
 * machine or elsewhere, as long as each worker ends up reading its {@link WorkerSpec#bootstrap()
 * bootstrap} and dialing back to {@link WorkerSpec#target()}.
 *
 * <p>What the pool promises a launcher:
 *
 * <ul>
 *   <li>{@link #launch} is called from one of the pool's own executor threads, never while the pool holds
 *       its lock, so it may block (on a scheduler's command line, say) without stalling the pool. Calls
 *       for different workers may run at the same time: an implementation is thread-safe.
 *   <li>{@link #launch} is called once per {@link WorkerSpec}: each start of a worker slot, the first one
 *       and every replacement, has its own {@link WorkerSpec#id() id}, never reused within the pool.
 *   <li>{@link WorkerHandle#kill} is called when the pool gives up on a worker (shutdown, a task timeout,
 *       a cancel that must kill, a worker that does not connect); {@link WorkerHandle#onExit} completing
 *       is how the pool learns that a worker has ended, by itself or killed, and its code is what the
 *       pool reports.
 *   <li>{@link #close} is called once, when the pool has released its workers.
 * </ul>
 *
 * <p>What the pool expects in return: {@link #launch} returns once the worker exists (or is queued, for a
 * scheduler), without waiting for it to connect; the pool's {@code startTimeout} bounds the wait for
 * that. A launch that cannot start the worker at all throws {@link IOException}: the pool counts it as a
 * failed start, retries with back-off, and gives up with {@code WorkerStartException} when starts keep
 * failing.
 */
public interface WorkerLauncher {
  /**
   * Starts the worker {@code worker} describes, and returns its handle.
   *
   * @param worker which worker to start, its bootstrap and the command the pool would run it with
   * @return the started (or queued) worker
   * @throws IOException if the worker cannot be started at all: a failed start, retried by the pool
   */
  WorkerHandle launch(WorkerSpec worker) throws IOException;

  /**
   * Whether this launcher's workers run on the parent's machine ({@link Network#thisMachine()}, the
   * default) or may run on others ({@link Network#routable()}): the pool asks as it is built, and listens,
   * encrypts, moves large arrays and sizes worker heaps accordingly. The answer must not change.
   *
   * @return where the workers run
   */
  default Network network() {
    return Network.thisMachine();
  }

  /** The pool is done with this launcher: release what it holds. The default does nothing. */
  default void close() {}
}
