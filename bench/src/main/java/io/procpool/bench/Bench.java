package io.procpool.bench;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import io.procpool.Pool;
import io.procpool.slurm.SlurmLauncher;
import io.procpool.PoolStats;
import io.procpool.WorkerInfo;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;

/**
 * The procpool benchmark: the workloads of the Python peer ({@code shared/peers/python_bench.py},
 * which measures {@code ProcessPoolExecutor} and {@code multiprocessing.Pool}) run on a {@link
 * Pool}, with the same sizes, each printed as one JSON line on stdout with the peer's field names
 * and {@code "system": "procpool"}. Progress and logs go to stderr, so stdout can be piped into a
 * JSON tool.
 *
 * <p>Run: {@code java -jar bench/target/procpool-bench.jar [--workers N] [--quick]} (see {@link
 * BenchOptions}). The workloads, and why each is measured:
 *
 * <ul>
 *   <li><b>W1-start-first-result</b>: seconds from {@code Pool.builder().build()} to the first
 *       result of a trivial task, and {@code shutdown_s} for {@code close()}. The fixed cost a user
 *       pays per pool: worker JVM start-up, class loading and the gRPC handshake.
 *   <li><b>W2-submit-trivial</b>: 20,000 single {@code submit}s of {@link #identity}, then waiting
 *       for all. Per-task dispatch overhead with no chunking: queueing, encoding, one message each
 *       way.
 *   <li><b>W3-map-trivial-chunked</b>: {@code map} of {@link #identity} over 200,000 integers with
 *       the pool's automatic chunking. Per-item overhead once messages are amortised over chunks.
 *   <li><b>W4-cpu-map</b>: 32 units of {@link #countPrimes} (about 45 ms each), sequentially in
 *       this JVM and then with {@code map}; plus the same units on a {@code ForkJoinPool} of the
 *       same width in this JVM ({@code "system": "ForkJoinPool"}), the in-process ceiling. How
 *       close real CPU-bound work gets to linear speed-up.
 *   <li><b>W5-payload-in-1MiB / W5-payload-out-1MiB</b>: {@code map} of 200 inputs of 1 MiB ({@link
 *       #length}), then of 200 results of 1 MiB ({@link #makePayload}). Bulk data throughput each
 *       way.
 *   <li><b>RT-round-trip</b>: 2,000 sequential {@code submit(...).get()} of a trivial task; p50,
 *       p99 and mean in microseconds. The latency floor of one task, with no pipelining to hide it.
 *   <li><b>RSS-idle-worker</b>: each idle worker's resident memory ({@code VmRSS} of {@code
 *       /proc/<pid>/status}) and proportional memory ({@code pss_mib}), right after start-up (on
 *       the W1 pool), and again at the end after every workload ({@code
 *       RSS-idle-worker-after-load}, after 3.5 s idle: {@code idle_s}). The memory price of each
 *       worker (see {@link Rss}).
 * </ul>
 *
 * <p>Before W2..W5 the pool is warmed up with one call, as the peer does. W4 also warms the JIT up
 * on its unit in this JVM and in the workers first, so that the sequential, ForkJoinPool and
 * procpool runs all measure compiled code (CPython has no JIT, so the peer needs no such step).
 * Each workload checks its results and fails the run, naming what differed, if they are wrong.
 *
 * <p>Fields beyond the peer's: {@code cpu_s}, the CPU seconds this JVM and the workers burned
 * during the workload (see {@link CpuTime}: on a shared 2-core machine it moves less than wall
 * time, and shows whether a workload is CPU-bound); W4's {@code limit}, {@code unit_ms} (one unit,
 * sequentially here), {@code worker_unit_ms} (one unit as the workers timed it), {@code
 * units_per_worker} and {@code vs_forkjoinpool} (procpool's throughput over the ForkJoinPool's);
 * RT's {@code cpu_us_per_task}; and {@code round} on the lines of rounds after the first with
 * {@code --repeat}.
 *
 * <p>The task functions are the static methods of this class, so they travel as serializable method
 * references and the workers find them on the same classpath (the fat jar).
 */
public final class Bench {
  static final String SYSTEM = "procpool";
  static final int MIB = 1 << 20;

  private final BenchOptions options;
  private final PrintStream out;
  private final PrintStream log;
  // The round being run, from 1 to --repeat (0 outside the rounds); only touched on the main
  // thread.
  private int round;

  private Bench(BenchOptions options, PrintStream out, PrintStream log) {
    this.options = options;
    this.out = out;
    this.log = log;
  }

  /** Runs the benchmark; exits with status 2 on a bad command line and 1 when a workload fails. */
  public static void main(String[] args) {
    BenchOptions options;
    try {
      options = BenchOptions.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    try {
      new Bench(options, System.out, System.err).run();
    } catch (Exception e) {
      System.err.println("Benchmark failed: " + rootCause(e));
      e.printStackTrace();
      System.exit(1);
    }
  }

  // -----------------------------------------------------------------------------------------------
  // Task functions: static, so that they travel as method references.

  /** The trivial task: returns its input. */
  public static Integer identity(Integer x) {
    return x;
  }

  /** W5 in: the length of a payload, so only the input is large. */
  public static Integer length(byte[] payload) {
    return payload.length;
  }

  /** W5 out: a zeroed payload of {@code n} bytes, so only the result is large. */
  public static byte[] makePayload(Integer n) {
    return new byte[n];
  }

  /**
   * The W4 unit: counts the primes below {@code limit} by trial division, divisor for divisor the
   * Python peer's {@code count_primes}. Slow on purpose: pure CPU, no allocation, predictable cost.
   */
  public static Integer countPrimes(Integer limit) {
    int n = 0;
    for (int k = 2; k < limit; k++) {
      boolean prime = true;
      for (int d = 2; d * d <= k; d++) {
        if (k % d == 0) {
          prime = false;
          break;
        }
      }
      if (prime) {
        n++;
      }
    }
    return n;
  }

  // -----------------------------------------------------------------------------------------------
  // The run

  /** A worker's JVM options, from the first pool of the run (for the environment line). */
  private List<String> workerOptions = List.of();

  private void run() throws Exception {
    for (String l : options.launchers()) {
      launcher = l;
      runWith();
    }
  }

  /** Which launcher the pools of this part of the run use: "local" or "slurm" (see BenchOptions). */
  private String launcher = "local";

  private void runWith() throws Exception {
    int n = options.workers();
    log.printf(
        "procpool-bench: %d workers%s%s, java %s, %d processors%n",
        n,
        options.quick() ? " (quick)" : "",
        launcher.equals("local") ? "" : " placed by " + launcher,
        Runtime.version(),
        Runtime.getRuntime().availableProcessors());
    // W1 first, each round with its own pool, so that no other pool competes for the cores.
    for (round = 1; round <= options.repeat(); round++) {
      if (options.runs("W1") || (options.runs("RSS") && round == 1)) {
        startToFirstResult();
      }
    }
    round = 0;
    if (Collections.disjoint(options.only(), List.of("W2", "W3", "W4", "W5", "RT", "RSS", "SWEEP"))) {
      emit(Environment.line(n, workerOptions));
      return;
    }
    try (Pool pool = newPool()) {
      check("warm-up", pool.submit(Bench::identity, 0).get(), 0);
      if (workerOptions.isEmpty()) {
        workerOptions = Environment.workerOptions(pool);
      }
      for (round = 1; round <= options.repeat(); round++) {
        if (options.runs("W2")) {
          submitTrivial(pool);
        }
        if (options.runs("W3")) {
          mapTrivial(pool);
        }
        if (options.runs("W4")) {
          cpuMap(pool);
        }
        if (options.runs("W5")) {
          payloadIn(pool);
          payloadOut(pool);
        }
        if (options.runs("RT")) {
          roundTrip(pool);
        }
        if (options.runs("SWEEP")) {
          payloadSweep(pool);
        }
      }
      round = 0;
      if (options.runs("RSS")) {
        // Idle: long enough for the shared-memory arenas to give their pages back (they do after 2 s
        // with no live slot, checked every second).
        Thread.sleep(IDLE_MILLIS);
        emit(idleRss("RSS-idle-worker-after-load", pool).put("idle_s", IDLE_MILLIS / 1000.0));
      }
    }
    emit(Environment.line(n, workerOptions));
  }

  private Pool newPool() {
    Pool.Builder b =
        Pool.builder()
            .name("bench")
            .workers(options.workers())
            .jvmOptions(options.workerJvmOptions().toArray(String[]::new));
    if (launcher.equals("slurm")) {
      // Each worker a Slurm job (or a step, inside an allocation), dialing back over TLS like workers on
      // other nodes would; its output discarded like the local workers'.
      b.launcher(SlurmLauncher.builder().output(ProcessBuilder.Redirect.DISCARD).build());
    }
    return b.build();
  }

  /** W1, and RSS-idle-worker on the same fresh pool (read outside the timed spans). */
  private void startToFirstResult() throws Exception {
    long c0 = CpuTime.nanos(null);
    long t0 = System.nanoTime();
    Pool pool = newPool();
    long t1;
    Double cpu;
    JsonLine rss;
    try {
      check("W1-start-first-result", pool.submit(Bench::identity, 1).get(), 1);
      t1 = System.nanoTime();
      if (workerOptions.isEmpty()) {
        workerOptions = Environment.workerOptions(pool);
      }
      cpu = CpuTime.seconds(c0, CpuTime.nanos(pool));
      rss = options.runs("RSS") && round == 1 ? idleRss("RSS-idle-worker", pool) : null;
    } catch (Exception | Error e) {
      pool.shutdownNow();
      throw e;
    }
    long t2 = System.nanoTime();
    pool.close();
    long t3 = System.nanoTime();
    if (options.runs("W1")) {
      emit(
          line("W1-start-first-result")
              .put("seconds", secs(t1 - t0))
              .put("shutdown_s", secs(t3 - t2))
              .put("cpu_s", cpu));
    }
    if (rss != null) {
      emit(rss);
    }
  }

  /** W2: single submits, no chunking. */
  private void submitTrivial(Pool pool) throws Exception {
    int k = options.size(20_000);
    long c0 = CpuTime.nanos(pool);
    long t0 = System.nanoTime();
    List<ListenableFuture<Integer>> fs = new ArrayList<>(k);
    for (int i = 0; i < k; i++) {
      fs.add(pool.submit(Bench::identity, i));
    }
    List<Integer> r = Futures.allAsList(fs).get();
    double dt = secs(System.nanoTime() - t0);
    Double cpu = CpuTime.seconds(c0, CpuTime.nanos(pool));
    check("W2-submit-trivial", r.get(k - 1), k - 1);
    emit(
        line("W2-submit-trivial")
            .put("tasks", k)
            .put("seconds", dt)
            .put("per_s", k / dt)
            .put("cpu_s", cpu));
  }

  /** W3: one map with automatic chunking. */
  private void mapTrivial(Pool pool) throws Exception {
    int k = options.size(200_000);
    List<Integer> inputs = IntStream.range(0, k).boxed().toList();
    long c0 = CpuTime.nanos(pool);
    long t0 = System.nanoTime();
    List<Integer> r = pool.map(Bench::identity, inputs);
    double dt = secs(System.nanoTime() - t0);
    Double cpu = CpuTime.seconds(c0, CpuTime.nanos(pool));
    check("W3-map-trivial-chunked", r.size(), k);
    check("W3-map-trivial-chunked", r.get(k - 1), k - 1);
    emit(
        line("W3-map-trivial-chunked")
            .put("items", k)
            .put("seconds", dt)
            .put("per_s", k / dt)
            .put("cpu_s", cpu));
  }

  /** W4: sequential in this JVM, then the pool, then a ForkJoinPool of the same width. */
  private void cpuMap(Pool pool) throws Exception {
    int n = options.workers();
    int units = options.quick() ? 8 : 32;
    int limit = options.primeLimit();
    List<Integer> inputs = Collections.nCopies(units, limit);

    // 1. Warm the JIT up on the unit everywhere: one unit here, a few per worker in the pool.
    Integer expected = countPrimes(limit);
    List<Integer> warm = pool.map(Bench::countPrimes, Collections.nCopies(2 * n, limit));
    check("W4-cpu-map warm-up", warm, Collections.nCopies(2 * n, expected));

    // 2. Sequential, in this JVM.
    long t0 = System.nanoTime();
    List<Integer> seqResults = new ArrayList<>(units);
    for (Integer u : inputs) {
      seqResults.add(countPrimes(u));
    }
    double seq = secs(System.nanoTime() - t0);

    // 3. The pool. The workers' busy time and task counts tell a unit that runs slower in a worker
    // from a worker left idle (imbalance, dispatch gaps).
    PoolStats before = pool.stats();
    long c0 = CpuTime.nanos(pool);
    t0 = System.nanoTime();
    List<Integer> poolResults = pool.map(Bench::countPrimes, inputs);
    double par = secs(System.nanoTime() - t0);
    Double cpu = CpuTime.seconds(c0, CpuTime.nanos(pool));
    PoolStats after = pool.stats();
    long busyNanos = 0;
    List<Object> unitsPerWorker = new ArrayList<>();
    for (int i = 0; i < after.workers().size(); i++) {
      PoolStats.Worker a = after.workers().get(i);
      PoolStats.Worker b = before.workers().get(i);
      busyNanos += a.busy().minus(b.busy()).toNanos();
      unitsPerWorker.add(a.tasksDone() - b.tasksDone());
    }

    // 4. A ForkJoinPool of the same width in this JVM: threads instead of processes.
    ForkJoinPool fjp = new ForkJoinPool(n);
    double fjpPar;
    List<Integer> fjpResults = new ArrayList<>(units);
    try {
      fjp.submit(() -> countPrimes(limit)).get(); // Start its threads outside the timed span.
      t0 = System.nanoTime();
      List<ForkJoinTask<Integer>> tasks = new ArrayList<>(units);
      for (Integer u : inputs) {
        tasks.add(fjp.submit(() -> countPrimes(u)));
      }
      for (ForkJoinTask<Integer> t : tasks) {
        fjpResults.add(t.get());
      }
      fjpPar = secs(System.nanoTime() - t0);
    } finally {
      fjp.shutdownNow();
      if (!fjp.awaitTermination(10, TimeUnit.SECONDS)) {
        log.println("W4-cpu-map: the ForkJoinPool's threads did not stop within 10 s");
      }
    }
    check("W4-cpu-map sequential", seqResults, Collections.nCopies(units, expected));
    check("W4-cpu-map procpool", poolResults, seqResults);
    check("W4-cpu-map ForkJoinPool", fjpResults, seqResults);

    emit(
        cpuLine(SYSTEM, units, limit, seq, par)
            .put("vs_forkjoinpool", fjpPar / par)
            .put("cpu_s", cpu)
            .put("worker_unit_ms", busyNanos / 1e6 / units)
            .put("units_per_worker", unitsPerWorker));
    emit(cpuLine("ForkJoinPool", units, limit, seq, fjpPar));
  }

  private JsonLine cpuLine(String system, int units, int limit, double seq, double par) {
    int n = options.workers();
    JsonLine line = new JsonLine("W4-cpu-map", system, n);
    if (round > 1) {
      line.put("round", round);
    }
    return line.put("units", units)
        .put("limit", limit)
        .put("unit_ms", seq / units * 1e3)
        .put("seq_s", seq)
        .put("par_s", par)
        .put("speedup", seq / par)
        .put("efficiency", seq / par / n);
  }

  /** W5 in: large inputs, small results. */
  private void payloadIn(Pool pool) throws Exception {
    int k = options.size(200);
    Timed t = timeIn(pool, "W5-payload-in-1MiB", MIB, k);
    emit(line("W5-payload-in-1MiB").put("mib", k).put("seconds", t.seconds())
        .put("mib_per_s", k / t.seconds()).put("cpu_s", t.cpu()));
  }

  /** W5 out: small inputs, large results. */
  private void payloadOut(Pool pool) throws Exception {
    int k = options.size(200);
    Timed t = timeOut(pool, "W5-payload-out-1MiB", MIB, k);
    emit(line("W5-payload-out-1MiB").put("mib", k).put("seconds", t.seconds())
        .put("mib_per_s", k / t.seconds()).put("cpu_s", t.cpu()));
  }

  /** Payload sizes of the sweep: 1 KiB to 512 MiB. */
  static final int[] SWEEP_BYTES = {1 << 10, 16 << 10, 256 << 10, MIB, 16 * MIB, 128 * MIB, 512 * MIB};

  /**
   * SWEEP: throughput against payload size, each way. For each size, a map of as many payloads as make
   * 256 MiB (at least 2, at most 20,000), as in W5.
   */
  private void payloadSweep(Pool pool) throws Exception {
    for (int bytes : SWEEP_BYTES) {
      int k = (int) Math.max(2, Math.min(20_000, (256L * MIB) / bytes));
      double mib = (double) k * bytes / MIB;
      for (String way : List.of("in", "out")) {
        String workload = "SWEEP-payload-" + way;
        Timed t = way.equals("in") ? timeIn(pool, workload, bytes, k) : timeOut(pool, workload, bytes, k);
        emit(line(workload).put("bytes", bytes).put("items", k).put("mib", mib).put("seconds", t.seconds())
            .put("mib_per_s", mib / t.seconds()).put("cpu_s", t.cpu()));
      }
    }
  }

  /** Wall seconds of a timed map, and the CPU seconds parent and workers burned meanwhile (or null). */
  private record Timed(double seconds, Double cpu) {}

  /** Times {@code map(length)} over {@code k} arrays of {@code bytes} and checks the lengths. */
  private Timed timeIn(Pool pool, String workload, int bytes, int k) throws Exception {
    byte[] blob = new byte[bytes];
    long c0 = CpuTime.nanos(pool);
    long t0 = System.nanoTime();
    List<Integer> r = pool.map(Bench::length, Collections.nCopies(k, blob));
    Timed t = new Timed(secs(System.nanoTime() - t0), CpuTime.seconds(c0, CpuTime.nanos(pool)));
    check(workload, r, Collections.nCopies(k, bytes));
    return t;
  }

  /** Times {@code map(makePayload)} making {@code k} results of {@code bytes} and checks them. */
  private Timed timeOut(Pool pool, String workload, int bytes, int k) throws Exception {
    long c0 = CpuTime.nanos(pool);
    long t0 = System.nanoTime();
    List<byte[]> r = pool.map(Bench::makePayload, Collections.nCopies(k, bytes));
    Timed t = new Timed(secs(System.nanoTime() - t0), CpuTime.seconds(c0, CpuTime.nanos(pool)));
    check(workload, r.size(), k);
    for (int i = 0; i < k; i++) {
      check(workload + " result " + i + " length", r.get(i).length, bytes);
    }
    return t;
  }

  /** RT: one task at a time, each waited for before the next is sent. */
  private void roundTrip(Pool pool) throws Exception {
    int k = options.size(2_000);
    for (int i = 0; i < Math.max(50, k / 4); i++) {
      check("RT-round-trip warm-up", pool.submit(Bench::identity, i).get(), i);
    }
    long[] nanos = new long[k];
    long c0 = CpuTime.nanos(pool);
    for (int i = 0; i < k; i++) {
      long t0 = System.nanoTime();
      Integer r = pool.submit(Bench::identity, i).get();
      nanos[i] = System.nanoTime() - t0;
      check("RT-round-trip", r, i);
    }
    Double cpu = CpuTime.seconds(c0, CpuTime.nanos(pool));
    Arrays.sort(nanos);
    double mean = Arrays.stream(nanos).average().orElseThrow();
    emit(
        line("RT-round-trip")
            .put("tasks", k)
            .put("p50_us", percentile(nanos, 0.50) / 1e3)
            .put("p99_us", percentile(nanos, 0.99) / 1e3)
            .put("mean_us", mean / 1e3)
            .put("cpu_us_per_task", cpu == null ? null : cpu / k * 1e6));
  }

  /**
   * Resident memory of each worker of {@code pool} (which must be idle), the largest, and each
   * worker's proportional memory (shared pages split among the processes that map them).
   */
  /** How long the pool idles before RSS-idle-worker-after-load is read. */
  private static final long IDLE_MILLIS = 3_500;

  private JsonLine idleRss(String workload, Pool pool) {
    List<Object> pids = new ArrayList<>();
    List<Object> rss = new ArrayList<>();
    List<Object> pss = new ArrayList<>();
    double max = 0;
    for (WorkerInfo w : pool.workers()) {
      double mib = Rss.residentMib(w);
      pids.add(w.pid());
      rss.add(mib);
      pss.add(Rss.proportionalMib(w));
      max = Math.max(max, mib);
    }
    return line(workload)
        .put("pids", pids)
        .put("rss_mib", rss)
        .put("max_rss_mib", max)
        .put("pss_mib", pss);
  }

  // -----------------------------------------------------------------------------------------------
  // Helpers

  private JsonLine line(String workload) {
    JsonLine line = new JsonLine(workload, SYSTEM, options.workers());
    if (round > 1) {
      line.put("round", round);
    }
    return line;
  }

  private void emit(JsonLine line) {
    if (!launcher.equals("local")) {
      line.put("launcher", launcher);
    }
    out.println(line);
    out.flush();
  }

  /** Nearest-rank percentile of sorted values. */
  static double percentile(long[] sorted, double p) {
    int rank = (int) Math.ceil(p * sorted.length);
    return sorted[Math.max(0, Math.min(sorted.length - 1, rank - 1))];
  }

  private static double secs(long nanos) {
    return nanos / 1e9;
  }

  private static void check(String what, Object actual, Object expected) {
    if (!expected.equals(actual)) {
      String a = String.valueOf(actual);
      String e = String.valueOf(expected);
      throw new IllegalStateException(
          what + ": result is " + abbreviate(a) + ", but expected " + abbreviate(e));
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 200 ? s : s.substring(0, 200) + "... (" + s.length() + " chars)";
  }

  /** Unwraps {@link ExecutionException}s for the message of a failed run. */
  static Throwable rootCause(Throwable t) {
    while (t instanceof ExecutionException && t.getCause() != null) {
      t = t.getCause();
    }
    return t;
  }
}
