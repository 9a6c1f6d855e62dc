package io.procpool;

import com.google.common.base.Ascii;
import java.nio.file.Path;
import java.util.List;

/**
 * A parent JVM for {@link CodeSourcesTest}, started with a relative class path: maps a capturing lambda
 * that uses a library class over a pool whose workers run in the directory {@code args[0]}, and prints
 * each result ("RESULT a-A in /that/dir").
 */
public final class RelativeClasspathParent {
  private RelativeClasspathParent() {}

  public static void main(String[] args) throws Exception {
    String separator = "-";
    Task<String, String> t =
        s -> s + separator + Ascii.toUpperCase(s) + " in " + Path.of("").toAbsolutePath().toRealPath();
    try (Pool pool = Pool.builder().workers(2).workingDirectory(Path.of(args[0])).build()) {
      for (String r : pool.map(t, List.of("a", "bb"))) {
        System.out.println("RESULT " + r);
      }
    }
  }
}
