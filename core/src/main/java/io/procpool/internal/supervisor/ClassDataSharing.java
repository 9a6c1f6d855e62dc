package io.procpool.internal.supervisor;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

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
 * procpool.cds.dir}) by {@link ArchiveCache}, which refuses a directory others could write to, verifies
 * each archive before use, builds each once across JVMs, and forgets failures after a while. Anything
 * that goes wrong falls back to starting without the archive. {@code -Dprocpool.cds=false} turns it off.
 *
 * <p>No pool waits for an archive: a pool that finds none starts its workers without one, and the archive
 * is built in the background by a process of its own ({@link ArchiveBuilder}, at a lower CPU priority
 * where {@code nice} exists), which finishes even if this JVM exits first, for the pools after it.
 */
public final class ClassDataSharing {
  private static final System.Logger LOG = System.getLogger("io.procpool.Pool");
  /** The longest one training step may take. */
  private static final Duration RUN_LIMIT = Duration.ofMinutes(2);
  /** What {@link #run} returns when a step takes longer than {@link #RUN_LIMIT}. */
  private static final int TIMED_OUT = -1;

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

  /** How long a JVM waits for another one that is building the same archive before going without. */
  static final Duration LOCK_WAIT = Duration.ofSeconds(30);

  /** Archives being built in the background by this JVM, by key. */
  private static final ConcurrentHashMap<String, CompletableFuture<Void>> BUILDS = new ConcurrentHashMap<>();
  private static final Path NICE = Path.of("/usr/bin/nice");

  /**
   * Waits up to {@code timeout} for this JVM's background archive builds to end (for tests, which count
   * the training JVMs among their child processes); true if none is left.
   */
  public static boolean awaitBackgroundBuilds(Duration timeout) throws InterruptedException {
    try {
      CompletableFuture.allOf(BUILDS.values().toArray(CompletableFuture[]::new))
          .get(timeout.toNanos(), TimeUnit.NANOSECONDS);
      return true;
    } catch (ExecutionException e) {
      throw new AssertionError("a background build future never fails", e);
    } catch (TimeoutException e) {
      return false;
    }
  }

  /**
   * Returns {@code command} changed to use an archive (building it first if needed), or {@code command}
   * itself when no archive can be had. {@code scratch} is the pool's private directory: training files go
   * there, and its owner (this JVM's user) is the owner the cache directory must have.
   */
  public static JvmCommand apply(JvmCommand command, Path scratch, String pool) {
    if (!Boolean.parseBoolean(System.getProperty("procpool.cds", "true"))) {
      return command;
    }
    if (command.bootLauncher() != null) {
      // A Spring Boot fat jar: procpool's jars are nested in it and loaded by Boot's own class loader,
      // whose classes a static archive of the class path cannot hold (and the jars have no path of
      // their own to put in front of it). Rejected: extracting them to the cache and running them from
      // the application class path, which would load procpool's and its libraries' classes outside
      // Boot's loader, where the application's own copies would no longer be the ones it uses. Workers
      // of a fat jar start without an archive, about twice as slowly.
      return command;
    }
    try {
      List<Path> jars = runtimeJars();
      if (jars.isEmpty()) {
        return command;
      }
      String prefix = join(jars);
      ArchiveCache cache = new ArchiveCache(cacheDir(), Files.getOwner(scratch), Clock.systemUTC(), LOCK_WAIT);
      String key = key(command.java(), jars);
      Optional<Path> archive = cache.ready(key, pool);
      if (archive.isEmpty()) {
        buildInBackground(cache, key, command, prefix, pool);
        return command;
      }
      List<String> options = new ArrayList<>();
      options.add("-XX:SharedArchiveFile=" + archive.get());
      options.add("-Xshare:auto");
      // The archive has been verified against its checksum; what the JVM may still say about it (a
      // mismatch it detects on its own, and then runs without) must not land in the user's output.
      options.add("-Xlog:cds*=off");
      options.add("-Xlog:class+path*=off");
      options.addAll(command.jvmOptions());
      return new JvmCommand(
          command.java(),
          List.copyOf(options),
          prefix + File.pathSeparator + command.classpath(),
          command.environment(),
          command.workingDirectory(),
          command.bootLauncher());
    } catch (IOException | RuntimeException e) {
      LOG.log(System.Logger.Level.DEBUG, "{0}: no class-data-sharing archive for workers: {1}", pool, e.toString());
      return command;
    }
  }

  /**
   * Starts a process that builds the archive of {@code key} ({@link ArchiveBuilder}), unless this JVM has
   * one running; does not wait for it. It outlives this JVM if need be, so the archive gets built even
   * when this JVM exits first.
   */
  private static void buildInBackground(
      ArchiveCache cache, String key, JvmCommand command, String prefix, String pool) throws IOException {
    CompletableFuture<Void> mine = new CompletableFuture<>();
    if (BUILDS.putIfAbsent(key, mine) != null) {
      return;
    }
    try {
      Path argfile = Files.createTempFile(cache.dir(), key, ".args");
      String cp = prefix + File.pathSeparator + command.classpath();
      Files.writeString(argfile, "-cp\n\"" + cp.replace("\\", "\\\\").replace("\"", "\\\"") + "\"\n",
          StandardCharsets.UTF_8);
      List<String> cmd = new ArrayList<>();
      if (Files.isExecutable(NICE)) {
        // Built while workers start and tasks run: let them have the CPU first.
        cmd.addAll(List.of(NICE.toString(), "-n", "10"));
      }
      cmd.addAll(List.of(command.java().toString(), "-Xshare:auto", "@" + argfile,
          ArchiveBuilder.class.getName(), cache.dir().toString(), key, Integer.toString(prefix.length()),
          argfile.toString()));
      Process p =
          new ProcessBuilder(cmd)
              .redirectErrorStream(true)
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectInput(ProcessBuilder.Redirect.PIPE)
              .start();
      p.getOutputStream().close();
      LOG.log(System.Logger.Level.DEBUG, "{0}: building a class-data-sharing archive in the background (pid {1,number,#})",
          pool, p.pid());
      var unused =
          p.onExit()
              .whenComplete(
                  (done, e) -> {
                    try {
                      Files.deleteIfExists(argfile);
                    } catch (IOException ignored) {
                      // Pruned with the cache's other files.
                    }
                    BUILDS.remove(key, mine);
                    mine.complete(null);
                  });
    } catch (IOException | RuntimeException e) {
      BUILDS.remove(key, mine);
      mine.complete(null);
      throw e;
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

  /** The cache directory: {@code procpool.cds.dir}, else {@code ~/.cache/procpool/cds}. */
  static Path cacheDir() {
    String configured = System.getProperty("procpool.cds.dir");
    return configured != null
        ? Path.of(configured)
        : Path.of(System.getProperty("user.home"), ".cache", "procpool", "cds");
  }

  /** Identifies the java installation and the exact jars (path, size, modification time). */
  static String key(Path java, List<Path> jars) throws IOException {
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

  /** Runs the two training steps, dumping the archive into {@code archive}; throws with the reason. */
  static void train(JvmCommand command, String prefix, Path archive, Path scratch)
      throws IOException, InterruptedException {
    Path list = scratch.resolve("cds-classes.lst");
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
      if (listed != 0) {
        throw new IOException("the training run " + exit(listed));
      }
      int dumped =
          run(
              List.of(
                  command.java().toString(),
                  "-Xshare:dump",
                  "-XX:SharedClassListFile=" + list,
                  "-XX:SharedArchiveFile=" + archive,
                  "-cp",
                  prefix),
              scratch);
      if (dumped != 0) {
        throw new IOException("the dump " + exit(dumped));
      }
    } finally {
      Files.deleteIfExists(list);
    }
  }

  private static String exit(int code) {
    return code == TIMED_OUT ? "timed out after " + RUN_LIMIT.toSeconds() + " s" : "exited with code " + code;
  }

  private static int run(List<String> javaCommand, Path scratch) throws IOException, InterruptedException {
    // Runs in the builder process, whose lower priority (nice) its children inherit.
    Process p =
        new ProcessBuilder(javaCommand)
            .redirectErrorStream(true)
            .redirectOutput(scratch.resolve("cds-training.log").toFile())
            .redirectInput(ProcessBuilder.Redirect.PIPE)
            .start();
    Runnable killAtExit = () -> ProcessTree.killTree(p.toHandle());
    ExitHook.registerPool(killAtExit);
    try {
      if (!p.waitFor(RUN_LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        return TIMED_OUT;
      }
      return p.exitValue();
    } finally {
      ExitHook.unregisterPool(killAtExit);
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
