package io.procpool;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/** Waiting for a condition with a deadline, the only way tests here wait. */
public final class Conditions {
  private Conditions() {}

  /** Polls {@code condition} until it holds, failing with {@code what} after {@code timeout}. */
  public static void await(String what, Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("Timed out after " + timeout.toMillis() + " ms waiting for " + what);
      }
      pause();
    }
  }

  /** A short back-off between polls (not a synchronisation: callers re-check their condition). */
  static void pause() {
    LockSupport.parkNanos(10_000_000L);
  }
}
