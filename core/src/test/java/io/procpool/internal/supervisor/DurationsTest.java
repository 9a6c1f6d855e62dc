package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.Test;

class DurationsTest {
  @Test
  void saturate_forever_isHundredYears() {
    assertEquals(Duration.ofDays(36_500), Durations.saturate(ChronoUnit.FOREVER.getDuration()));
  }

  @Test
  void saturate_shortDuration_isUnchanged() {
    assertEquals(Duration.ofSeconds(3), Durations.saturate(Duration.ofSeconds(3)));
  }

  @Test
  void saturate_hundredYears_nanosDoNotOverflow() {
    // Doubling it (heartbeat timeout check) and adding it to a nanoTime reading must stay in range.
    long doubled = Durations.saturate(ChronoUnit.FOREVER.getDuration()).multipliedBy(2).toNanos();
    org.junit.jupiter.api.Assertions.assertTrue(doubled > 0 && doubled + System.nanoTime() > 0, "overflowed: " + doubled);
  }

  @Test
  void toNanosSaturated_forever_isLongMaxInsteadOfArithmeticException() {
    assertEquals(Long.MAX_VALUE, Durations.toNanosSaturated(ChronoUnit.FOREVER.getDuration()));
    assertEquals(Long.MIN_VALUE, Durations.toNanosSaturated(ChronoUnit.FOREVER.getDuration().negated()));
    assertEquals(5_000_000L, Durations.toNanosSaturated(Duration.ofMillis(5)));
  }
}
