package io.procpool.examples.bootbatch;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Runs the repackaged fat jar as a user would, {@code java -jar job.jar 2}, with real worker JVMs, and
 * checks what it printed. Runs after the package phase (see the parent POM), once per Boot version.
 */
class BatchJobFatJarTest {
  @TempDir Path dir;

  @Test
  void fatJar_javaDashJar_pricesEveryLineInWorkersThroughBootsLoader() throws Exception {
    Path jar = Path.of(System.getProperty("boot.jar"));
    assertTrue(Files.isRegularFile(jar), "no fat jar at " + jar + "; was it repackaged?");
    String java = ProcessHandle.current().info().command().orElseThrow();
    Path stdout = dir.resolve("job.out");
    // Started in an empty directory: nothing but the jar can supply the job's classes.
    Process job =
        new ProcessBuilder(java, "-jar", jar.toString(), "2")
            .directory(dir.toFile())
            .redirectOutput(stdout.toFile())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    try {
      boolean exited = job.waitFor(3, TimeUnit.MINUTES);
      String out = Files.readString(stdout, UTF_8);
      assertTrue(exited, "the job did not finish within 3 minutes; it printed:\n" + out);
      assertEquals(0, job.exitValue(), "the job's exit code; it printed:\n" + out);
      List<String> lines = out.lines().toList();
      assertEquals(
          List.of(
              "order-1 9.00",
              "order-2 23.99",
              "order-3 10.80",
              "order-4 288.00",
              "order-5 26.04",
              "order-6 48.00",
              "total 405.83"),
          lines.stream().filter(l -> l.startsWith("order-") || l.startsWith("total ")).map(l -> l.replaceAll(" sha256:.*", "")).toList(),
          out);
      assertTrue(lines.contains("order-1 9.00 sha256:" + sha256("order-1, 3, 2.50")), out);
      Matcher pids = Pattern.compile("parent pid (\\d+), worker pids \\[([\\d, ]+)\\]").matcher(out);
      assertTrue(pids.find(), out);
      for (String pid : pids.group(2).split(", ", -1)) {
        assertNotEquals(pids.group(1), pid, "a line was priced in the parent:\n" + out);
      }
      assertTrue(
          lines.contains("job classes loaded in the workers by [" + System.getProperty("boot.loader") + "]"), out);
    } finally {
      job.descendants().forEach(ProcessHandle::destroyForcibly);
      job.destroyForcibly();
      job.waitFor();
    }
  }

  private static String sha256(String s) {
    return com.google.common.hash.Hashing.sha256().hashString(s, UTF_8).toString().substring(0, 12);
  }
}
