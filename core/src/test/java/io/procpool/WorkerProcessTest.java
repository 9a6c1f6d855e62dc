package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerProcessTest {
  @TempDir Path tmp;

  static void writeParentPid(String file) throws Exception {
    Files.writeString(Path.of(file), Long.toString(ProcessHandle.current().parent().orElseThrow().pid()));
  }

  static void fail(String message) {
    throw new IllegalStateException(message);
  }

  static void exitWith(int code) {
    System.exit(code);
  }

  static void sleep(long millis) throws InterruptedException {
    Thread.sleep(millis);
  }

  @Test
  void start_targetReturns_exitCodeZeroAndParentIsUs() throws Exception {
    Path file = tmp.resolve("ppid");
    WorkerProcess p = WorkerProcess.start(WorkerProcessTest::writeParentPid, file.toString());
    assertNotEquals(ProcessHandle.current().pid(), p.pid());
    p.join();
    assertEquals(OptionalInt.of(0), p.exitCode());
    assertFalse(p.isAlive());
    assertEquals(Long.toString(ProcessHandle.current().pid()), Files.readString(file));
  }

  @Test
  void start_targetThrows_exitCodeOne() throws Exception {
    WorkerProcess p = WorkerProcess.start(WorkerProcessTest::fail, "expected failure (printed by a test)");
    assertTrue(p.join(Duration.ofSeconds(60)));
    assertEquals(OptionalInt.of(1), p.exitCode());
  }

  @Test
  void start_targetCallsSystemExit_exitCodeIsItsArgument() throws Exception {
    WorkerProcess p = WorkerProcess.start(WorkerProcessTest::exitWith, 5);
    p.join();
    assertEquals(OptionalInt.of(5), p.exitCode());
  }

  @Test
  void terminate_runningTarget_exitCode143() throws Exception {
    WorkerProcess p = WorkerProcess.start(WorkerProcessTest::sleep, 60_000L);
    assertTrue(p.isAlive());
    assertEquals(OptionalInt.empty(), p.exitCode());
    assertFalse(p.join(Duration.ofMillis(100)));
    p.terminate();
    assertTrue(p.join(Duration.ofSeconds(30)));
    assertEquals(OptionalInt.of(143), p.exitCode());
  }

  @Test
  void join_foreverTimeout_waitsForExitInsteadOfArithmeticException() throws Exception {
    WorkerProcess p = WorkerProcess.start(WorkerProcessTest::exitWith, 3);
    assertTrue(p.join(java.time.temporal.ChronoUnit.FOREVER.getDuration()));
    assertEquals(OptionalInt.of(3), p.exitCode());
  }

  @Test
  void start_javaCannotBeStarted_throwsAndLeavesNoDirectory() throws Exception {
    String before = System.getProperty("java.io.tmpdir");
    System.setProperty("java.io.tmpdir", tmp.toString());
    try {
      java.io.UncheckedIOException e =
          org.junit.jupiter.api.Assertions.assertThrows(
              java.io.UncheckedIOException.class,
              () -> WorkerProcess.start(WorkerProcessTest::exitWith, 0, tmp.resolve("no-such-java")));
      assertTrue(
          e.getMessage().startsWith("Cannot start a WorkerProcess JVM with " + tmp.resolve("no-such-java") + ": "),
          e.getMessage());
    } finally {
      System.setProperty("java.io.tmpdir", before);
    }
    try (var left = Files.list(tmp)) {
      assertEquals(List.of(), left.collect(java.util.stream.Collectors.toList()));
    }
  }

  @Test
  void kill_runningTarget_exitCode137() throws Exception {
    WorkerProcess p = WorkerProcess.start(WorkerProcessTest::sleep, 60_000L);
    p.kill();
    assertTrue(p.join(Duration.ofSeconds(30)));
    assertEquals(OptionalInt.of(137), p.exitCode());
  }
}
