package io.procpool.internal.supervisor;

import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

/**
 * Remembers which processes each worker has started, so that they can be killed when the worker dies by
 * itself without running its exit hooks ({@code -XX:+ExitOnOutOfMemoryError}, {@code Runtime.halt} in a
 * task, a native crash, a SIGKILL from elsewhere). Once a worker is dead, the kernel has reparented its
 * children and nothing links them to it any more: only a list taken while it lived can find them.
 *
 * <p>One daemon thread lists this JVM's descendants every {@link #PERIOD_MILLIS} ms while workers are
 * watched: one pass over the process table however many workers there are; the workers themselves
 * (direct children) are the usual result, and only the rest is attributed to a worker by walking up its
 * parents. When a watched worker exits, the descendants last seen under it that are still alive are
 * killed. {@link ProcessHandle#destroyForcibly()} on a remembered handle checks the process's start time,
 * so a pid reused meanwhile by an unrelated process is never hit. A process started and orphaned within
 * one period escapes; {@link ProcessTree#killTree} covers the workers the pool itself kills.
 *
 * <p>This class is thread-safe.
 */
public final class DescendantWatch {
  static final long PERIOD_MILLIS = 1_000;

  /** Watched workers (direct children of this JVM) by pid. */
  private static final Map<Long, ProcessHandle> WORKERS = new ConcurrentHashMap<>();
  /** What each watched worker had started at the last look, by the worker's pid. */
  private static final Map<Long, List<ProcessHandle>> SEEN = new ConcurrentHashMap<>();

  private static volatile ScheduledExecutorService poller;

  private DescendantWatch() {}

  /** Starts remembering what {@code worker} starts; call {@link #exited} when it has exited. */
  public static void watch(ProcessHandle worker) {
    WORKERS.put(worker.pid(), worker);
    startPoller();
  }

  /**
   * Stops watching {@code worker}, which has exited, and kills what it had started that is still alive
   * (when it exited in an orderly way, it has killed them itself and there is nothing left).
   */
  public static void exited(ProcessHandle worker) {
    WORKERS.remove(worker.pid());
    List<ProcessHandle> left = SEEN.remove(worker.pid());
    if (left != null) {
      left.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
    }
  }

  /** The processes last seen under the worker with pid {@code workerPid}; for tests. */
  public static List<ProcessHandle> lastSeen(long workerPid) {
    return SEEN.getOrDefault(workerPid, List.of());
  }

  private static synchronized void startPoller() {
    if (poller == null) {
      ScheduledExecutorService p =
          Executors.newSingleThreadScheduledExecutor(
              r -> {
                Thread t = new Thread(r, "procpool-descendant-watch");
                t.setDaemon(true);
                return t;
              });
      var unused = p.scheduleWithFixedDelay(DescendantWatch::poll, 0, PERIOD_MILLIS, TimeUnit.MILLISECONDS);
      poller = p;
    }
  }

  /** One look: attributes every non-worker descendant of this JVM to the worker it descends from. */
  static void poll() {
    try {
      if (WORKERS.isEmpty()) {
        return;
      }
      Set<Long> workers = WORKERS.keySet();
      Map<Long, List<ProcessHandle>> byWorker =
          ProcessHandle.current()
              .descendants()
              .filter(p -> !workers.contains(p.pid()))
              .map(p -> Map.entry(workerOf(p, workers), p))
              .filter(e -> e.getKey() != 0)
              .collect(
                  Collectors.groupingBy(
                      Map.Entry::getKey, Collectors.mapping(Map.Entry::getValue, Collectors.toList())));
      for (Long w : workers) {
        List<ProcessHandle> now = byWorker.getOrDefault(w, List.of());
        if (now.isEmpty()) {
          // Keep what was seen: an empty list now may mean the worker just died and its children were
          // reparented; exited() settles it.
          continue;
        }
        if (WORKERS.containsKey(w)) {
          SEEN.put(w, now);
        }
      }
    } catch (RuntimeException e) {
      // A process vanished mid-walk: the next look sees a settled table. Never let the thread die.
    }
  }

  /** The pid of the watched worker {@code p} descends from, or 0. */
  private static long workerOf(ProcessHandle p, Set<Long> workers) {
    ProcessHandle at = p;
    for (int depth = 0; depth < 64; depth++) {
      ProcessHandle parent = at.parent().orElse(null);
      if (parent == null) {
        return 0;
      }
      if (workers.contains(parent.pid())) {
        return parent.pid();
      }
      at = parent;
    }
    return 0;
  }
}
