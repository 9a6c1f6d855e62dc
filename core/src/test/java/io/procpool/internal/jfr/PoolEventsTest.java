package io.procpool.internal.jfr;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.Pool;
import io.procpool.WorkerCrashedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import jdk.jfr.Recording;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingFile;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Records a small pool run with Flight Recorder in this JVM and reads the pool's events back. */
class PoolEventsTest {
  @TempDir Path tmp;

  static int square(int x) {
    return x * x;
  }

  static int fail(int x) {
    throw new IllegalStateException("no " + x);
  }

  static int halt(int code) {
    Runtime.getRuntime().halt(code);
    return -1;
  }

  @Test
  void recording_smallPoolRun_hasSubmitEndStartAndExitEventsWithFields() throws Exception {
    Path file = tmp.resolve("pool.jfr");
    long pid;
    long replacementPid;
    try (Recording recording = new Recording()) {
      for (String name : List.of("TaskSubmit", "TaskEnd", "WorkerStart", "WorkerExit")) {
        recording.enable("io.procpool." + name);
      }
      recording.start();
      try (Pool pool = Pool.builder().workers(1).name("jfrtest").build()) {
        pid = pool.workers().get(0).pid();
        assertEquals(9, pool.submit(PoolEventsTest::square, 3).get());
        assertEquals(16, pool.submit(PoolEventsTest::square, 4).get());
        assertThrows(ExecutionException.class, () -> pool.submit(PoolEventsTest::fail, 5).get());
        ExecutionException crash =
            assertThrows(ExecutionException.class, () -> pool.submit(PoolEventsTest::halt, 9).get());
        assertTrue(crash.getCause() instanceof WorkerCrashedException, crash.toString());
        // The replacement is ready once it has run a task.
        assertEquals(1, pool.submit(PoolEventsTest::square, 1).get());
        replacementPid = pool.workers().get(0).pid();
      }
      recording.stop();
      recording.dump(file);
    }
    List<RecordedEvent> events =
        RecordingFile.readAllEvents(file).stream()
            .filter(e -> e.getString("pool").startsWith("jfrtest-"))
            .collect(Collectors.toList());
    Map<String, List<RecordedEvent>> byType =
        events.stream().collect(Collectors.groupingBy(e -> e.getEventType().getName()));

    assertEquals(5, byType.get("io.procpool.TaskSubmit").size(), events::toString);
    for (RecordedEvent e : byType.get("io.procpool.TaskSubmit")) {
      assertTrue(e.getString("task").contains("square") || e.getString("task").contains("fail")
          || e.getString("task").contains("halt"), e::toString);
      assertEquals(1, e.getInt("inputs"));
    }

    List<RecordedEvent> ends = byType.get("io.procpool.TaskEnd");
    assertEquals(5, ends.size(), events::toString);
    Map<String, Long> outcomes =
        ends.stream().collect(Collectors.groupingBy(e -> e.getString("outcome"), Collectors.counting()));
    assertEquals(Map.of("SUCCEEDED", 3L, "FAILED", 1L, "CRASHED", 1L), outcomes);
    RecordedEvent crashed =
        ends.stream().filter(e -> e.getString("outcome").equals("CRASHED")).findFirst().orElseThrow();
    assertEquals(pid, crashed.getLong("pid"));
    assertEquals(0, crashed.getInt("workerIndex"));
    for (RecordedEvent e : ends) {
      assertTrue(e.getDuration("runTime").compareTo(Duration.ofMinutes(1)) < 0, e::toString);
    }

    List<RecordedEvent> starts = byType.get("io.procpool.WorkerStart");
    assertEquals(List.of(pid, replacementPid), starts.stream().map(e -> e.getLong("pid")).collect(Collectors.toList()));
    assertTrue(starts.get(0).getDuration("startupTime").compareTo(Duration.ZERO) > 0);

    List<RecordedEvent> exits = byType.get("io.procpool.WorkerExit");
    assertEquals(2, exits.size(), exits::toString);
    RecordedEvent first = exits.get(0);
    assertEquals(pid, first.getLong("pid"));
    assertEquals(9, first.getInt("exitCode"));
    assertFalse(first.getBoolean("expected"));
    RecordedEvent second = exits.get(1);
    assertEquals(replacementPid, second.getLong("pid"));
    // Told to exit by close(). Regression: the parent's answer to the worker's half-close used to be
    // taken for the parent's death, and an orderly exit sometimes reported 70.
    assertEquals(0, second.getInt("exitCode"), second::toString);
    assertTrue(second.getBoolean("expected"));
    assertEquals(1, second.getLong("tasksCompleted"));
  }
}
