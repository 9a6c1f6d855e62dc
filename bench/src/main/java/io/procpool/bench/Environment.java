package io.procpool.bench;

import io.procpool.Pool;
import io.procpool.PoolStats;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * What a run was measured on, for the {@code "environment"} line: the machine (CPU model, processors,
 * memory, kernel, load average at the end), the JDK, this JVM's options, and a worker's actual command
 * line (the options procpool chose, the archive it used), so that two runs can be told apart.
 */
final class Environment {
  private Environment() {}

  /** A worker's JVM options as its process reports them, class path argfile and main class left out. */
  static List<String> workerOptions(Pool pool) {
    for (PoolStats.Worker w : pool.stats().workers()) {
      Optional<String[]> args = ProcessHandle.of(w.pid()).flatMap(p -> p.info().arguments());
      if (args.isPresent()) {
        List<String> options = new ArrayList<>();
        for (String a : args.get()) {
          if (a.startsWith("@") || !a.startsWith("-")) {
            continue;
          }
          options.add(a);
        }
        return options;
      }
    }
    return List.of();
  }

  static JsonLine line(int workers, List<String> workerOptions) {
    return new JsonLine("environment", "procpool", workers)
        .put("cpu", cpuModel())
        .put("processors", Runtime.getRuntime().availableProcessors())
        .put("memory_gib", memoryGib())
        .put("os", System.getProperty("os.name") + " " + System.getProperty("os.version"))
        .put("load_average", loadAverage())
        .put("java", Runtime.version().toString())
        .put("vm", System.getProperty("java.vm.name") + " (" + System.getProperty("java.vm.vendor") + ")")
        .put("parent_jvm_options", ManagementFactory.getRuntimeMXBean().getInputArguments())
        .put("worker_jvm_options", workerOptions);
  }

  private static String cpuModel() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (l.startsWith("model name")) {
          return l.substring(l.indexOf(':') + 1).trim();
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux.
    }
    return System.getProperty("os.arch");
  }

  private static Double memoryGib() {
    try {
      for (String l : Files.readAllLines(Path.of("/proc/meminfo"))) {
        if (l.startsWith("MemTotal:")) {
          return Long.parseLong(l.replaceAll("\\D", "")) / 1024.0 / 1024.0;
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux.
    }
    return null;
  }

  private static String loadAverage() {
    try {
      String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
      return f[0] + " " + f[1] + " " + f[2];
    } catch (IOException | RuntimeException e) {
      return null;
    }
  }
}
