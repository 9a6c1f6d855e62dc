package io.procpool;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Classes compiled while a test runs, into a directory of their own that no class path names: what a
 * plug-in's class loader or jshell gives a pool. Their sources may use procpool's API.
 */
public final class CompiledClasses {
  private CompiledClasses() {}

  /**
   * Compiles {@code sources} (binary class name of each top-level class to its source) into {@code dir},
   * with procpool's classes on the compiler's class path; returns {@code dir}.
   */
  public static Path compile(Path dir, Map<String, String> sources) {
    try {
      Path src = Files.createDirectories(dir.resolve("src"));
      Path out = Files.createDirectories(dir.resolve("classes"));
      List<String> args = new ArrayList<>(List.of("-d", out.toString(), "-classpath", procpoolClasses(),
          "-proc:none", "-nowarn"));
      for (Map.Entry<String, String> e : sources.entrySet()) {
        Path file = src.resolve(e.getKey().replace('.', File.separatorChar) + ".java");
        Files.createDirectories(file.getParent());
        Files.writeString(file, e.getValue());
        args.add(file.toString());
      }
      JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
      java.io.ByteArrayOutputStream errors = new java.io.ByteArrayOutputStream();
      int code = javac.run(null, errors, errors, args.toArray(new String[0]));
      if (code != 0) {
        throw new AssertionError("javac failed with " + code + " on " + sources.keySet() + ":\n" + errors);
      }
      return out;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** A loader of the classes in {@code classes}, whose parent is procpool's own loader. */
  public static URLClassLoader loader(Path classes) {
    try {
      return new URLClassLoader("plugin", new URL[] {classes.toUri().toURL()}, Pool.class.getClassLoader());
    } catch (MalformedURLException e) {
      throw new AssertionError(e);
    }
  }

  /** Where procpool's API classes are: a directory in a reactor build, a jar otherwise. */
  static String procpoolClasses() {
    try {
      return Path.of(Pool.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
    } catch (java.net.URISyntaxException e) {
      throw new AssertionError(e);
    }
  }
}
