package io.procpool.internal.worker;

import io.procpool.proto.v1.Bootstrap;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;

/**
 * Where a worker reads its {@link Bootstrap}: never from its command line, which every user of the machine
 * can read.
 *
 * <ul>
 *   <li>From a file named by {@value #FILE_VARIABLE}: for launchers that cannot feed a worker's stdin (a
 *       batch job). The file is deleted once read, since it holds the pool's secret; make it readable by
 *       its owner alone.
 *   <li>Else from {@value #VALUE_VARIABLE}, the length-delimited message in base64: for launchers that
 *       set a container's environment (from a Kubernetes Secret, say).
 *   <li>Else from stdin, as a pool's own children read it. Only then is stdin also the parent's
 *       lifeline (end-of-file means the parent is gone); a worker bootstrapped otherwise learns that its
 *       parent is gone from its stream.
 * </ul>
 */
public final class BootstrapSource {
  public static final String FILE_VARIABLE = "PROCPOOL_BOOTSTRAP_FILE";
  public static final String VALUE_VARIABLE = "PROCPOOL_BOOTSTRAP";

  /**
   * What was read: the bootstrap (null if none), whether it came from stdin, and what went wrong (null
   * if nothing did), naming the source.
   */
  public record Read(Bootstrap bootstrap, boolean fromStdin, String problem) {}

  private BootstrapSource() {}

  /** Reads the bootstrap from the first source {@code environment} points at, else from {@code stdin}. */
  public static Read read(Map<String, String> environment, InputStream stdin) {
    String file = environment.get(FILE_VARIABLE);
    if (file != null && !file.isBlank()) {
      Path path = Path.of(file);
      try (InputStream in = Files.newInputStream(path)) {
        Bootstrap b = Bootstrap.parseDelimitedFrom(in);
        return b == null
            ? new Read(null, false, "the bootstrap file " + path + " (" + FILE_VARIABLE + ") is empty")
            : new Read(b, false, null);
      } catch (IOException | RuntimeException e) {
        return new Read(null, false, "cannot read the bootstrap file " + path + " (" + FILE_VARIABLE + "): " + e);
      } finally {
        try {
          Files.deleteIfExists(path);
        } catch (IOException | RuntimeException e) {
          // Best effort: the launcher made it, and may delete it too.
        }
      }
    }
    String value = environment.get(VALUE_VARIABLE);
    if (value != null && !value.isBlank()) {
      try {
        Bootstrap b = Bootstrap.parseDelimitedFrom(new ByteArrayInputStream(Base64.getDecoder().decode(value.strip())));
        return b == null
            ? new Read(null, false, VALUE_VARIABLE + " holds no bootstrap")
            : new Read(b, false, null);
      } catch (IOException | RuntimeException e) {
        return new Read(null, false,
            VALUE_VARIABLE + " is not a base64, length-delimited procpool.v1.Bootstrap: " + e.getMessage());
      }
    }
    try {
      return new Read(Bootstrap.parseDelimitedFrom(stdin), true, null);
    } catch (IOException e) {
      return new Read(null, true, null);
    }
  }
}
