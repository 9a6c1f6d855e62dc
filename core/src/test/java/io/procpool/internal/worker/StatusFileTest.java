package io.procpool.internal.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StatusFileTest {
  @TempDir Path tmp;

  @Test
  void beginAndEnd_seenThroughAnotherMapping() throws Exception {
    Path p = tmp.resolve("w.status");
    try (StatusFile parent = StatusFile.create(p); StatusFile worker = StatusFile.open(p)) {
      assertEquals(new StatusFile.Snapshot(0, 0, 0), parent.read());
      worker.begin(42, 1234);
      assertEquals(new StatusFile.Snapshot(42, 1234, 1), parent.read());
      worker.end();
      assertEquals(0, parent.read().taskId());
      assertEquals(1, parent.read().begun(), "a finished task stays counted as begun");
      worker.begin(43, 1300);
      assertEquals(new StatusFile.Snapshot(43, 1300, 2), parent.read());
    }
    assertFalse(Files.exists(p));
  }
}
