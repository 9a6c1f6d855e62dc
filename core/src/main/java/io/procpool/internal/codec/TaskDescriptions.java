package io.procpool.internal.codec;

import java.lang.invoke.SerializedLambda;
import java.lang.reflect.Method;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Human-readable names for task functions, for error messages and logs: {@code Primes::count} for a method
 * reference, {@code lambda in Example.main} for a lambda, the class name otherwise.
 */
public final class TaskDescriptions {
  private static final ConcurrentHashMap<Class<?>, String> CACHE = new ConcurrentHashMap<>();
  /** A class of a jshell snippet: a wrapper {@code REPL/$JShell$12}, or a class declared in it. */
  private static final java.util.regex.Pattern JSHELL_WRAPPER =
      java.util.regex.Pattern.compile("REPL/\\$JShell\\$\\d+(?:\\$(.+))?");

  private TaskDescriptions() {}

  public static String describe(Object function) {
    return CACHE.computeIfAbsent(function.getClass(), c -> compute(function));
  }

  private static String compute(Object function) {
    Class<?> c = function.getClass();
    if (c.isSynthetic() || c.getName().contains("$$Lambda")) {
      try {
        Method m = c.getDeclaredMethod("writeReplace");
        m.setAccessible(true);
        if (m.invoke(function) instanceof SerializedLambda l) {
          String owner = simpleName(l.getImplClass());
          String method = l.getImplMethodName();
          if (method.startsWith("lambda$")) {
            String[] parts = method.split("\\$", -1);
            // A jshell snippet's lambdas are all in its do_it$ method: "lambda in jshell" says it all.
            boolean jshell = owner.equals("jshell");
            return "lambda in " + owner + (parts.length > 1 && !jshell ? "." + parts[1] : "");
          }
          return owner + "::" + (method.equals("<init>") ? "new" : method);
        }
      } catch (ReflectiveOperationException | RuntimeException e) {
        // Not a serializable lambda, or inaccessible: fall back to the class name.
      }
    }
    return c.getName();
  }

  /** A class's simple name, nesting shown with dots; jshell's wrapper classes left out ("jshell"). */
  private static String simpleName(String internalName) {
    java.util.regex.Matcher jshell = JSHELL_WRAPPER.matcher(internalName);
    if (jshell.matches()) {
      return jshell.group(1) == null ? "jshell" : jshell.group(1).replace('$', '.');
    }
    String name = internalName.replace('/', '.');
    int dot = name.lastIndexOf('.');
    return name.substring(dot + 1).replace('$', '.');
  }
}
