package io.procpool.internal.supervisor;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Makes worker JVMs start about twice as fast with an application class-data-sharing (AppCDS) archive of
 * the classes a worker loads (gRPC, Netty, protobuf, Guava, procpool): parsed and verified once, mapped
 * into every worker after that.
 *
 * <p>How: the archive covers only the runtime's own jars (found from the code sources of a few marker
 * classes), because the JVM refuses to dump an archive when a directory is on the classpath, which is
 * the case in tests and IDEs. Those jars are put at the front of the worker classpath (the JVM requires
 * the dump-time classpath to be a prefix of the run-time one); the user's classpath follows unchanged,
 * and as these are library jars, the order changes nothing else. The archive is built once per java
 * installation and set of jars, in a separate training run ({@link
 * io.procpool.internal.worker.Training} under {@code -XX:DumpLoadedClassList}, then {@code
 * -Xshare:dump}), and cached in {@code ~/.cache/procpool/cds} (system property {@code
 * procpool.cds.dir}). Anything that goes wrong falls back silently to starting without the archive, and
 * is remembered so it is not retried. The cache keeps the four newest archives. {@code
 * -Dprocpool.cds=false} turns it off.
 */
public final class ClassDataSharing {
  private static final System.Logger LOG = System.getLogger("io.procpool.Pool");
  /** Archives kept in the cache directory. */
  private static final int KEEP = 4;

  /** Classes whose jars make up the archived runtime, in classpath order. */
  private static final String[] MARKERS = {
    "io.procpool.Pool",
    "io.procpool.proto.v1.Bootstrap",
    "io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder",
    "io.grpc.internal.ManagedChannelImplBuilder",
    "io.grpc.ManagedChannel",
    "io.grpc.stub.StreamObserver",
    "io.grpc.protobuf.ProtoUtils",
    "io.grpc.protobuf.lite.ProtoLiteUtils",
    "io.grpc.util.MutableHandlerRegistry",
    "io.grpc.inprocess.InProcessChannelBuilder",
    "io.perfmark.PerfMark",
    "com.google.protobuf.Message",
    "com.google.common.collect.ImmutableList",
    "com.google.common.util.concurrent.internal.InternalFutureFailureAccess",
    "com.google.rpc.Status",
  };

  private ClassDataSharing() {}

  /**
   * Returns {@code command} changed to use an archive (building it first if needed), or {@code command}
   * itself when no archive can be had.
   */
  public static JvmCommand apply(JvmCommand command, Path scratch, String pool) {
    if (!Boolean.parseBoolean(System.getProperty("procpool.cds", "true"))) {
      return command;
    }
    try {
      List<Path> jars = runtimeJars();
      if (jars.isEmpty()) {
        return command;
      }
      String prefix = join(jars);
      Path dir = cacheDir();
      String key = key(command.java(), jars);
      Path archive = dir.resolve(key + ".jsa");
      Path failed = dir.resolve(key + ".failed");
      if (Files.exists(failed)) {
        return command;
      }
      if (!Files.exists(archive) && !train(command, prefix, archive, failed, scratch, pool)) {
        return command;
      }
      List<String> options = new ArrayList<>();
      options.add("-XX:SharedArchiveFile=" + archive);
      options.add("-Xshare:auto");
      // A stale or unusable archive must not print warnings into the user's output: fall back quietly.
      options.add("-Xlog:cds*=off");
      options.add("-Xlog:class+path*=off");
      options.addAll(command.jvmOptions());
      return new JvmCommand(
          command.java(),
          List.copyOf(options),
          prefix + File.pathSeparator + command.classpath(),
          command.environment(),
          command.workingDirectory());
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.DEBUG, "{0}: no class-data-sharing archive for workers: {1}", pool, e.toString());
      return command;
    }
  }

  static List<Path> runtimeJars() {
    Set<Path> jars = new LinkedHashSet<>();
    ClassLoader loader = ClassDataSharing.class.getClassLoader();
    for (String name : MARKERS) {
      try {
        Class<?> c = Class.forName(name, false, loader);
        var source = c.getProtectionDomain().getCodeSource();
        if (source == null || source.getLocation() == null) {
          continue;
        }
        Path p = Path.of(source.getLocation().toURI());
        if (Files.isRegularFile(p) && p.toString().endsWith(".jar")) {
          jars.add(p.toAbsolutePath());
        }
      } catch (ClassNotFoundException | LinkageError | java.net.URISyntaxException | RuntimeException e) {
        // Not on this classpath: nothing to archive from it.
      }
    }
    return new ArrayList<>(jars);
  }

  private static Path cacheDir() throws IOException {
    String configured = System.getProperty("procpool.cds.dir");
    Path dir =
        configured != null
            ? Path.of(configured)
            : Path.of(System.getProperty("user.home"), ".cache", "procpool", "cds");
    if (!Files.isDirectory(dir)) {
      Files.createDirectories(dir);
      try {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
      } catch (UnsupportedOperationException e) {
        // Not a POSIX file system: leave the default permissions.
      }
    }
    return dir;
  }

  /** Identifies the java installation and the exact jars (path, size, modification time). */
  private static String key(Path java, List<Path> jars) throws IOException {
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      Path real = java.toRealPath();
      md.update(real.toString().getBytes(StandardCharsets.UTF_8));
      Path modules = real.getParent().getParent().resolve("lib").resolve("modules");
      if (Files.exists(modules)) {
        md.update((Files.size(modules) + ":" + Files.getLastModifiedTime(modules).toMillis()).getBytes(StandardCharsets.UTF_8));
      }
      for (Path j : jars) {
        md.update((j + ":" + Files.size(j) + ":" + Files.getLastModifiedTime(j).toMillis() + "\n")
            .getBytes(StandardCharsets.UTF_8));
      }
      return "workers-" + HexFormat.of().formatHex(md.digest(), 0, 12);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Runs the two training steps; returns whether the archive now exists. */
  private static boolean train(
      JvmCommand command, String prefix, Path archive, Path failed, Path scratch, String pool) {
    long start = System.nanoTime();
    Path list = scratch.resolve("cds-classes.lst");
    Path tmp = archive.resolveSibling(archive.getFileName() + "." + ProcessHandle.current().pid() + ".tmp");
    String reason;
    try {
      int listed =
          run(
              List.of(
                  command.java().toString(),
                  "-Xshare:auto",
                  "-XX:DumpLoadedClassList=" + list,
                  "-cp",
                  prefix + File.pathSeparator + command.classpath(),
                  "io.procpool.internal.worker.Training"),
              scratch);
      if (listed == 0) {
        int dumped =
            run(
                List.of(
                    command.java().toString(),
                    "-Xshare:dump",
                    "-XX:SharedClassListFile=" + list,
                    "-XX:SharedArchiveFile=" + tmp,
                    "-cp",
                    prefix),
                scratch);
        if (dumped == 0 && Files.exists(tmp)) {
          Files.move(tmp, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
          pruneCache(archive.getParent(), archive);
          LOG.log(
              System.Logger.Level.INFO,
              "{0}: built a class-data-sharing archive for worker JVMs in {1,number,#} ms: {2}",
              pool,
              TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start),
              archive);
          return true;
        }
        reason = "the dump exited with code " + dumped;
      } else {
        reason = "the training run exited with code " + listed;
      }
    } catch (IOException e) {
      reason = e.toString();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    } finally {
      try {
        Files.deleteIfExists(tmp);
        Files.deleteIfExists(list);
      } catch (IOException e) {
        // Scratch files; the pool's directory is deleted anyway.
      }
    }
    LOG.log(System.Logger.Level.DEBUG, "{0}: no class-data-sharing archive for workers: {1}", pool, reason);
    try {
      Files.writeString(failed, reason + "\n");
    } catch (IOException e) {
      // Then we will try again next time.
    }
    return false;
  }

  /**
   * Keeps the cache from growing without bound: every rebuild of an application's jars makes a new key,
   * and an archive is tens of MiB. Keeps the {@link #KEEP} most recently modified archives.
   */
  private static void pruneCache(Path dir, Path keep) {
    try (var files = Files.list(dir)) {
      List<Path> archives =
          files
              .filter(p -> p.getFileName().toString().endsWith(".jsa") && !p.equals(keep))
              .sorted(
                  java.util.Comparator.comparing(
                          (Path p) -> {
                            try {
                              return Files.getLastModifiedTime(p).toMillis();
                            } catch (IOException e) {
                              return 0L;
                            }
                          })
                      .reversed())
              .collect(java.util.stream.Collectors.toList());
      for (Path old : archives.subList(Math.min(archives.size(), KEEP - 1), archives.size())) {
        Files.deleteIfExists(old);
      }
    } catch (IOException | RuntimeException e) {
      // An old archive left behind costs disk space only.
    }
  }

  private static int run(List<String> cmd, Path scratch) throws IOException, InterruptedException {
    Process p =
        new ProcessBuilder(cmd)
            .redirectErrorStream(true)
            .redirectOutput(scratch.resolve("cds-training.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    try {
      if (!p.waitFor(120, TimeUnit.SECONDS)) {
        return -1;
      }
      return p.exitValue();
    } finally {
      p.destroyForcibly();
      p.waitFor();
    }
  }

  private static String join(List<Path> jars) {
    StringBuilder b = new StringBuilder();
    for (Path j : jars) {
      if (b.length() > 0) {
        b.append(File.pathSeparator);
      }
      b.append(j);
    }
    return b.toString();
  }
}
