package io.procpool.spi;

import static java.util.Objects.requireNonNull;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What a {@link WorkerLauncher} is given to start one worker.
 *
 * <p>The worker learns everything else from its {@link #bootstrap()}: the parent's address, the pool's
 * secret, the worker's slot and id, its settings. A launcher delivers those bytes to the worker
 * unchanged, on its standard input as the default launcher does. <b>They hold the pool's secret</b>: never
 * put them on a command line, in a process name, or in a log, where other users of the machine can read
 * them.
 *
 * <p>{@link #command()} is how the pool would run the worker JVM on this machine (the java executable,
 * the JVM options the pool and its builder chose, the class path, the worker's main class), with
 * {@link #environment()} added to the inherited environment and {@link #workingDirectory()}. A launcher
 * that runs workers under another command prefixes it ({@code nice}, {@code taskset}, a scheduler's
 * {@code srun}); one that runs them elsewhere needs the same classes there.
 */
public final class WorkerSpec {
  /**
   * The worker JVM's main class, for launchers that build a worker's command line themselves (a container
   * image's {@code java -cp /app/lib/* ...}): it reads the bootstrap, dials back and runs tasks.
   */
  public static final String WORKER_MAIN_CLASS = "io.procpool.internal.worker.WorkerMain";

  private final int index;
  private final long id;
  private final String poolName;
  private final byte[] bootstrap;
  private final String target;
  private final List<String> command;
  private final Map<String, String> environment;
  private final Path workingDirectory;
  private final List<String> jvmOptions;

  /**
   * As {@link #WorkerSpec(int, long, String, byte[], String, List, Map, Path, List)} with no JVM options.
   *
   * @param index the worker's slot, from 0
   * @param id this start's id, unique within the pool
   * @param poolName the pool's name
   * @param bootstrap what the worker reads first on its stdin (copied)
   * @param target where the worker dials back
   * @param command the command that runs the worker JVM on this machine
   * @param environment variables to add to the worker's environment
   * @param workingDirectory the directory to start the worker in, or null for the inherited one
   */
  public WorkerSpec(
      int index, long id, String poolName, byte[] bootstrap, String target, List<String> command,
      Map<String, String> environment, Path workingDirectory) {
    this(index, id, poolName, bootstrap, target, command, environment, workingDirectory, List.of());
  }

  /**
   * Made by the pool for each launch; public so that a launcher's own tests can make one.
   *
   * @param index the worker's slot, from 0
   * @param id this start's id, unique within the pool
   * @param poolName the pool's name
   * @param bootstrap what the worker reads first on its stdin (copied)
   * @param target where the worker dials back
   * @param command the command that runs the worker JVM on this machine
   * @param environment variables to add to the worker's environment
   * @param workingDirectory the directory to start the worker in, or null for the inherited one
   * @param jvmOptions the worker JVM's options, as {@link #jvmOptions()} says
   */
  public WorkerSpec(
      int index, long id, String poolName, byte[] bootstrap, String target, List<String> command,
      Map<String, String> environment, Path workingDirectory, List<String> jvmOptions) {
    if (index < 0) {
      throw new IllegalArgumentException("worker index must be >= 0, not " + index);
    }
    this.index = index;
    this.id = id;
    this.poolName = requireNonNull(poolName, "poolName");
    this.bootstrap = requireNonNull(bootstrap, "bootstrap").clone();
    this.target = requireNonNull(target, "target");
    this.command = List.copyOf(command);
    this.environment = Map.copyOf(environment);
    this.workingDirectory = workingDirectory;
    this.jvmOptions = List.copyOf(jvmOptions);
  }

  /**
   * The worker JVM's options from {@code Pool.builder().jvmOptions(...)}, for a launcher that writes its
   * own command line (a container's) and so cannot use {@link #command()}, where they already are. For a
   * launcher whose workers may run on other machines these are the builder's options alone; for one on
   * this machine they also hold the maximum heap the pool chose when the builder set none.
   *
   * @return the options, in order
   */
  public List<String> jvmOptions() {
    return jvmOptions;
  }

  /**
   * The worker's slot in the pool, from 0 to workers - 1; a replacement takes the slot it replaces.
   *
   * @return the slot index
   */
  public int index() {
    return index;
  }

  /**
   * This start's id, unique within the pool (a replacement has a new one).
   *
   * @return the id
   */
  public long id() {
    return id;
  }

  /**
   * The pool's name, for naming jobs, threads and logs.
   *
   * @return the pool's name
   */
  public String poolName() {
    return poolName;
  }

  /**
   * What the worker must read before anything else: a length-delimited {@code procpool.v1.Bootstrap}
   * message, as its standard input's first bytes. A fresh copy on each call. Secret: see the class
   * comment.
   *
   * @return the bytes to deliver to the worker
   */
  public byte[] bootstrap() {
    return bootstrap.clone();
  }

  /**
   * Where the worker dials back: {@code unix:/path} on this machine, or {@code host:port}.
   *
   * @return the target address
   */
  public String target() {
    return target;
  }

  /**
   * The command that runs the worker JVM on this machine (see the class comment).
   *
   * @return the command line, as a list of arguments
   */
  public List<String> command() {
    return command;
  }

  /**
   * Variables to add to the worker's inherited environment.
   *
   * @return the variables, by name
   */
  public Map<String, String> environment() {
    return environment;
  }

  /**
   * The directory to start the worker in, if the pool's builder set one.
   *
   * @return the directory, or empty for the inherited one
   */
  public Optional<Path> workingDirectory() {
    return Optional.ofNullable(workingDirectory);
  }

  @Override
  public String toString() {
    return "WorkerSpec[" + poolName + " worker " + index + ", id " + id + ", target " + target + "]";
  }
}
