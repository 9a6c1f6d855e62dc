package io.procpool;

import java.time.Duration;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Holds {@link Pool#common()}: made on the first call, from the system properties {@value #WORKERS} and
 * {@value #IDLE_TIMEOUT}. A call that fails (a bad property, no server socket) leaves nothing behind,
 * and the next call tries again.
 */
final class CommonPool {
  static final String WORKERS = "procpool.common.workers";
  static final String IDLE_TIMEOUT = "procpool.common.idleTimeout";
  static final Duration DEFAULT_IDLE_TIMEOUT = Duration.ofSeconds(60);

  private static final Pattern SIMPLE_DURATION = Pattern.compile("(\\d+)\\s*(ms|s|m|h)");

  private static final Object LOCK = new Object();
  private static volatile Pool pool;

  private CommonPool() {}

  static Pool get() {
    Pool p = pool;
    if (p != null) {
      return p;
    }
    synchronized (LOCK) {
      if (pool == null) {
        pool =
            Pool.builder()
                .name("procpool-common")
                .workers(workers(System.getProperty(WORKERS)))
                .common(idleTimeout(System.getProperty(IDLE_TIMEOUT)))
                .build();
      }
      return pool;
    }
  }

  /** The number of workers {@code value} (the property) asks for; availableProcessors() if unset. */
  static int workers(String value) {
    if (value == null || value.isBlank()) {
      return Runtime.getRuntime().availableProcessors();
    }
    try {
      int n = Integer.parseInt(value.trim());
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException e) {
      // Reported below.
    }
    throw new IllegalArgumentException(
        "System property " + WORKERS + " must be a whole number of workers, at least 1, but is \"" + value + "\"");
  }

  /** The idle timeout {@code value} (the property) asks for: 500ms, 30s, 5m, 1h or ISO-8601 (PT1M). */
  static Duration idleTimeout(String value) {
    if (value == null || value.isBlank()) {
      return DEFAULT_IDLE_TIMEOUT;
    }
    String v = value.trim().toLowerCase(Locale.ROOT);
    Duration d = null;
    Matcher m = SIMPLE_DURATION.matcher(v);
    try {
      if (m.matches()) {
        long n = Long.parseLong(m.group(1));
        d = switch (m.group(2)) {
          case "ms" -> Duration.ofMillis(n);
          case "s" -> Duration.ofSeconds(n);
          case "m" -> Duration.ofMinutes(n);
          default -> Duration.ofHours(n);
        };
      } else if (v.startsWith("pt") || v.startsWith("p")) {
        d = Duration.parse(v.toUpperCase(Locale.ROOT));
      }
    } catch (ArithmeticException | NumberFormatException | DateTimeParseException e) {
      d = null;
    }
    if (d == null || d.isNegative() || d.isZero()) {
      throw new IllegalArgumentException("System property " + IDLE_TIMEOUT + " must be a positive duration such "
          + "as 500ms, 30s, 5m, 1h or PT1M, but is \"" + value + "\"");
    }
    return d;
  }
}
