package io.procpool.internal.dispatch;

/**
 * The core's serialized context: one lock, held only to change the state of the queue, the workers and
 * the tasks, and one rule for leaving it. Every event (a submit, a result, a worker's exit, a watchdog
 * tick, a shutdown) is handled by {@link #update}: under the lock it changes the state and then lets the
 * pool reconcile (dispatch what is queued, retire and replace workers, terminate when done); its side
 * effects are recorded in the {@link Outbox} and carried out once the lock is released.
 *
 * <p>Why a lock and not a serial executor (grpc's {@code SynchronizationContext}): callers need answers
 * at once (a submit to a shut-down pool throws; {@code stats()} is a consistent snapshot), and every
 * change is short. Nothing blocks under the lock, and user code never runs under it.
 */
final class CoreContext {
  final Object lock = new Object();
  final Outbox outbox;
  private volatile Runnable reconcile = () -> {};

  CoreContext(Outbox outbox) {
    this.outbox = outbox;
  }

  /**
   * Whether the calling thread holds the lock, for {@code assert}s at the top of the methods that need
   * it. Error Prone's GuardedBy check cannot follow a lock shared by several classes (nor into the
   * lambdas given to {@link #update}), so the parts check it this way instead, in every test run.
   */
  boolean held() {
    return Thread.holdsLock(lock);
  }

  /** Sets what runs after every change, under the lock. */
  void reconcileWith(Runnable reconcile) {
    this.reconcile = reconcile;
  }

  /** Applies {@code change} and reconciles under the lock, then carries out the side effects. */
  void update(Runnable change) {
    try {
      synchronized (lock) {
        change.run();
        reconcile.run();
      }
    } finally {
      outbox.flush();
    }
  }
}
