package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/**
 * {@link Pool#common()} in a JVM of its own (so its workers, which live until that JVM exits, are
 * cleaned up with it), and the parsing of its system properties.
 */
class CommonPoolTest {
  @Test
  void commonPool_usedAndNeverClosed_startsOnDemandIgnoresShutdownRetiresIdleWorkersAndLetsTheJvmExit()
      throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> cmd = List.of(java, "-cp", System.getProperty("java.class.path"),
        "-Dprocpool.common.workers=2", "-Dprocpool.common.idleTimeout=1s", CommonPoolParent.class.getName());
    Process parent = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    List<Long> workerPids = new ArrayList<>();
    try {
      String out = new String(parent.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(parent.waitFor(60, TimeUnit.SECONDS), "the JVM exits with the common pool never closed");
      assertEquals(0, parent.exitValue(), out);
      List<String> lines = out.lines().collect(Collectors.toList());
      assertEquals("SAME true", lines.get(0));
      assertEquals("WORKERS-BEFORE 0", lines.get(1), "no worker before the first task");
      workerPids.add(Long.parseLong(lines.get(2).substring("FIRST ".length())));
      assertEquals("SHUTDOWN false false", lines.get(3), "shutdown, shutdownNow and close have no effect");
      assertEquals("JOIN Pool.common() is never shut down: join() would wait until this JVM exits", lines.get(4));
      assertEquals("IDLE-EXITED", lines.get(5));
      String[] map = lines.get(6).split(" ", -1);
      assertEquals("200", map[1], "the pool works after its idle worker exited");
      Arrays.stream(map, 2, map.length).map(Long::parseLong).forEach(workerPids::add);
      assertFalse(workerPids.subList(1, workerPids.size()).contains(workerPids.get(0)),
          "the map ran on workers started after the idle one exited");
      assertTrue(workerPids.size() - 1 <= 2, "at most procpool.common.workers workers: " + workerPids);
    } finally {
      parent.destroyForcibly();
      Conditions.await("the common pool's workers to be gone with their JVM", Duration.ofSeconds(20),
          () -> workerPids.stream().noneMatch(p -> ProcessHandle.of(p).map(ProcessHandle::isAlive).orElse(false)));
    }
  }

  @Test
  void workersProperty_unsetOrPositive_givesTheNumber() {
    assertEquals(Runtime.getRuntime().availableProcessors(), CommonPool.workers(null));
    assertEquals(3, CommonPool.workers(" 3 "));
  }

  @Test
  void workersProperty_zeroOrNotANumber_throwsNamingThePropertyAndValue() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CommonPool.workers("two"));
    assertEquals("System property procpool.common.workers must be a whole number of workers, at least 1, but is "
        + "\"two\"", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> CommonPool.workers("0"));
  }

  @Test
  void idleTimeoutProperty_shortFormsAndIso_parse() {
    assertEquals(Duration.ofSeconds(60), CommonPool.idleTimeout(null));
    assertEquals(Duration.ofMillis(500), CommonPool.idleTimeout("500ms"));
    assertEquals(Duration.ofSeconds(30), CommonPool.idleTimeout("30s"));
    assertEquals(Duration.ofMinutes(5), CommonPool.idleTimeout("5m"));
    assertEquals(Duration.ofHours(1), CommonPool.idleTimeout("1h"));
    assertEquals(Duration.ofMinutes(1), CommonPool.idleTimeout("PT1M"));
  }

  @Test
  void idleTimeoutProperty_zeroNegativeOrGarbage_throwsNamingThePropertyAndValue() {
    for (String bad : new String[] {"0s", "-5s", "PT-1S", "soon", "5 parsecs"}) {
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CommonPool.idleTimeout(bad));
      assertEquals("System property procpool.common.idleTimeout must be a positive duration such as 500ms, 30s, "
          + "5m, 1h or PT1M, but is \"" + bad + "\"", e.getMessage());
    }
  }

}
