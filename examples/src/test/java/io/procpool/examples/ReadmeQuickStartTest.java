package io.procpool.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's quick start, taken from README.md as it stands, compiles and prints what it says. */
class ReadmeQuickStartTest {
  @TempDir Path tmp;

  /** The first java block after the "## Quick start" heading. */
  static String quickStart(String readme) {
    int at = readme.indexOf("\n## Quick start\n");
    assertTrue(at >= 0, "README.md has a Quick start section");
    Matcher m = Pattern.compile("```java\n(.*?)```", Pattern.DOTALL).matcher(readme);
    assertTrue(m.find(at), "the Quick start section has a java block");
    return m.group(1);
  }

  @Test
  void quickStart_asWritten_compilesRunsAndPrintsWhatItsCommentSays() throws Exception {
    String source = quickStart(Files.readString(Path.of("..", "README.md"), UTF_8));
    Path file = tmp.resolve("QuickStart.java");
    Files.writeString(file, source, UTF_8);
    String classpath = System.getProperty("java.class.path");
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    ByteArrayOutputStream diagnostics = new ByteArrayOutputStream();
    int rc = javac.run(null, diagnostics, diagnostics, "-cp", classpath, "-d", tmp.toString(), file.toString());
    assertEquals(0, rc, "javac: " + diagnostics.toString(UTF_8));

    String java = ProcessHandle.current().info().command().orElseThrow();
    Path argfile = tmp.resolve("cp.args");
    Files.writeString(argfile, "-cp\n\"" + (tmp + File.pathSeparator + classpath).replace("\\", "\\\\") + "\"\n", UTF_8);
    Process p = new ProcessBuilder(java, "@" + argfile, "QuickStart").redirectError(ProcessBuilder.Redirect.INHERIT).start();
    try {
      String out = new String(p.getInputStream().readAllBytes(), UTF_8);
      assertTrue(p.waitFor(120, TimeUnit.SECONDS));
      assertEquals(0, p.exitValue(), out);
      List<String> lines = out.lines().collect(Collectors.toList());
      assertEquals(List.of("4", "25", "168", "1229", "9592", "78498", "78498 [9592, 17984, 25997]"), lines);
    } finally {
      p.destroyForcibly();
      p.waitFor(30, TimeUnit.SECONDS);
    }
  }
}
