package io.procpool;

import java.util.ArrayList;
import java.util.List;

/**
 * A parent JVM for {@link OrphanTest}: starts a pool of two workers and a WorkerProcess, prints their
 * pids on one line ("PIDS a b c"), then blocks until it is killed. With an argument, a second task starts
 * {@code sleep 300} and writes its pid to the file the argument names.
 */
public final class OrphanParent {
  private OrphanParent() {}

  static void sleepForever(String ignored) throws InterruptedException {
    Thread.sleep(Long.MAX_VALUE);
  }

  public static void main(String[] args) throws Exception {
    Pool pool = Pool.builder().workers(2).build();
    WorkerProcess p = WorkerProcess.start(OrphanParent::sleepForever, "");
    // Keep a task running too: a busy worker must notice as well as an idle one.
    var unused = pool.submit(Workers::sleep, 600_000L);
    if (args.length > 0) {
      // A task that starts a process of its own (sleep 300) and writes its pid to args[0].
      var unusedToo = pool.submit(TaskProcessesTest::startSleepAndSpin, args[0]);
    }
    List<String> pids = new ArrayList<>();
    pool.workers().forEach(w -> pids.add(Long.toString(w.pid())));
    pids.add(Long.toString(p.pid()));
    System.out.println("PIDS " + String.join(" ", pids));
    System.out.flush();
    Thread.sleep(Long.MAX_VALUE);
  }
}
