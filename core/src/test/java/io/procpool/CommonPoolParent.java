package io.procpool;

import java.time.Duration;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

/**
 * A JVM for {@link CommonPoolTest}: uses {@link Pool#common()} as a library would, prints what it sees
 * one fact per line, and returns from main without closing anything: the JVM must still exit.
 */
public final class CommonPoolParent {
  private CommonPoolParent() {}

  public static void main(String[] args) throws Exception {
    Pool pool = Pool.common();
    System.out.println("SAME " + (pool == Pool.common()));
    System.out.println("WORKERS-BEFORE " + pool.workers().size());
    long first = pool.submit(Workers::pid, -1).get(60, TimeUnit.SECONDS);
    System.out.println("FIRST " + first);
    pool.shutdown();
    pool.shutdownNow();
    pool.close();
    pool.asExecutorService().shutdown();
    System.out.println("SHUTDOWN " + pool.isShutdown() + " " + pool.isTerminated());
    try {
      pool.join();
      System.out.println("JOIN returned");
    } catch (IllegalStateException e) {
      System.out.println("JOIN " + e.getMessage());
    }
    // The idle timeout (1 s in the test) lets the worker go; the pool stays usable.
    Conditions.await("the idle worker to exit", Duration.ofSeconds(30),
        () -> ProcessHandle.of(first).map(p -> !p.isAlive()).orElse(true));
    System.out.println("IDLE-EXITED");
    List<Long> pids = pool.map(Workers::pid, IntStream.range(0, 200).boxed().collect(Collectors.toList()));
    TreeSet<Long> distinct = new TreeSet<>(pids);
    System.out.println("MAP " + pids.size() + " " + distinct.stream().map(String::valueOf).collect(Collectors.joining(" ")));
    System.out.flush();
  }
}
