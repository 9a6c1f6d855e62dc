package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JDK's own jshell, run as a user would, with procpool on its class path: a record and capturing
 * lambdas defined in snippets run in real worker JVMs, which get their classes from jshell's JVM.
 */
class JShellTest {
  /** The script of the README's "jshell" section. */
  static final String SCRIPT = """
      import io.procpool.*;
      import java.util.List;
      record Point(int x, int y) implements java.io.Serializable {}
      var pool = Pool.builder().workers(2).build();
      Task<Integer, Point> square = i -> new Point(i, i * i);
      System.out.println("points " + pool.map(square, List.of(1, 2, 3)));
      int base = 10;
      Task<Integer, Integer> trap = i -> i + base;
      System.out.println("trap " + pool.map(trap, List.of(1, 2, 3)));
      Task<Integer, Integer> plus(int k) { return i -> i + k; }
      System.out.println("fix " + pool.map(plus(base), List.of(1, 2, 3)));
      pool.close();
      /exit
      """;

  @TempDir Path tmp;

  @Test
  void jshellScript_recordAndLambdasOfSnippets_runInWorkersAndTheVariableTrapIsWarnedOf() throws Exception {
    Path jshell = Path.of(System.getProperty("java.home"), "bin", "jshell");
    assumeTrue(Files.isExecutable(jshell), "this JDK has no jshell");
    Path script = Files.writeString(tmp.resolve("pool.jsh"), SCRIPT);
    Path output = tmp.resolve("output.txt");
    Process p = new ProcessBuilder(jshell.toString(), "--class-path", classPath(), script.toString())
        .redirectErrorStream(true)
        .redirectOutput(output.toFile())
        .redirectInput(ProcessBuilder.Redirect.PIPE)
        .start();
    String printed;
    try {
      boolean exited = p.waitFor(4, TimeUnit.MINUTES);
      printed = Files.readString(output);
      assertTrue(exited, "jshell did not exit within 4 minutes:\n" + printed);
    } finally {
      // On failure, jshell's execution JVM and its workers go with it.
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }

    List<String> lines = printed.lines().collect(Collectors.toList());
    assertEquals(0, p.exitValue(), printed);
    assertTrue(lines.contains("points [Point[x=1, y=1], Point[x=2, y=4], Point[x=3, y=9]]"), printed);
    // The trap: in the workers, base is 0.
    assertTrue(lines.contains("trap [1, 2, 3]"), printed);
    assertTrue(printed.contains("WARNING: task lambda in jshell reads top-level jshell variable base (REPL.$JShell$"),
        printed);
    // The fix: base passed as a parameter, which the lambda captures.
    assertTrue(lines.contains("fix [11, 12, 13]"), printed);
  }

  /**
   * This JVM's class path as files: surefire may start tests with one jar whose manifest names the rest,
   * which jshell's compiler would not look into.
   */
  static String classPath() throws IOException {
    Set<String> entries = new LinkedHashSet<>();
    for (String e : System.getProperty("java.class.path").split(File.pathSeparator, -1)) {
      entries.addAll(expand(Path.of(e)));
    }
    return String.join(File.pathSeparator, entries);
  }

  private static List<String> expand(Path entry) throws IOException {
    List<String> out = new ArrayList<>();
    out.add(entry.toString());
    if (Files.isRegularFile(entry) && entry.toString().endsWith(".jar")) {
      try (JarFile jar = new JarFile(entry.toFile())) {
        Manifest m = jar.getManifest();
        String cp = m == null ? null : m.getMainAttributes().getValue("Class-Path");
        if (cp != null && !cp.isBlank()) {
          for (String url : cp.trim().split("\\s+", -1)) {
            try {
              out.add(Path.of(entry.toUri().resolve(url)).toString());
            } catch (IllegalArgumentException e) {
              // Not a file URL: nothing jshell could use.
            }
          }
        }
      }
    }
    return out;
  }
}
