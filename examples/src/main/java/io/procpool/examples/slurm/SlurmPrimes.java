package io.procpool.examples.slurm;

import io.procpool.Pool;
import io.procpool.examples.primes.Primes;
import io.procpool.slurm.SlurmLauncher;
import java.io.PrintStream;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The primes map with its workers placed by Slurm: the same {@link Pool} code, one more builder line.
 * Each worker is a Slurm job (a job step when this runs inside an allocation); the output shows which job
 * counted which ranges.
 *
 * <p>Usage: {@code SlurmPrimes [workers [limit [ranges]]]}, default 2 workers, 10000000 in 32 ranges. Needs
 * {@code srun} on the {@code PATH} and this jar on a file system the nodes share ({@code
 * scripts/slurm-cluster.sh up} makes a one-node cluster on this machine).
 */
public final class SlurmPrimes {
  /** A task's input: the numbers {@code from <= k < to}. */
  record Range(long from, long to) implements Serializable {}

  /** A task's output: the primes it found, and the Slurm job and node that found them. */
  record Count(long primes, String job, String node) implements Serializable {}

  private SlurmPrimes() {}

  public static void main(String[] args) throws Exception {
    int workers = args.length > 0 ? Integer.parseInt(args[0]) : 2;
    long limit = args.length > 1 ? Long.parseLong(args[1]) : 10_000_000;
    int ranges = args.length > 2 ? Integer.parseInt(args[2]) : 32;
    run(workers, limit, ranges, System.out, ProcessBuilder.Redirect.INHERIT);
  }

  /**
   * Counts the primes below {@code limit} in {@code ranges} ranges on {@code workers} Slurm-placed workers,
   * printing to {@code out}; the workers' own output goes to {@code workerOutput}. Returns the count.
   */
  public static long run(int workers, long limit, int ranges, PrintStream out, ProcessBuilder.Redirect workerOutput)
      throws Exception {
    List<Range> inputs = new ArrayList<>();
    for (int i = 0; i < ranges; i++) {
      inputs.add(new Range(limit * i / ranges, limit * (i + 1) / ranges));
    }
    long start = System.nanoTime();
    List<Count> counts;
    long up;
    try (Pool pool =
        Pool.builder()
            .workers(workers)
            .launcher(SlurmLauncher.builder().output(workerOutput).build())
            .build()) {
      up = System.nanoTime();
      counts = pool.map(SlurmPrimes::count, inputs);
    }
    long end = System.nanoTime();
    long total = 0;
    Map<String, Integer> rangesByJob = new TreeMap<>();
    for (Count c : counts) {
      total += c.primes();
      rangesByJob.merge("Slurm job " + c.job() + " on " + c.node(), 1, Integer::sum);
    }
    out.printf("primes below %,d: %,d%n", limit, total);
    rangesByJob.forEach((job, n) -> out.printf("  %s counted %d of the %d ranges%n", job, n, ranges));
    out.printf("%d Slurm workers: %,d ms (starting %,d, counting and stopping %,d)%n", workers,
        (end - start) / 1_000_000, (up - start) / 1_000_000, (end - up) / 1_000_000);
    return total;
  }

  static Count count(Range r) {
    return new Count(Primes.countInRange(r.from(), r.to()), String.valueOf(System.getenv("SLURM_JOB_ID")),
        String.valueOf(System.getenv("SLURMD_NODENAME")));
  }
}
