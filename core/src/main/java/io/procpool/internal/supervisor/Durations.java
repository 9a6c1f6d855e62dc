package io.procpool.internal.supervisor;

import java.time.Duration;

/**
 * Saturating arithmetic for user-given {@link Duration}s. A {@code Duration} reaches {@code
 * ChronoUnit.FOREVER} (about 292 billion years), but {@link Duration#toNanos()} overflows past 292 years and
 * {@link Duration#toMillis()} past 292 million: a "wait forever" value must be clamped where it enters, not
 * fail deep inside a timer thread later.
 */
public final class Durations {
  /**
   * What the pool treats as "practically forever": 100 years. Far below the 292 years at which nanoseconds
   * overflow a {@code long}, so adding it to a {@link System#nanoTime()} reading or doubling it (heartbeat
   * timeout against interval) cannot overflow either.
   */
  public static final Duration FOREVER = Duration.ofDays(36_500);

  private Durations() {}

  /** {@code d} clamped to at most {@link #FOREVER}; {@code d} itself when shorter. */
  public static Duration saturate(Duration d) {
    return d.compareTo(FOREVER) > 0 ? FOREVER : d;
  }

  /** {@code d} clamped to at most {@code cap}. */
  public static Duration saturate(Duration d, Duration cap) {
    return d.compareTo(cap) > 0 ? cap : d;
  }

  /** {@link Duration#toNanos()}, but {@code Long.MAX_VALUE} or {@code Long.MIN_VALUE} instead of throwing. */
  public static long toNanosSaturated(Duration d) {
    try {
      return d.toNanos();
    } catch (ArithmeticException e) {
      return d.isNegative() ? Long.MIN_VALUE : Long.MAX_VALUE;
    }
  }
}
