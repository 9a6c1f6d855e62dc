package io.procpool;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.locks.LockSupport;

/** Task bodies shared by the integration tests; static so that method references to them serialize. */
final class Workers {
  private Workers() {}

  static int identity(int x) {
    return x;
  }

  static long pid(Object ignored) {
    return ProcessHandle.current().pid();
  }

  static int exit(int code) {
    System.exit(code);
    return -1;
  }

  static int halt(int code) {
    Runtime.getRuntime().halt(code);
    return -1;
  }

  /** Sleeps (interruptibly) for {@code millis}: a task that runs long, as a task may. */
  static long sleep(long millis) throws InterruptedException {
    Thread.sleep(millis);
    return millis;
  }

  /** Spins, ignoring interrupts, for {@code millis}. */
  static long spinIgnoringInterrupts(long millis) {
    long end = System.nanoTime() + Duration.ofMillis(millis).toNanos();
    while (System.nanoTime() < end) {
      Thread.interrupted();
      LockSupport.parkNanos(1_000_000);
    }
    return millis;
  }

  /** Halts the worker the first time (creating {@code marker}), returns "ok" when the marker exists. */
  static String crashOnce(String marker) throws IOException {
    Path p = Path.of(marker);
    if (!Files.exists(p)) {
      Files.createFile(p);
      Runtime.getRuntime().halt(9);
    }
    return "ok";
  }

  /** Touches {@code marker}: lets a test see that a task ran. */
  static String touch(String marker) {
    try {
      Files.writeString(Path.of(marker), "ran");
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return marker;
  }
}
