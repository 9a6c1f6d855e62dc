package io.procpool;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Worker configuration a user sets on the builder: javaHome, classpath, the name prefix (thread names,
 * output prefixes), and WorkerOutput.PREFIX; one pool of one worker for all of them.
 */
class WorkerConfigurationTest {
  static final String MARKER = "procpool-classpath-marker.txt";

  @TempDir static Path extraClasspath;

  static Pool pool;
  static long pid;

  @BeforeAll
  static void start() throws Exception {
    Files.writeString(extraClasspath.resolve(MARKER), "only the workers see this");
    pool =
        Pool.builder()
            .workers(1)
            .name("cfgtest")
            .javaHome(Path.of(System.getProperty("java.home")))
            .classpath(System.getProperty("java.class.path") + File.pathSeparator + extraClasspath)
            .workerOutput(WorkerOutput.PREFIX)
            .build();
    pid = pool.workers().get(0).pid();
  }

  @AfterAll
  static void stop() {
    pool.close();
  }

  static String threadName(Object ignored) {
    return Thread.currentThread().getName();
  }

  static String javaCommand(Object ignored) {
    return ProcessHandle.current().info().command().orElse("?");
  }

  static boolean seesMarker(Object ignored) {
    return ClassLoader.getSystemResource(MARKER) != null;
  }

  static int print(int x) {
    System.out.println("hello " + x);
    System.out.print("no newline, ");
    System.out.println("then one");
    System.err.println("warning " + x);
    return x;
  }

  @Test
  void name_prefixesWorkerTaskThreadName() throws Exception {
    String name = pool.submit(WorkerConfigurationTest::threadName, "").get();
    assertTrue(name.matches("cfgtest-\\d+-w0-task"), name);
  }

  @Test
  void javaHome_workersRunThatJava() throws Exception {
    Path expected = Path.of(System.getProperty("java.home"), "bin", "java").toRealPath();
    assertEquals(expected, Path.of(pool.submit(WorkerConfigurationTest::javaCommand, "").get()).toRealPath());
  }

  @Test
  void classpath_extraEntry_reachesWorkersOnly() throws Exception {
    assertTrue(pool.submit(WorkerConfigurationTest::seesMarker, "").get());
    assertNull(ClassLoader.getSystemResource(MARKER));
  }

  @Test
  void prefix_workerPrints_eachLineOnParentStreamsWithNameIndexAndPid() throws Exception {
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    System.setOut(new PrintStream(out, true, UTF_8));
    System.setErr(new PrintStream(err, true, UTF_8));
    String nl = System.lineSeparator();
    String prefix = "[cfgtest-w0 " + pid + "] ";
    try {
      assertEquals(8, pool.submit(WorkerConfigurationTest::print, 8).get());
      Conditions.await("both lines on stdout", Duration.ofSeconds(10), () -> out.toString(UTF_8).contains("then one"));
      Conditions.await("the line on stderr", Duration.ofSeconds(10), () -> err.toString(UTF_8).contains("warning"));
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
    }
    assertEquals(prefix + "hello 8" + nl + prefix + "no newline, then one" + nl, out.toString(UTF_8));
    assertEquals(prefix + "warning 8" + nl, err.toString(UTF_8));
  }

  @Test
  void prefix_pumpThreads_areDaemonsNamedAfterPoolAndWorker() {
    long pumps =
        Thread.getAllStackTraces().keySet().stream()
            .filter(t -> t.getName().matches("cfgtest-\\d+-w0-std(out|err)"))
            .peek(t -> assertTrue(t.isDaemon(), t::toString))
            .count();
    assertEquals(2, pumps);
  }

  @Test
  void submitCaptured_poolWithoutCapture_throwsIllegalState() {
    IllegalStateException e =
        assertThrows(IllegalStateException.class, () -> pool.submitCaptured(WorkerConfigurationTest::print, 1));
    assertTrue(e.getMessage().endsWith("does not capture output: build it with workerOutput(WorkerOutput.CAPTURE)"
        + " to use submitCaptured"), e.getMessage());
  }
}
