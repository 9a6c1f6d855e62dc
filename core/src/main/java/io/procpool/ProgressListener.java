package io.procpool;

/**
 * Observes how far a {@code map}, {@code mapAsync}, {@code imap} or {@code imapUnordered} call has got;
 * pass one to the overloads of {@link Pool} that take it. {@link ConsoleProgress} is a ready-made one.
 *
 * <p>What an implementation may rely on:
 *
 * <ul>
 *   <li>It is called once when the call starts (nothing done yet), then as inputs finish, at most about
 *       every 100 ms, then exactly once more with {@link Progress#isFinished()} true, and never after that.
 *       The final call comes when the map's future completes (before anyone waiting on it is released
 *       from {@code map} or {@code get()}), or when an {@code imap} stream is exhausted, fails, or is
 *       closed.
 *   <li>Calls for one map never overlap, and each sees counts no smaller than the one before.
 *   <li>It is called on the thread that starts the call, the pool's transport threads, or the thread
 *       consuming an {@code imap} stream, never while the pool holds a lock: keep it short, and do not
 *       block in it. An exception it throws is logged and otherwise ignored.
 * </ul>
 */
@FunctionalInterface
public interface ProgressListener {
  /**
   * Receives a snapshot.
   *
   * @param progress the counts so far
   */
  void onProgress(Progress progress);
}
