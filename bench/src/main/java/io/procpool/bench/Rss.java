package io.procpool.bench;

import io.procpool.WorkerInfo;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Resident memory of a worker process, from the {@code VmRSS} line of Linux's {@code /proc/<pid>/status}:
 * the pages of the worker JVM actually in RAM (heap touched so far, metaspace, code cache, thread stacks,
 * mapped jars), which is what a worker costs the machine, unlike its reserved heap.
 */
final class Rss {
  private Rss() {}

  /** The resident memory of {@code worker} in MiB. */
  static double residentMib(WorkerInfo worker) {
    Path status = Path.of("/proc", Long.toString(worker.pid()), "status");
    List<String> lines;
    try {
      lines = Files.readAllLines(status);
    } catch (IOException e) {
      throw new UncheckedIOException(
          "Cannot read the resident memory of worker " + worker.index() + " (pid " + worker.pid()
              + ") from " + status + " (RSS-idle-worker needs Linux's /proc; skip it with --only)",
          e);
    }
    for (String line : lines) {
      if (line.startsWith("VmRSS:")) {
        // "VmRSS:     51234 kB"
        String[] parts = line.substring("VmRSS:".length()).trim().split("\\s+");
        if (parts.length == 2 && parts[1].equals("kB")) {
          return Long.parseLong(parts[0]) / 1024.0;
        }
        throw new IllegalStateException(
            status + " has the line \"" + line + "\", but expected \"VmRSS: <n> kB\"");
      }
    }
    throw new IllegalStateException(
        status + " has no VmRSS line (is worker " + worker.index() + " a zombie?)");
  }
}
