package io.procpool.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WorkerAgentTest {
  @Test
  void agent_withoutBootstrap_exitsWithCode66AndSaysWhy() throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Process p =
        new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), WorkerAgent.class.getName())
            .redirectErrorStream(true)
            .start();
    p.getOutputStream().close();
    try {
      assertTrue(p.waitFor(60, TimeUnit.SECONDS));
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(66, p.exitValue(), out);
      assertTrue(out.contains("no bootstrap on stdin"), out);
    } finally {
      p.destroyForcibly();
    }
  }
}
