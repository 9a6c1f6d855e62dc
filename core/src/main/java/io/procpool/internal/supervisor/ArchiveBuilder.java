package io.procpool.internal.supervisor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;

/**
 * The main class of the process that builds a class-data-sharing archive in the background ({@link
 * ClassDataSharing}). A process of its own, not a thread of the pool's JVM, so that the build finishes
 * even when that JVM exits first (a short program's first run would otherwise never leave an archive
 * behind). It runs the two training steps as its children under the cache's locks, and exits; each step
 * is bounded ({@code ClassDataSharing.RUN_LIMIT}).
 *
 * <p>Arguments: the cache directory, the archive's key, the length of the class path's prefix (the
 * runtime jars), and the argfile that gave this JVM its class path (deleted at once); its class path is
 * that prefix, a separator, then the workers' class path.
 */
public final class ArchiveBuilder {
  private ArchiveBuilder() {}

  public static void main(String[] args) throws Exception {
    Path cacheDir = Path.of(args[0]);
    String key = args[1];
    int prefixLength = Integer.parseInt(args[2]);
    Files.deleteIfExists(Path.of(args[3]));
    String classpath = System.getProperty("java.class.path");
    String prefix = classpath.substring(0, prefixLength);
    String rest = classpath.length() > prefixLength ? classpath.substring(prefixLength + 1) : "";
    JvmCommand command =
        new JvmCommand(JvmCommand.currentJava(), List.of(), rest, java.util.Map.of(), null);
    PoolDirectory scratch = PoolDirectory.create("procpool-cds-");
    try {
      ArchiveCache cache =
          new ArchiveCache(cacheDir, Files.getOwner(scratch.path()), Clock.systemUTC(), ClassDataSharing.LOCK_WAIT);
      cache.archive(key, tmp -> ClassDataSharing.train(command, prefix, tmp, scratch.path()), "procpool-cds-build");
    } finally {
      scratch.delete();
    }
    System.exit(0);
  }
}
