package io.procpool.slurm;

import static java.util.Objects.requireNonNull;

import io.procpool.spi.Network;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Workers placed by Slurm: each worker is started with {@code srun --ntasks=1}, which makes it a job step
 * when this JVM runs inside an allocation ({@code SLURM_JOB_ID} set, as in an {@code sbatch} script or
 * {@code salloc}) and a job of its own otherwise. The worker runs the pool's own worker command, so the
 * class path must be on a file system the nodes share.
 *
 * <p>How a worker lives and dies:
 *
 * <ul>
 *   <li>Its bootstrap goes to {@code srun}'s stdin, which Slurm forwards to the worker; that pipe stays
 *       open, so when this JVM dies (even by SIGKILL) the worker reads end-of-file, exits, and its step
 *       or job ends: nothing is left queued or running.
 *   <li>A worker that waits in the queue is not a failure: {@code srun} waits with it, and the pool's
 *       {@code startTimeout} bounds how long {@code build()} waits for the first worker to connect.
 *   <li>Its exit code is {@code srun}'s: the worker's own, or 143 (SIGTERM) when the job was cancelled
 *       ({@code scancel}), timed out or lost its node; the pool counts that as a worker that died (its
 *       task is retried under {@code maxRetries}) and starts a new step or job in its place.
 *   <li>{@link WorkerHandle#kill()} cancels the job ({@code scancel}) when the worker is a job of its
 *       own, and signals {@code srun}, which ends the step, in either case.
 * </ul>
 *
 * <p>This class is thread-safe.
 */
public final class SlurmLauncher implements WorkerLauncher {
  private final String srun;
  private final String scancel;
  private final String partition;
  private final String account;
  private final int cpusPerWorker;
  private final String memoryPerWorker;
  private final Duration timeLimit;
  private final List<String> extraArgs;
  private final ProcessBuilder.Redirect output;
  private final boolean insideAllocation;
  private final Network network;

  private SlurmLauncher(Builder b) {
    this.network = b.network;
    this.srun = b.srun;
    this.scancel = b.scancel;
    this.partition = b.partition;
    this.account = b.account;
    this.cpusPerWorker = b.cpusPerWorker;
    this.memoryPerWorker = b.memoryPerWorker;
    this.timeLimit = b.timeLimit;
    this.extraArgs = List.copyOf(b.extraArgs);
    this.output = b.output;
    String job = System.getenv("SLURM_JOB_ID");
    this.insideAllocation = job != null && !job.isBlank();
  }

  /**
   * A builder with the defaults: {@code srun} and {@code scancel} from the {@code PATH}, one CPU per
   * worker, the cluster's default partition, account, memory and time limit, worker output inherited.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder();
  }

  /** Options of a {@link SlurmLauncher}. */
  public static final class Builder {
    private String srun = "srun";
    private String scancel = "scancel";
    private Network network = Network.routable();
    private String partition;
    private String account;
    private int cpusPerWorker = 1;
    private String memoryPerWorker;
    private Duration timeLimit;
    private final List<String> extraArgs = new ArrayList<>();
    private ProcessBuilder.Redirect output = ProcessBuilder.Redirect.INHERIT;

    private Builder() {}

    /**
     * The partition to run workers in ({@code --partition}).
     *
     * @param partition a partition name
     * @return this builder
     */
    public Builder partition(String partition) {
      this.partition = nonBlank(partition, "partition");
      return this;
    }

    /**
     * The account to charge ({@code --account}).
     *
     * @param account an account name
     * @return this builder
     */
    public Builder account(String account) {
      this.account = nonBlank(account, "account");
      return this;
    }

    /**
     * CPUs per worker ({@code --cpus-per-task}); default 1.
     *
     * @param cpus at least 1
     * @return this builder
     */
    public Builder cpusPerWorker(int cpus) {
      if (cpus < 1) {
        throw new IllegalArgumentException("cpusPerWorker is " + cpus + ", but must be at least 1");
      }
      this.cpusPerWorker = cpus;
      return this;
    }

    /**
     * Memory per worker ({@code --mem}), in Slurm's syntax: {@code 4G}, {@code 512M}.
     *
     * @param memory a size with a unit
     * @return this builder
     */
    public Builder memoryPerWorker(String memory) {
      String m = nonBlank(memory, "memoryPerWorker");
      if (!m.matches("[0-9]+[KMGT]?")) {
        throw new IllegalArgumentException("memoryPerWorker is \"" + m + "\", but must be a size like 4G or 512M");
      }
      this.memoryPerWorker = m;
      return this;
    }

    /**
     * The time limit of each worker's step or job ({@code --time}, whole minutes, rounded up). A worker
     * that reaches it is ended by Slurm and replaced like any worker that dies.
     *
     * @param limit positive
     * @return this builder
     */
    public Builder timeLimit(Duration limit) {
      requireNonNull(limit, "timeLimit");
      if (limit.isNegative() || limit.isZero()) {
        throw new IllegalArgumentException("timeLimit is " + limit + ", but must be positive");
      }
      this.timeLimit = limit;
      return this;
    }

    /**
     * More {@code srun} options, put after the ones above (so they win where {@code srun} takes the
     * last): {@code "--constraint=avx2"}, {@code "--qos=long"}.
     *
     * @param args options, each one argument
     * @return this builder
     */
    public Builder srunArgs(String... args) {
      for (String a : args) {
        extraArgs.add(requireNonNull(a, "srun argument"));
      }
      return this;
    }

    /**
     * The {@code srun} and {@code scancel} executables; default: found on the {@code PATH}.
     *
     * @param srun the srun command
     * @param scancel the scancel command
     * @return this builder
     */
    public Builder commands(String srun, String scancel) {
      this.srun = nonBlank(srun, "srun");
      this.scancel = nonBlank(scancel, "scancel");
      return this;
    }

    /**
     * Where the workers' stdout and stderr go (forwarded by {@code srun}); default: this JVM's.
     *
     * @param output a redirect, e.g. {@code ProcessBuilder.Redirect.DISCARD} or to a file
     * @return this builder
     */
    public Builder output(ProcessBuilder.Redirect output) {
      this.output = requireNonNull(output, "output");
      return this;
    }

    /**
     * Where the workers may run, which decides how the pool listens for them. The default, {@link
     * Network#routable()}: Slurm may place a worker on any node, so the pool listens on every interface
     * with TLS and workers dial this machine's name or address (see {@link Network} for how it is found,
     * and {@code -Dprocpool.advertisedHost} to choose it). {@link Network#thisMachine()} suits a cluster of
     * one node, or a partition that is this machine: workers then use the pool's Unix socket and shared
     * memory, and do not start unless Slurm places them here.
     *
     * @param network where the workers may run
     * @return this builder
     */
    public Builder network(Network network) {
      this.network = requireNonNull(network, "network");
      return this;
    }

    /**
     * A launcher with these options.
     *
     * @return the launcher
     */
    public SlurmLauncher build() {
      return new SlurmLauncher(this);
    }

    private static String nonBlank(String s, String what) {
      requireNonNull(s, what);
      if (s.isBlank()) {
        throw new IllegalArgumentException(what + " is blank");
      }
      return s;
    }
  }

  /**
   * The name each worker's job or step gets: the pool's name, the worker's slot and its start id, so
   * that {@code squeue} tells them apart and a replacement never shares a name with the worker it
   * replaces.
   *
   * @param spec the worker
   * @return the job name
   */
  public static String jobName(WorkerSpec spec) {
    return "procpool-" + spec.poolName() + "-w" + spec.index() + "-" + spec.id();
  }

  /**
   * The {@code srun} command line for {@code spec}.
   *
   * @param spec the worker
   * @return the command, ending with the pool's worker command
   */
  public List<String> command(WorkerSpec spec) {
    List<String> cmd = new ArrayList<>();
    cmd.add(srun);
    cmd.add("--ntasks=1");
    cmd.add("--nodes=1");
    cmd.add("--job-name=" + jobName(spec));
    cmd.add("--cpus-per-task=" + cpusPerWorker);
    cmd.add("--quiet");
    if (partition != null) {
      cmd.add("--partition=" + partition);
    }
    if (account != null) {
      cmd.add("--account=" + account);
    }
    if (memoryPerWorker != null) {
      cmd.add("--mem=" + memoryPerWorker);
    }
    if (timeLimit != null) {
      long minutes = Math.max(1, (timeLimit.toSeconds() + 59) / 60);
      cmd.add("--time=" + minutes);
    }
    spec.workingDirectory().ifPresent(d -> cmd.add("--chdir=" + d));
    cmd.addAll(extraArgs);
    cmd.addAll(spec.command());
    return cmd;
  }

  @Override
  public Network network() {
    return network;
  }

  @Override
  public WorkerHandle launch(WorkerSpec spec) throws IOException {
    if (spec.command().isEmpty()) {
      throw new IOException(spec + " has no worker command to run under srun");
    }
    ProcessBuilder pb = new ProcessBuilder(command(spec)).redirectOutput(output).redirectError(output);
    // srun passes its environment on to the worker (--export=ALL, Slurm's default).
    pb.environment().putAll(spec.environment());
    Process p = pb.start();
    OutputStream stdin = p.getOutputStream();
    try {
      stdin.write(spec.bootstrap());
      stdin.flush();
    } catch (IOException e) {
      // srun failed at once (a bad option, no such partition): its exit code says so through onExit.
    }
    return new SlurmWorker(p, stdin, jobName(spec));
  }

  /** A worker as {@code srun} runs it. */
  private final class SlurmWorker implements WorkerHandle {
    private final Process srunProcess;
    private final OutputStream stdin;
    private final String name;
    private final CompletableFuture<Integer> exit;

    SlurmWorker(Process srunProcess, OutputStream stdin, String name) {
      this.srunProcess = srunProcess;
      this.stdin = stdin;
      this.name = name;
      this.exit = srunProcess.onExit().thenApply(Process::exitValue);
    }

    @Override
    public CompletableFuture<Integer> onExit() {
      return exit;
    }

    @Override
    public void kill() {
      if (!srunProcess.isAlive()) {
        return;
      }
      if (!insideAllocation) {
        // The worker is a job of its own: cancel it, whatever state srun is in.
        try {
          Process cancel =
              new ProcessBuilder(scancel, "--name=" + name, "--signal=KILL", "--full")
                  .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                  .redirectError(ProcessBuilder.Redirect.DISCARD)
                  .start();
          cancel.waitFor(10, TimeUnit.SECONDS);
        } catch (IOException e) {
          // No scancel: signalling srun below still ends the step.
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
      // SIGTERM: srun relays it to the worker and ends the step (Slurm sends SIGKILL after KillWait).
      srunProcess.destroy();
    }

    @Override
    public String description() {
      return "Slurm " + (insideAllocation ? "step " : "job ") + name;
    }

    @Override
    public void streamEnded() {
      try {
        stdin.close();
      } catch (IOException e) {
        // Gone already.
      }
    }
  }
}
