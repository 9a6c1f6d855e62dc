package io.procpool.bench;

import io.procpool.WorkerInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Memory of a worker process, from Linux's {@code /proc}: its resident set ({@code VmRSS} of {@code
 * /proc/<pid>/status}: the pages of the worker JVM actually in RAM, i.e. the heap touched so far,
 * metaspace, code cache, thread stacks and mapped files), which is what a worker costs the machine,
 * unlike its reserved heap; and its proportional set ({@code Pss} of {@code
 * /proc/<pid>/smaps_rollup}), which splits pages shared between processes (the JDK's modules file,
 * class-data-sharing archives) among them, so that the workers' PSS add up to what the pool really
 * costs.
 */
final class Rss {
  private Rss() {}

  /** The resident memory of {@code worker} in MiB. */
  static double residentMib(WorkerInfo worker) {
    Path status = Path.of("/proc", Long.toString(worker.pid()), "status");
    Double mib = readKib(worker, status, "VmRSS:");
    if (mib == null) {
      throw new IllegalStateException(
          status + " has no VmRSS line (is worker " + worker.index() + " a zombie?)");
    }
    return mib;
  }

  /**
   * The proportional memory of {@code worker} in MiB, or null where the kernel has no {@code
   * smaps_rollup} (before Linux 4.14).
   */
  static Double proportionalMib(WorkerInfo worker) {
    Path rollup = Path.of("/proc", Long.toString(worker.pid()), "smaps_rollup");
    if (!Files.isReadable(rollup)) {
      return null;
    }
    return readKib(worker, rollup, "Pss:");
  }

  /** The value of the line starting with {@code key} ("Key: 123 kB") in MiB, or null if none. */
  private static Double readKib(WorkerInfo worker, Path file, String key) {
    List<String> lines;
    try {
      lines = Files.readAllLines(file);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot read the memory of worker "
              + worker.index()
              + " (pid "
              + worker.pid()
              + ") from "
              + file
              + " (RSS-idle-worker needs Linux's /proc; skip it with --only)",
          e);
    }
    for (String line : lines) {
      if (line.startsWith(key)) {
        String[] parts = line.substring(key.length()).trim().split("\\s+", -1);
        if (parts.length == 2 && parts[1].equals("kB")) {
          return Long.parseLong(parts[0]) / 1024.0;
        }
        throw new IllegalStateException(
            file + " has the line \"" + line + "\", but expected \"" + key + " <n> kB\"");
      }
    }
    return null;
  }
}
