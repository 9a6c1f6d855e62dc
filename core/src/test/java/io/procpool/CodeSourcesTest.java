package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.internal.supervisor.WorkerClasspath;
import io.procpool.proto.v1.Bootstrap;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Where a parent's code can come from, with default settings and real worker JVMs: a relative class path
 * with another working directory for workers, and the module path. Each case runs a parent JVM of its
 * own, which prints its pool's results; the test waits for it to exit (and kills it if it does not).
 */
class CodeSourcesTest {
  @TempDir Path dir;

  /** This JVM's class path, absolute, with surefire's manifest-only booter jar resolved. */
  private static List<String> classPath() {
    return WorkerClasspath.detect(List.of(ClassLoader.getSystemClassLoader()), List.of()).entries();
  }

  @Test
  void relativeClassPath_withWorkersInAnotherWorkingDirectory_tasksRun() throws Exception {
    Path parentDir = Files.createDirectories(dir.resolve("parent"));
    Path workerDir = Files.createDirectories(dir.resolve("worker"));
    List<String> relative = new ArrayList<>();
    for (String e : classPath()) {
      relative.add(parentDir.relativize(Path.of(e)).toString());
    }
    assertTrue(relative.stream().noneMatch(e -> Path.of(e).isAbsolute()));
    List<String> out =
        runParent(
            parentDir,
            List.of("-cp", String.join(File.pathSeparator, relative), RelativeClasspathParent.class.getName(),
                workerDir.toString()));
    assertEquals(
        List.of("RESULT a-A in " + workerDir.toRealPath(), "RESULT bb-BB in " + workerDir.toRealPath()), out);
  }

  @Test
  void modulePath_namedModuleApp_capturingLambdaRunsInWorkers() throws Exception {
    Path mods = Files.createDirectories(dir.resolve("mods"));
    modulePath(mods);
    Path src = dir.resolve("src");
    Files.createDirectories(src.resolve("app"));
    Files.writeString(
        src.resolve("module-info.java"),
        "module app { requires io.procpool; requires com.google.common; }\n");
    Files.writeString(
        src.resolve("app/Main.java"),
        """
        package app;
        import com.google.common.base.Ascii;
        import io.procpool.Pool;
        import io.procpool.Task;
        import java.util.List;
        public final class Main {
          public static void main(String[] args) throws Exception {
            String suffix = args[0];
            long parent = ProcessHandle.current().pid();
            System.out.println("MODULE " + Main.class.getModule().getName());
            Task<String, String> t = s -> Ascii.toUpperCase(s) + suffix
                + (ProcessHandle.current().pid() != parent ? " in a worker" : " in the parent");
            try (Pool pool = Pool.builder().workers(2).build()) {
              for (String r : pool.map(t, List.of("a", "bb"))) {
                System.out.println("RESULT " + r);
              }
            }
          }
        }
        """);
    Path classes = dir.resolve("app-classes");
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    int rc =
        javac.run(null, null, null, "--module-path", mods.toString(), "-d", classes.toString(),
            src.resolve("module-info.java").toString(), src.resolve("app/Main.java").toString());
    assertEquals(0, rc, "javac of the app module");
    jar(classes, mods.resolve("app.jar"), null);
    List<String> out = runParent(dir, List.of("-p", mods.toString(), "-m", "app/app.Main", "!"));
    assertEquals(List.of("MODULE app", "RESULT A! in a worker", "RESULT BB! in a worker"), out);
  }

  /**
   * Fills {@code mods} with procpool and its runtime dependencies as modules: procpool's own classes
   * (directories in this build) jarred with their automatic module names; test libraries left out, and
   * Tomcat's annotations-api too, whose package javax.annotation is split with jsr305's (as any module
   * application must leave it out).
   */
  private static void modulePath(Path mods) throws IOException {
    Path core = codeSource(Pool.class);
    Path proto = codeSource(Bootstrap.class);
    for (String e : classPath()) {
      Path p = Path.of(e);
      String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
      if (p.equals(core) || p.equals(proto)) {
        String module = p.equals(core) ? "io.procpool" : "io.procpool.proto";
        if (Files.isDirectory(p)) {
          jar(p, mods.resolve(module + ".jar"), module);
        } else {
          Files.copy(p, mods.resolve(module + ".jar"));
        }
      } else if (Files.isRegularFile(p)
          && Stream.of("junit", "opentest4j", "apiguardian", "surefire", "annotations-api")
              .noneMatch(name::contains)) {
        Files.copy(p, mods.resolve(p.getFileName()));
      }
    }
  }

  private static Path codeSource(Class<?> c) {
    try {
      return Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI()).toAbsolutePath().normalize();
    } catch (java.net.URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void jar(Path classes, Path jar, String automaticModuleName) throws IOException {
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    if (automaticModuleName != null) {
      m.getMainAttributes().put(new Attributes.Name("Automatic-Module-Name"), automaticModuleName);
    }
    List<Path> files;
    try (Stream<Path> s = Files.walk(classes)) {
      files = s.filter(Files::isRegularFile).sorted().toList();
    }
    try (OutputStream o = Files.newOutputStream(jar);
        JarOutputStream j = new JarOutputStream(o, m)) {
      for (Path f : files) {
        String name = classes.relativize(f).toString().replace(File.separatorChar, '/');
        if (name.equals("META-INF/MANIFEST.MF")) {
          continue;
        }
        j.putNextEntry(new JarEntry(name));
        Files.copy(f, j);
        j.closeEntry();
      }
    }
  }

  /**
   * Runs {@code java args} in {@code cwd}, waits up to two minutes for it to exit with 0, and returns
   * the lines of its stdout that start with RESULT or MODULE.
   */
  private static List<String> runParent(Path cwd, List<String> args) throws Exception {
    List<String> cmd = new ArrayList<>();
    cmd.add(ProcessHandle.current().info().command().orElseThrow());
    // No CDS archive build in these short-lived parents: it is tested elsewhere, and costs a training run.
    cmd.add("-Dprocpool.cds=false");
    cmd.addAll(args);
    Path stdout = Files.createTempFile(cwd, "parent", ".out");
    Process p =
        new ProcessBuilder(cmd)
            .directory(cwd.toFile())
            .redirectOutput(stdout.toFile())
            .redirectError(ProcessBuilder.Redirect.INHERIT)
            .start();
    try {
      boolean exited = p.waitFor(2, TimeUnit.MINUTES);
      String out = Files.readString(stdout, StandardCharsets.UTF_8);
      assertTrue(exited, "the parent JVM did not exit within 2 minutes; its output:\n" + out);
      assertEquals(0, p.exitValue(), "the parent JVM's exit code; its output:\n" + out);
      return out.lines().filter(l -> l.startsWith("RESULT") || l.startsWith("MODULE")).toList();
    } finally {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
      p.waitFor();
    }
  }
}
