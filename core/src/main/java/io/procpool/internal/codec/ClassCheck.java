package io.procpool.internal.codec;

import java.io.IOException;

/**
 * Whether a class written into a task's stream can be had in a worker, decided once per class: a class of
 * the JDK (boot or platform loader) can; any other class can if its loader has its class file, because
 * the worker then finds it on its class path or asks the parent for those bytes (see {@link
 * ClassServer}). A class without a class file (defined at run time by {@code Lookup.defineClass} or a
 * bytecode generator, or a hidden class) cannot, and the submit fails at once naming it rather than the
 * task failing in the worker.
 *
 * <p>Why a {@link ClassValue}: the check is a resource lookup, and the stream of every submit names its
 * classes again; the verdict is cached on the class itself, which costs a few nanoseconds per class
 * written afterwards and is dropped with the class.
 */
public final class ClassCheck {
  /** A class of a task's stream that no worker can load; the message names it and says why. */
  public static final class UnavailableClassException extends IOException {
    private static final long serialVersionUID = 1L;

    UnavailableClassException(String message) {
      super(message);
    }
  }

  private static final ClassLoader PLATFORM = ClassLoader.getPlatformClassLoader();

  /** Null for a class a worker can have; else why not. */
  private static final ClassValue<String> PROBLEMS =
      new ClassValue<>() {
        @Override
        protected String computeValue(Class<?> c) {
          return problem(c);
        }
      };

  private ClassCheck() {}

  /**
   * Throws if a worker cannot have class {@code c}.
   *
   * @throws UnavailableClassException naming {@code c}, its loader and where procpool looked
   */
  public static void require(Class<?> c) throws UnavailableClassException {
    String problem = PROBLEMS.get(c);
    if (problem != null) {
      throw new UnavailableClassException(problem);
    }
  }

  /** Whether {@code loader} is the JDK's own (boot or platform): every worker has its classes. */
  static boolean isJdk(ClassLoader loader) {
    return loader == null || loader == PLATFORM;
  }

  private static String problem(Class<?> c) {
    Class<?> e = c;
    while (e.isArray()) {
      e = e.getComponentType();
    }
    ClassLoader loader = e.getClassLoader();
    if (e.isPrimitive() || isJdk(loader)) {
      return null;
    }
    if (e.isHidden()) {
      return "class " + e.getName() + " cannot be loaded in a worker: it is a hidden class (Lookup"
          + ".defineHiddenClass), which only the JVM that defined it can use; it was defined by "
          + ClassFiles.describe(loader);
    }
    String path = ClassFiles.resourceName(e.getName());
    if (loader.getResource(path) != null) {
      return null;
    }
    return "class " + e.getName() + " cannot be loaded in a worker: it has no class file. procpool looked"
        + " for " + path + " through its class loader, " + ClassFiles.describe(loader) + ", which"
        + " would give it to a worker from the worker's class path or over the worker's connection, and"
        + " found nothing: the class was defined at run time (by Lookup.defineClass or a bytecode"
        + " generator) without a class file behind it. Make its class loader return its bytes from"
        + " getResourceAsStream, or keep it out of what the task captures and its inputs";
  }
}
