package io.procpool.internal.transport;

import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;

/**
 * Logs refused connections and streams without letting a flood of them flood the log: the first refusal
 * at WARNING, then at most one WARNING per interval, which counts the refusals since the previous one;
 * every refusal also at DEBUG. A stranger who connects in a loop costs one line a minute, and the
 * first sign of trouble is never lost. This class is thread-safe.
 */
public final class RefusalLog {
  static final long DEFAULT_INTERVAL_NANOS = TimeUnit.MINUTES.toNanos(1);

  private final System.Logger log;
  private final long intervalNanos;
  private final LongSupplier nanoClock;
  // Guarded by this.
  private boolean warnedOnce;
  private long lastWarningNanos;
  private long suppressed;

  public RefusalLog(System.Logger log) {
    this(log, DEFAULT_INTERVAL_NANOS, System::nanoTime);
  }

  RefusalLog(System.Logger log, long intervalNanos, LongSupplier nanoClock) {
    this.log = log;
    this.intervalNanos = intervalNanos;
    this.nanoClock = nanoClock;
  }

  /** Records that {@code what} (e.g. "connection from /127.0.0.1:5123") was refused for {@code reason}. */
  public void refused(String what, String reason) {
    long since;
    synchronized (this) {
      long now = nanoClock.getAsLong();
      if (warnedOnce && now - lastWarningNanos < intervalNanos) {
        suppressed++;
        since = -1;
      } else {
        since = suppressed;
        suppressed = 0;
        warnedOnce = true;
        lastWarningNanos = now;
      }
    }
    if (since < 0) {
      log.log(System.Logger.Level.DEBUG, "Refused a worker {0}: {1}", what, reason);
    } else if (since == 0) {
      log.log(System.Logger.Level.WARNING, "Refused a worker {0}: {1}", what, reason);
    } else {
      log.log(
          System.Logger.Level.WARNING,
          "Refused a worker {0}: {1} ({2} more refused since the last warning, logged at DEBUG)",
          what, reason, Long.toString(since));
    }
  }
}
