package io.procpool.internal.supervisor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The command line of a worker JVM: the java executable, JVM options, the classpath (always through an
 * {@code @argfile}, since one argument of 128 KiB or more fails with E2BIG), and the main class.
 *
 * @param bootLauncher null: the main class runs directly; else the Spring Boot {@code PropertiesLauncher}
 *     of the fat jar that is the classpath, which runs the main class (given as {@code loader.main}) in
 *     its own class loader over {@code BOOT-INF/classes} and the nested jars ({@link WorkerClasspath})
 */
public record JvmCommand(
    Path java,
    List<String> jvmOptions,
    String classpath,
    Map<String, String> environment,
    Path workingDirectory,
    String bootLauncher) {

  /** The switch of the JFR events of grpc-netty-shaded's Netty (Netty's {@code io.netty.jfr.enabled}). */
  public static final String NETTY_JFR_PROPERTY = "io.grpc.netty.shaded.io.netty.jfr.enabled";

  /** A command whose main class runs directly. */
  public JvmCommand(
      Path java, List<String> jvmOptions, String classpath, Map<String, String> environment, Path workingDirectory) {
    this(java, jvmOptions, classpath, environment, workingDirectory, null);
  }

  /** A command with the class path and launcher of {@code where}. */
  public JvmCommand(
      Path java,
      List<String> jvmOptions,
      WorkerClasspath where,
      Map<String, String> environment,
      Path workingDirectory) {
    this(java, jvmOptions, where.classpath(), environment, workingDirectory, where.bootLauncher());
  }

  /** The java executable of this JVM. */
  public static Path currentJava() {
    return ProcessHandle.current()
        .info()
        .command()
        .map(Path::of)
        .filter(Files::isExecutable)
        .orElse(Path.of(System.getProperty("java.home"), "bin", "java"));
  }

  /**
   * The feature version (17, 21, 25, ...) of the java executable {@code java}: this JVM's when it is this
   * JVM's executable, else from the {@code release} file of its installation; 0 when unknown.
   */
  static int featureVersion(Path java) {
    try {
      if (java.equals(currentJava()) || java.toRealPath().equals(currentJava().toRealPath())) {
        return Runtime.version().feature();
      }
      Path release = java.toRealPath().getParent().getParent().resolve("release");
      for (String line : Files.readAllLines(release, StandardCharsets.UTF_8)) {
        if (line.startsWith("JAVA_VERSION=")) {
          String v = line.substring("JAVA_VERSION=".length()).replace("\"", "");
          return Runtime.Version.parse(v).feature();
        }
      }
    } catch (IOException | RuntimeException e) {
      // Unknown: no option that an old JVM would refuse.
    }
    return 0;
  }

  /** Writes the argfile holding the classpath into {@code dir} and returns the full command. */
  public List<String> toCommand(Path dir, String mainClass) throws IOException {
    Path argfile = dir.resolve("classpath.args");
    if (!Files.exists(argfile)) {
      String quoted = classpath.replace("\\", "\\\\").replace("\"", "\\\"");
      Files.writeString(argfile, "-cp\n\"" + quoted + "\"\n", StandardCharsets.UTF_8);
    }
    List<String> cmd = new ArrayList<>();
    cmd.add(java.toString());
    if (jvmOptions.stream().noneMatch(o -> o.matches("-XX:[+]Use\\w*GC"))) {
      // A worker runs one task at a time: the serial collector has the smallest footprint and start-up
      // cost. Only chosen when the user picked no collector, as two would make the JVM refuse to start.
      cmd.add("-XX:+UseSerialGC");
    }
    // An OutOfMemoryError leaves a worker's heap in an unknown state: let it die and be replaced, which
    // fails the task with WorkerCrashedException. Users may pass -XX:-ExitOnOutOfMemoryError (later wins).
    cmd.add("-XX:+ExitOnOutOfMemoryError");
    // Netty 4.2 (inside grpc-netty-shaded) registers JFR events for its buffer allocations when it
    // allocates its first chunk, which initializes the JVM's whole JFR type library: measured at about
    // half of a worker's start-up CPU (1.2-1.3 s against 0.6-0.75 s here). Users who want those events
    // in a worker pass the property as true (a later -D wins).
    cmd.add("-D" + NETTY_JFR_PROPERTY + "=false");
    if (featureVersion(java) >= 22) {
      // Netty loads its epoll library with System.loadLibrary, a restricted method from JDK 22 on: without
      // this, every worker of a JDK 24+ prints four lines of warning on the user's console (JEP 472).
      cmd.add("--enable-native-access=ALL-UNNAMED");
    }
    long maxHeap = WorkerHeap.explicitMaxHeapBytes(jvmOptions);
    if (jvmOptions.stream().noneMatch(o -> o.startsWith("-Xms") || o.startsWith("-XX:InitialHeapSize"))
        // Under an explicit -Xmx below 16m the JVM would refuse to start ("Initial heap size set to a
        // larger value than the maximum heap size"): leave the initial heap to it then.
        && (maxHeap < 0 || maxHeap >= 16L << 20)) {
      // The default initial heap is 1/64 of RAM (378 MiB here), and a young worker touches most of its
      // young generation before its first collection: an idle worker sat at ~100 MiB resident. A small
      // start lets the heap grow to what tasks use instead.
      cmd.add("-Xms16m");
    }
    cmd.addAll(jvmOptions);
    cmd.add("@" + argfile);
    if (bootLauncher != null) {
      // After the user's options, so that a -Dloader.main of theirs cannot replace the worker's main.
      cmd.add("-Dloader.main=" + mainClass);
      cmd.add(bootLauncher);
    } else {
      cmd.add(mainClass);
    }
    return cmd;
  }
}
