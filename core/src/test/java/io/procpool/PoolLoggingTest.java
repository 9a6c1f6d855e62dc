package io.procpool;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Lifecycle events are logged once each, at a sensible level, naming the pool and the worker; and the
 * library prints nothing on this JVM's stdout or stderr. Logs go through System.Logger, which without a
 * bridge is java.util.logging: a handler on "io.procpool.Pool" records them here.
 */
class PoolLoggingTest {
  // JUL holds loggers weakly: keep ours, or its level and handler could be lost to GC.
  private static final Logger JUL = Logger.getLogger("io.procpool.Pool");

  @TempDir Path tmp;

  static final class Recording extends Handler {
    final List<LogRecord> records = Collections.synchronizedList(new ArrayList<>());

    @Override
    public void publish(LogRecord r) {
      records.add(r);
    }

    @Override
    public void flush() {}

    @Override
    public void close() {}

    /** The formatted messages at {@code level} that contain {@code text}. */
    List<String> at(Level level, String text) {
      synchronized (records) {
        return records.stream()
            .filter(r -> r.getLevel().equals(level))
            .map(r -> new java.util.logging.SimpleFormatter().formatMessage(r))
            .filter(m -> m.contains(text))
            .collect(Collectors.toList());
      }
    }

    String all() {
      synchronized (records) {
        return records.stream()
            .map(r -> r.getLevel() + " " + new java.util.logging.SimpleFormatter().formatMessage(r))
            .collect(Collectors.joining("\n"));
      }
    }
  }

  @Test
  void lifecycle_crashRetryTimeout_eachLoggedOnceWithPoolAndWorkerAndNothingPrinted() throws Exception {
    Logger.getLogger("").getHandlers(); // Initialise JUL's console handler on the real stderr first.
    Recording rec = new Recording();
    JUL.addHandler(rec);
    JUL.setLevel(Level.ALL);
    JUL.setUseParentHandlers(false);
    PrintStream stdout = System.out;
    PrintStream stderr = System.err;
    ByteArrayOutputStream printed = new ByteArrayOutputStream();
    PrintStream capture = new PrintStream(printed, true, UTF_8);
    System.setOut(capture);
    System.setErr(capture);
    long firstPid;
    try (Pool pool =
        Pool.builder()
            .workers(1)
            .name("logtest")
            .maxRetries(1)
            .taskTimeout(Duration.ofSeconds(2))
            .workerOutput(WorkerOutput.DISCARD)
            .build()) {
      firstPid = pool.workers().get(0).pid();
      // A crash that the retry survives: exit, retry, replacement.
      assertEquals("ok", pool.submit(Workers::crashOnce, tmp.resolve("crashed").toString()).get());
      // A timeout: the worker is killed and replaced.
      ExecutionException e = assertThrows(ExecutionException.class, () -> pool.submit(Workers::sleep, 60_000L).get());
      assertInstanceOf(TaskTimeoutException.class, e.getCause());
      assertEquals(7, pool.submit(Workers::identity, 7).get());
    } finally {
      System.setOut(stdout);
      System.setErr(stderr);
      JUL.removeHandler(rec);
      JUL.setUseParentHandlers(true);
      JUL.setLevel(null);
    }
    String log = rec.all();
    assertTrue(!log.contains("{0") && !log.contains("{1"), "a message that MessageFormat could not format:\n" + log);
    assertEquals(1, rec.at(Level.INFO, "logtest-").stream().filter(m -> m.contains(": ready, 1 worker(s) started in ")).count(), log);
    assertEquals(
        List.of("logtest-" + poolNumber(log) + ": worker 0 (pid " + firstPid + ") exited unexpectedly with code 9"),
        rec.at(Level.WARNING, "exited"),
        log);
    assertEquals(1, rec.at(Level.INFO, "retrying it (attempt 2 of 2)").size(), log);
    List<String> timeouts = rec.at(Level.WARNING, "ran for more than 2000 ms on worker 0");
    assertEquals(1, timeouts.size(), log);
    assertEquals(2, rec.at(Level.INFO, ": replacing worker 0 (pid ").size(), log);
    // The timed-out worker's exit is expected (the pool killed it, and said why): DEBUG, not a warning.
    assertEquals(1, rec.at(Level.FINE, "exited with code 137").size(), log);
    for (String m : rec.at(Level.INFO, "")) {
      assertTrue(m.startsWith("logtest-"), m);
    }
    assertEquals("", printed.toString(UTF_8));
  }

  private static String poolNumber(String log) {
    int i = log.indexOf("logtest-") + "logtest-".length();
    int j = i;
    while (Character.isDigit(log.charAt(j))) {
      j++;
    }
    return log.substring(i, j);
  }

  /**
   * An orderly close: each worker is closed by its parent's end of the stream and of its stdin pipe,
   * which it expects then (it stops watching the pipe before it exits); taking that end-of-file for its
   * parent's death would make it exit with 70 instead.
   */
  @Test
  void close_orderly_everyWorkerExitsWithCodeZero() throws Exception {
    Recording rec = new Recording();
    JUL.addHandler(rec);
    JUL.setLevel(Level.ALL);
    List<Long> pids = new ArrayList<>();
    try {
      for (int round = 0; round < 3; round++) {
        try (Pool pool = Pool.builder().name("exitcode").workers(2).workerOutput(WorkerOutput.DISCARD).build()) {
          assertEquals(List.of(2, 3), pool.map(Workers::identity, List.of(2, 3)));
          pool.workers().forEach(w -> pids.add(w.pid()));
        }
      }
    } finally {
      JUL.removeHandler(rec);
      JUL.setLevel(null);
    }
    List<String> exits = rec.at(Level.FINE, ") exited ");
    assertEquals(6, exits.size(), rec.all());
    for (String m : exits) {
      assertTrue(m.endsWith("exited with code 0"), m);
    }
    for (long pid : pids) {
      assertTrue(exits.stream().anyMatch(m -> m.contains("(pid " + pid + ")")), pid + " in " + exits);
    }
  }
}
