package io.procpool.internal.codec;

import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Pattern;

/**
 * Warns, once per lambda, when a task defined in jshell reads a top-level jshell variable. jshell keeps
 * such a variable in a static field of a wrapper class ({@code REPL.$JShell$12.n}) and sets it by running
 * the snippet in its own JVM; a worker loads the wrapper class afresh, so the field holds its default
 * value there (0, null, false) and the task computes with it, silently.
 *
 * <p>How: the lambda's {@code writeReplace} gives its implementation method; that method's bytecode,
 * from the jshell loader's class file, is scanned for reads of static fields of wrapper classes (the
 * top-level {@code REPL.$JShell$N} classes, not classes declared in snippets), following calls to
 * static methods of snippets a few levels deep. Rejected: failing the submit, since a task may read such
 * a variable only on a path it never takes; and warning on every submit, which would drown a loop.
 *
 * <p>Cost outside jshell: one {@code String.startsWith} per encoded function.
 */
final class JShellTrap {
  /** A top-level wrapper class of jshell snippets, internal form. */
  private static final Pattern WRAPPER = Pattern.compile("REPL/\\$JShell\\$\\d+");
  private static final int MAX_DEPTH = 4;

  private static final ClassValue<AtomicBoolean> CHECKED =
      new ClassValue<>() {
        @Override
        protected AtomicBoolean computeValue(Class<?> c) {
          return new AtomicBoolean();
        }
      };

  private JShellTrap() {}

  /**
   * Logs a warning through {@code log} the first time a lambda of {@code function}'s class is encoded,
   * if it reads top-level jshell variables; {@code description} names the task.
   */
  static void check(Object function, String description, System.Logger log) {
    Class<?> c = function.getClass();
    if (!c.getName().startsWith("REPL.") || !CHECKED.get(c).compareAndSet(false, true)) {
      return;
    }
    List<String> reads = variablesRead(function);
    if (!reads.isEmpty()) {
      log.log(System.Logger.Level.WARNING, message(description, reads));
    }
  }

  static String message(String description, List<String> reads) {
    return "task " + description + " reads top-level jshell variable" + (reads.size() == 1 ? " " : "s ")
        + String.join(", ", reads) + ". In a worker " + (reads.size() == 1 ? "it holds its" : "they hold their")
        + " default value (0, null or false), not the value shown here: jshell keeps top-level variables"
        + " in static fields that only its own JVM sets. Hand the value to the task instead, through a local"
        + " variable or a parameter it captures, e.g. Task<Integer, Integer> times(int k) { return x -> x * k; }"
        + " and then pool.map(times(n), inputs)";
  }

  /**
   * The top-level jshell variables {@code function} reads, as {@code name (REPL.$JShell$11)}; empty if
   * none, or if {@code function} is not a serializable lambda whose code can be read.
   */
  static List<String> variablesRead(Object function) {
    SerializedLambda lambda;
    try {
      Method m = function.getClass().getDeclaredMethod("writeReplace");
      m.setAccessible(true);
      if (!(m.invoke(function) instanceof SerializedLambda s)) {
        return List.of();
      }
      lambda = s;
    } catch (ReflectiveOperationException | RuntimeException e) {
      return List.of(); // Not a serializable lambda, or one we may not look into.
    }
    Set<String> reads = new LinkedHashSet<>();
    scan(function.getClass().getClassLoader(), lambda.getImplClass(), lambda.getImplMethodName(),
        lambda.getImplMethodSignature(), reads, new HashSet<>(), 0);
    return new ArrayList<>(reads);
  }

  private static void scan(
      ClassLoader loader, String owner, String method, String descriptor, Set<String> reads,
      Set<String> visited, int depth) {
    if (!owner.startsWith("REPL/") || !visited.add(owner + "." + method + descriptor) || loader == null) {
      return;
    }
    byte[] bytes = ClassFiles.read(loader, owner + ".class");
    if (bytes == null) {
      return;
    }
    try {
      ClassFileReader reader = new ClassFileReader(bytes);
      for (ClassFileReader.Member f : reader.staticReads(method, descriptor)) {
        if (WRAPPER.matcher(f.owner()).matches()) {
          reads.add(f.name() + " (" + f.owner().replace('/', '.') + ")");
        }
      }
      if (depth < MAX_DEPTH) {
        for (ClassFileReader.Member m : reader.staticCalls(method, descriptor)) {
          scan(loader, m.owner(), m.name(), m.descriptor(), reads, visited, depth + 1);
        }
      }
    } catch (RuntimeException e) {
      // Bytes this reader does not understand: nothing to warn about.
    }
  }
}
