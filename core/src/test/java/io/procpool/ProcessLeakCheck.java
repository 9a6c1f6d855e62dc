package io.procpool;

import io.procpool.internal.supervisor.ClassDataSharing;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * Fails a test class that leaves a child process of the test JVM alive: a leaked worker JVM is a bug, in
 * tests as in the product. Registered for every test class by service loading. It waits a bounded time
 * for processes to exit (an orderly exit takes a moment), then kills the stragglers so that one leak does
 * not cascade into the next class, and fails.
 */
public final class ProcessLeakCheck implements AfterAllCallback {
  static final Duration GRACE = Duration.ofSeconds(20);
  static final Duration BUILD_WAIT = Duration.ofMinutes(4);

  @Override
  public void afterAll(ExtensionContext context) throws InterruptedException {
    // A pool that found no class-data-sharing archive builds one in the background: those training
    // JVMs are bounded and end by themselves, so they are waited for rather than counted as leaks.
    ClassDataSharing.awaitBackgroundBuilds(BUILD_WAIT);
    List<ProcessHandle> left = awaitNoChildren(GRACE);
    if (!left.isEmpty()) {
      String desc =
          left.stream()
              .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
              .collect(Collectors.joining("\n  "));
      left.forEach(ProcessHandle::destroyForcibly);
      throw new AssertionError(
          context.getDisplayName() + " left " + left.size() + " child process(es) alive:\n  " + desc);
    }
  }

  /** Waits up to {@code grace} for this JVM to have no live descendants; returns those still alive. */
  static List<ProcessHandle> awaitNoChildren(Duration grace) {
    long deadline = System.nanoTime() + grace.toNanos();
    while (true) {
      List<ProcessHandle> alive =
          ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).collect(Collectors.toList());
      if (alive.isEmpty() || System.nanoTime() > deadline) {
        return alive;
      }
      Conditions.pause();
    }
  }
}
