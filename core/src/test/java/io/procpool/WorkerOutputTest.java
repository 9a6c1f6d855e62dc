package io.procpool;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** WorkerOutput.CAPTURE: what tasks print, beside their results and attached to their failures. */
class WorkerOutputTest {
  static Pool pool;

  @BeforeAll
  static void start() {
    pool =
        Pool.builder()
            .workers(1)
            .workerOutput(WorkerOutput.CAPTURE)
            .taskTimeout(Duration.ofSeconds(3))
            .build();
  }

  @AfterAll
  static void stop() {
    pool.close();
  }

  static int chatty(int x) {
    System.out.println("out " + x);
    System.err.println("err " + x);
    return x * 10;
  }

  static int printThenThrow(int x) {
    System.out.println("about to fail on " + x);
    throw new IllegalStateException("failed on " + x);
  }

  static int printThenHalt(int x) {
    System.out.println("last words before halt " + x);
    System.out.flush();
    Runtime.getRuntime().halt(x);
    return -1;
  }

  static int printThenHang(int x) throws InterruptedException {
    System.err.println("stuck at " + x);
    Thread.sleep(60_000);
    return x;
  }

  static int printAndFailOn3(int x) {
    System.out.println("item " + x);
    if (x == 3) {
      throw new IllegalArgumentException("item 3 is bad");
    }
    return x;
  }

  @Test
  void submitCaptured_taskPrints_outputBesideResultAndNotOnParentStreams() throws Exception {
    PrintStream stdout = System.out;
    ByteArrayOutputStream parent = new ByteArrayOutputStream();
    System.setOut(new PrintStream(parent, true, UTF_8));
    Captured<Integer> c;
    try {
      c = pool.submitCaptured(WorkerOutputTest::chatty, 4).get();
    } finally {
      System.setOut(stdout);
    }
    String nl = System.lineSeparator();
    assertEquals(40, c.value());
    assertEquals(new TaskOutput("out 4" + nl, "err 4" + nl, false), c.output());
    assertEquals("", parent.toString(UTF_8));
  }

  @Test
  void submitCaptured_twoTasks_eachHasOnlyItsOwnOutput() throws Exception {
    Captured<Integer> first = pool.submitCaptured(WorkerOutputTest::chatty, 1).get();
    Captured<Integer> second = pool.submitCaptured(WorkerOutputTest::chatty, 2).get();
    assertEquals("out 1" + System.lineSeparator(), first.output().stdout());
    assertEquals("out 2" + System.lineSeparator(), second.output().stdout());
  }

  @Test
  void capture_taskThrows_outputAttachedToFailureAndShownInStackTrace() {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> pool.submit(WorkerOutputTest::printThenThrow, 7).get());
    assertInstanceOf(IllegalStateException.class, e.getCause());
    assertEquals("about to fail on 7" + System.lineSeparator(), TaskOutput.of(e).orElseThrow().stdout());
    StringWriter trace = new StringWriter();
    e.getCause().printStackTrace(new PrintWriter(trace));
    assertTrue(trace.toString().contains("Suppressed: io.procpool.CapturedOutputException: what the task printed last"), trace::toString);
    assertTrue(trace.toString().contains("| about to fail on 7"), trace::toString);
  }

  @Test
  void capture_mapChunkFails_failureCarriesWhatTheChunkPrinted() {
    ExecutionException e =
        assertThrows(
            ExecutionException.class,
            () -> pool.map(WorkerOutputTest::printAndFailOn3, List.of(1, 2, 3, 4)));
    assertEquals("item 3 is bad", e.getCause().getMessage());
    assertTrue(TaskOutput.of(e).orElseThrow().stdout().contains("item 3"), e::toString);
  }

  @Test
  void capture_workerCrashes_tailOfItsOutputAttachedToCrash() {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> pool.submit(WorkerOutputTest::printThenHalt, 3).get());
    WorkerCrashedException crash = assertInstanceOf(WorkerCrashedException.class, e.getCause());
    assertEquals(3, crash.exitCode());
    assertEquals("last words before halt 3" + System.lineSeparator(), TaskOutput.of(crash).orElseThrow().stdout());
  }

  @Test
  void capture_taskTimesOut_tailOfItsOutputAttachedToTimeout() {
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> pool.submit(WorkerOutputTest::printThenHang, 5).get());
    assertInstanceOf(TaskTimeoutException.class, e.getCause());
    TaskOutput out = TaskOutput.of(e).orElseThrow();
    assertEquals("stuck at 5" + System.lineSeparator(), out.stderr());
    assertFalse(out.truncated());
  }

  @Test
  void replacedWorker_captureFiles_areDeleted(@org.junit.jupiter.api.io.TempDir java.nio.file.Path tmpdir)
      throws Exception {
    String before = System.getProperty("java.io.tmpdir");
    System.setProperty("java.io.tmpdir", tmpdir.toString());
    Pool own;
    try {
      own = Pool.builder().workers(1).workerOutput(WorkerOutput.CAPTURE).build();
    } finally {
      System.setProperty("java.io.tmpdir", before);
    }
    try (Pool p = own) {
      java.nio.file.Path dir;
      try (java.util.stream.Stream<java.nio.file.Path> dirs = java.nio.file.Files.list(tmpdir)) {
        dir = dirs.filter(d -> d.getFileName().toString().startsWith("procpool-")).findFirst().orElseThrow();
      }
      assertEquals(10, p.submitCaptured(WorkerOutputTest::chatty, 1).get().value());
      java.nio.file.Path firstOut = dir.resolve("worker-1.stdout");
      assertTrue(java.nio.file.Files.exists(firstOut), "the first worker's capture file");
      long pid = p.workers().get(0).pid();
      ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly);
      Conditions.await("a replacement worker", Duration.ofSeconds(30),
          () -> p.workers().get(0).pid() != pid && p.workers().get(0).isAlive());
      assertEquals(20, p.submitCaptured(WorkerOutputTest::chatty, 2).get().value());
      Conditions.await("the dead worker's capture files deleted", Duration.ofSeconds(10),
          () -> !java.nio.file.Files.exists(firstOut)
              && !java.nio.file.Files.exists(dir.resolve("worker-1.stderr"))
              && !java.nio.file.Files.exists(dir.resolve("worker-1.status")));
      assertTrue(java.nio.file.Files.exists(dir.resolve("worker-2.stdout")), "the replacement's are kept");
    }
  }
}
