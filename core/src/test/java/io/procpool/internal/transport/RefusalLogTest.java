package io.procpool.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.System.Logger.Level;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class RefusalLogTest {
  @Test
  void refusals_floodWithinInterval_oneWarningThenDebugThenSummary() {
    RecordingLogger log = new RecordingLogger();
    AtomicLong now = new AtomicLong(1_000);
    RefusalLog refusals = new RefusalLog(log, 60, now::get);
    for (int i = 0; i < 5; i++) {
      refusals.refused("connection from /127.0.0.1:" + i, "wrong secret");
      now.addAndGet(10);
    }
    now.addAndGet(60);
    refusals.refused("connection from /127.0.0.1:9", "wrong secret");
    assertEquals(
        List.of(
            new RecordingLogger.Line(Level.WARNING, "Refused a worker connection from /127.0.0.1:0: wrong secret"),
            new RecordingLogger.Line(Level.DEBUG, "Refused a worker connection from /127.0.0.1:1: wrong secret"),
            new RecordingLogger.Line(Level.DEBUG, "Refused a worker connection from /127.0.0.1:2: wrong secret"),
            new RecordingLogger.Line(Level.DEBUG, "Refused a worker connection from /127.0.0.1:3: wrong secret"),
            new RecordingLogger.Line(Level.DEBUG, "Refused a worker connection from /127.0.0.1:4: wrong secret"),
            new RecordingLogger.Line(
                Level.WARNING,
                "Refused a worker connection from /127.0.0.1:9: wrong secret"
                    + " (4 more refused since the last warning, logged at DEBUG)")),
        log.lines);
  }
}
