package io.procpool.internal.codec;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.util.Arrays;

/**
 * Class names, class-file resources and class loaders, as remote class loading sees them: which names
 * may be asked for, where a class file is, and how a loader is named in messages.
 */
public final class ClassFiles {
  /** No class file procpool sends is larger (a class file's constant pool alone tops out near 4 MiB). */
  static final int MAX_CLASS_BYTES = 16 << 20;

  private static final int MAX_NAME_LENGTH = 1024;

  private ClassFiles() {}

  /**
   * Whether {@code name} is a binary class name procpool will look up: dot-separated Java identifiers
   * ({@code $} included), at most 1024 characters. Nothing else can become a resource path: no {@code
   * /}, no {@code ..}, no empty segment, no leading or trailing dot.
   */
  public static boolean isBinaryName(String name) {
    if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
      return false;
    }
    boolean segmentStart = true;
    for (int i = 0; i < name.length(); i++) {
      char c = name.charAt(i);
      if (c == '.') {
        if (segmentStart) {
          return false;
        }
        segmentStart = true;
      } else if (segmentStart ? Character.isJavaIdentifierStart(c) : Character.isJavaIdentifierPart(c)) {
        segmentStart = false;
      } else {
        return false;
      }
    }
    return !segmentStart;
  }

  /** Whether the JVM reserves {@code name}'s package: no class loader but the boot loader defines it. */
  public static boolean isReserved(String name) {
    return name.startsWith("java.");
  }

  /** The resource path of class {@code name}'s class file: {@code a/b/C$D.class}. */
  public static String resourceName(String name) {
    return name.replace('.', '/') + ".class";
  }

  /**
   * The binary name of the class whose class file is resource {@code path}, or null if {@code path} is
   * not the class file of a valid binary name.
   */
  public static String classNameOf(String path) {
    if (!path.endsWith(".class") || path.startsWith("/")) {
      return null;
    }
    String name = path.substring(0, path.length() - ".class".length()).replace('/', '.');
    return isBinaryName(name) ? name : null;
  }

  /**
   * The bytes of {@code loader}'s resource {@code path}, or null if it has none, cannot read it, or what
   * it has is not a class file (wrong magic number, or larger than {@link #MAX_CLASS_BYTES}).
   */
  static byte[] read(ClassLoader loader, String path) {
    try (InputStream in = loader.getResourceAsStream(path)) {
      if (in == null) {
        return null;
      }
      byte[] bytes = in.readNBytes(MAX_CLASS_BYTES + 1);
      return bytes.length <= MAX_CLASS_BYTES && ClassFileReader.isClassFile(bytes) ? bytes : null;
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }

  /** {@code loader.getResource(path)}, or null if that throws (a loader's own code may). */
  static URL resource(ClassLoader loader, String path) {
    try {
      return loader.getResource(path);
    } catch (RuntimeException e) {
      return null;
    }
  }

  /**
   * Where resource {@code path} was found, as a code-source location: {@code file:/a/b.jar} for a jar
   * entry, {@code file:/a/classes/} for a directory, the URL before the path otherwise ({@code jshell:/}).
   * The class server sends only the classes of the requested class's location ahead of a request.
   */
  static String location(URL resource, String path) {
    String s = resource.toString();
    if (s.endsWith(path)) {
      s = s.substring(0, s.length() - path.length());
    }
    if (s.startsWith("jar:") && s.endsWith("!/")) {
      s = s.substring("jar:".length(), s.length() - 2);
    }
    return s;
  }

  /**
   * A class loader as messages name it: its name if it has one, its class, its identity, and the first
   * URLs of a {@code URLClassLoader}. The boot loader is "the boot class loader".
   */
  public static String describe(ClassLoader loader) {
    if (loader == null) {
      return "the boot class loader";
    }
    StringBuilder s = new StringBuilder();
    if (loader.getName() != null) {
      s.append('\'').append(loader.getName()).append("' ");
    }
    s.append(loader.getClass().getName()).append('@').append(Integer.toHexString(System.identityHashCode(loader)));
    if (loader instanceof URLClassLoader u) {
      URL[] urls = u.getURLs();
      String list = Arrays.toString(urls.length > 3 ? Arrays.copyOf(urls, 3) : urls);
      s.append(' ').append(urls.length > 3 ? list.substring(0, list.length() - 1) + ", ...]" : list);
    }
    return s.toString();
  }
}
