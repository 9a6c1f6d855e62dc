package io.procpool.examples.primes;

import io.procpool.ConsoleProgress;
import io.procpool.Pool;
import io.procpool.ProgressListener;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;

/**
 * Counts the primes below a limit with {@link Pool#map} over ranges, shows which worker JVM counted
 * which ranges, and compares the wall time with counting them one after another in this JVM.
 *
 * <p>Usage: {@code PrimesMap [limit [ranges]]}, default 10000000 in 64 ranges, on one worker per
 * processor.
 */
public final class PrimesMap {

  /** A task's input: the numbers {@code from <= k < to}. */
  record Range(long from, long to) implements Serializable {}

  /** A task's output: the primes it found, and which worker process found them. */
  record Count(long primes, long workerPid) implements Serializable {}

  private PrimesMap() {}

  public static void main(String[] args) throws InterruptedException, ExecutionException {
    int limit = args.length > 0 ? Integer.parseInt(args[0]) : 10_000_000;
    int ranges = args.length > 1 ? Integer.parseInt(args[1]) : 64;
    // The progress line goes to stderr, redrawn in place on a terminal; the results go to stdout.
    run(
        Runtime.getRuntime().availableProcessors(),
        limit,
        ranges,
        System.out,
        ConsoleProgress.toStderr().withLabel("primes"));
  }

  /**
   * Runs the example on {@code workers} worker JVMs, printing results and plain progress lines to {@code
   * out}; returns the count.
   */
  public static long run(int workers, long limit, int ranges, PrintStream out)
      throws InterruptedException, ExecutionException {
    return run(workers, limit, ranges, out, ConsoleProgress.to(out, false).withLabel("primes"));
  }

  /**
   * Runs the example on {@code workers} worker JVMs, printing results to {@code out} and progress to
   * {@code progress}; returns the count.
   */
  public static long run(int workers, long limit, int ranges, PrintStream out, ProgressListener progress)
      throws InterruptedException, ExecutionException {
    List<Range> inputs = split(limit, ranges);

    long start = System.nanoTime();
    long workersUp;
    long mapped;
    List<Count> counts;
    try (Pool pool = Pool.builder().workers(workers).build()) {
      workersUp = System.nanoTime();
      counts = pool.map(PrimesMap::count, inputs, progress);
      mapped = System.nanoTime();
    }
    long end = System.nanoTime();

    long total = 0;
    Map<Long, Integer> rangesByPid = new TreeMap<>();
    for (Count c : counts) {
      total += c.primes();
      rangesByPid.merge(c.workerPid(), 1, Integer::sum);
    }
    out.printf("primes below %,d: %,d%n", limit, total);
    rangesByPid.forEach(
        (pid, n) -> out.printf("  worker pid %d counted %d of the %d ranges%n", pid, n, ranges));

    long sequentialStart = System.nanoTime();
    for (Range r : inputs) {
      Primes.countInRange(r.from(), r.to());
    }
    long sequential = System.nanoTime() - sequentialStart;

    out.printf(
        "%d worker JVMs: %,d ms (starting %,d, counting %,d, stopping %,d)%n",
        workers,
        millis(end - start),
        millis(workersUp - start),
        millis(mapped - workersUp),
        millis(end - mapped));
    out.printf("one range after another in this JVM: %,d ms%n", millis(sequential));
    out.printf(
        "speed-up: %.2fx overall, %.2fx once the workers are up%n",
        (double) sequential / (end - start), (double) sequential / (mapped - workersUp));
    return total;
  }

  /** The task; runs in a worker JVM, so the pid it reports is that worker's. */
  static Count count(Range r) {
    return new Count(Primes.countInRange(r.from(), r.to()), ProcessHandle.current().pid());
  }

  /**
   * Splits {@code [0, limit)} into {@code n} ranges of equal width. Their costs are not equal: a
   * number near the limit needs more trial divisions than one near 0, so later ranges take longer.
   * Many small ranges, rather than one per worker, let a worker that finishes early take more.
   */
  static List<Range> split(long limit, int n) {
    List<Range> ranges = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      ranges.add(new Range(limit * i / n, limit * (i + 1) / n));
    }
    return ranges;
  }

  private static long millis(long nanos) {
    return nanos / 1_000_000;
  }
}
