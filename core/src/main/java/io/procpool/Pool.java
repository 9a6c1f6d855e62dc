package io.procpool;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.ListeningExecutorService;
import io.procpool.internal.dispatch.Capture;
import io.procpool.internal.dispatch.Maps;
import io.procpool.internal.dispatch.PoolConfig;
import io.procpool.internal.dispatch.PoolCore;
import io.procpool.internal.supervisor.Durations;
import io.procpool.internal.supervisor.JvmCommand;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.supervisor.WorkerClasspath;
import io.procpool.internal.supervisor.WorkerHeap;
import io.procpool.spi.WorkerLauncher;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.stream.Stream;

/**
 * A pool of worker JVMs that run {@link Task}s: Java's answer to Python's {@code multiprocessing.Pool}
 * and {@code ProcessPoolExecutor}.
 *
 * <p>{@link #builder()}{@code ...build()} starts the workers, each a direct child process of this JVM
 * connected back to it by a gRPC stream over a Unix socket or loopback. Tasks are queued, sent to workers
 * a few at a time, and run one at a time per worker; their results complete {@link ListenableFuture}s.
 *
 * <p>What callers may rely on:
 *
 * <ul>
 *   <li>A task that throws fails its future with an {@link ExecutionException} whose cause is the task's
 *       exception (re-created with its class when it can be, else a {@link RemoteTaskException}), with
 *       the worker-side stack trace.
 *   <li>A worker that dies while running a task fails that task with {@link WorkerCrashedException}
 *       (unless {@code maxRetries} allows a re-run); tasks it had been sent but not started run
 *       elsewhere. The worker is replaced and every other task goes on.
 *   <li>Futures are completed on the pool's executor threads (named {@code <pool>-exec-N}, made as
 *       needed), never on a thread that dispatches tasks, reads worker messages or watches workers, so
 *       a listener added with a direct executor may block, or even call {@link #close()}, without
 *       stalling the pool. Two exceptions run in the caller's thread: a task whose function or input
 *       cannot be encoded fails its future inside {@code submit}, and {@link #shutdownNow()} cancels the
 *       unfinished futures before it returns (so {@code isCancelled()} is true at once).
 *   <li>If this JVM dies, even by SIGKILL, every worker exits by itself within a few seconds.
 * </ul>
 *
 * <p>This class is thread-safe.
 */
public final class Pool implements AutoCloseable {
  private final PoolCore core;
  /** Whether this is {@link #common()}, which cannot be shut down. */
  private final boolean common;

  private Pool(PoolCore core, boolean common) {
    this.core = core;
    this.common = common;
  }

  /**
   * The pool shared by everything in this JVM, for code that wants processes without owning a pool's
   * life, like {@code ForkJoinPool.commonPool()}: the same instance on every call.
   *
   * <p>It starts no worker until a task comes. Then it launches a worker for each task that waits, up to
   * {@link Runtime#availableProcessors()} workers (system property {@code procpool.common.workers}
   * overrides); a worker that has had nothing to do for 60 seconds exits (system property {@code
   * procpool.common.idleTimeout}, such as {@code 5m}, {@code 30s} or {@code 500ms}), and a new one starts
   * when tasks come again. So a library may call {@code Pool.common().map(...)} on every request and pay
   * for starting workers once per busy period. Its workers are this JVM's children like any pool's, with
   * every builder default; if they cannot start, the tasks waiting for them fail with {@link
   * WorkerStartException} and the next task tries again.
   *
   * <p>{@link #shutdown()}, {@link #shutdownNow()} and {@link #close()} have no effect on it, and {@link
   * #isShutdown()} stays false (so {@link #join()} throws {@code IllegalStateException} and {@link
   * #awaitTermination} waits its whole timeout and returns false); its workers end when this JVM exits,
   * and its threads never keep the JVM from exiting.
   *
   * @return the common pool
   * @throws IllegalArgumentException if {@code procpool.common.workers} or {@code
   *     procpool.common.idleTimeout} is set to a value that is not a positive number or duration
   */
  public static Pool common() {
    return CommonPool.get();
  }

  /**
   * Starts building a pool.
   *
   * @return a builder with every setting at its default
   */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Runs {@code task} on {@code input} in a worker.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param input the argument of the task
   * @return a future of the task's result
   * @throws RejectedExecutionException if the pool is shut down
   */
  public <I, O> ListenableFuture<O> submit(Task<I, O> task, I input) {
    requireNonNull(task, "task");
    return core.enqueue(task, java.util.Collections.singletonList(input), true);
  }

  /**
   * Runs {@code task} on {@code input} in a worker, and hands out what it printed on System.out and
   * System.err beside its result. If the task fails, what it printed is attached to the failure (see
   * {@link TaskOutput#of(Throwable)}).
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param input the argument of the task
   * @return a future of the result and the output
   * @throws IllegalStateException if the pool was not built with {@link WorkerOutput#CAPTURE}
   * @throws RejectedExecutionException if the pool is shut down
   */
  public <I, O> ListenableFuture<Captured<O>> submitCaptured(Task<I, O> task, I input) {
    requireNonNull(task, "task");
    return Capture.submit(core, task, input);
  }

  /**
   * Applies {@code task} to every input, in parallel across the workers, and returns the outputs in input
   * order. Inputs are sent in chunks sized to the measured cost of one input (about 20 ms of work each,
   * at most a quarter of each worker's share), so that small tasks are cheap and large ones balance.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param inputs the inputs, each an argument of the task
   * @return the outputs, in input order
   * @throws ExecutionException with the first task failure as its cause
   * @throws InterruptedException if interrupted while waiting; the map's tasks are then cancelled
   */
  public <I, O> List<O> map(Task<I, O> task, Iterable<? extends I> inputs)
      throws ExecutionException, InterruptedException {
    return map(task, inputs, null);
  }

  /**
   * Like {@link #map(Task, Iterable)}, reporting to {@code listener} as inputs finish (see {@link
   * ProgressListener} for when it is called); its final call has returned by the time this method
   * returns or throws.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param inputs the inputs, each an argument of the task
   * @param listener receives the progress; null for none
   * @return the outputs, in input order
   * @throws ExecutionException with the first task failure as its cause
   * @throws InterruptedException if interrupted while waiting; the map's tasks are then cancelled
   */
  public <I, O> List<O> map(Task<I, O> task, Iterable<? extends I> inputs, ProgressListener listener)
      throws ExecutionException, InterruptedException {
    ListenableFuture<List<O>> f = mapAsync(task, inputs, listener);
    try {
      return f.get();
    } catch (InterruptedException e) {
      f.cancel(true);
      throw e;
    }
  }

  /**
   * Like {@link #map} but returns at once. The future fails with the first task failure (and the rest of
   * the map is cancelled); cancelling it cancels every task of the map.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param inputs the inputs, each an argument of the task
   * @return a future of the outputs, in input order
   */
  public <I, O> ListenableFuture<List<O>> mapAsync(Task<I, O> task, Iterable<? extends I> inputs) {
    return mapAsync(task, inputs, null);
  }

  /**
   * Like {@link #mapAsync(Task, Iterable)}, reporting to {@code listener} as inputs finish; the future
   * completes after the listener's final call has returned.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param inputs the inputs, each an argument of the task
   * @param listener receives the progress; null for none
   * @return a future of the outputs, in input order
   */
  public <I, O> ListenableFuture<List<O>> mapAsync(
      Task<I, O> task, Iterable<? extends I> inputs, ProgressListener listener) {
    requireNonNull(task, "task");
    requireNonNull(inputs, "inputs");
    List<I> list = new ArrayList<>(inputs instanceof Collection<?> c ? c.size() : 16);
    for (I in : inputs) {
      list.add(in);
    }
    return Maps.mapAsync(core, task, list, listener);
  }

  /**
   * A lazy, ordered map: inputs are read from {@code inputs} only as results are consumed, with bounded
   * read-ahead, so an infinite input works. A failed task surfaces, when the stream reaches it, as an
   * {@link com.google.common.util.concurrent.UncheckedExecutionException} whose cause is the task's
   * exception; nothing is yielded after it. Closing the stream cancels the tasks still outstanding.
   * Consume or close the stream before {@link #shutdown()}: after it, the stream yields what was already
   * sent and may then throw {@link RejectedExecutionException} once the pool has terminated.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param inputs the inputs, each an argument of the task
   * @return a stream of the outputs, in input order
   */
  public <I, O> Stream<O> imap(Task<I, O> task, Iterable<? extends I> inputs) {
    return imap(task, inputs, null);
  }

  /**
   * Like {@link #imap(Task, Iterable)}, reporting to {@code listener} as inputs finish (which may be
   * ahead of what the stream has yielded, by the read-ahead). The total is known when {@code inputs} is
   * a {@link Collection}, else once it is exhausted. The final call comes when the stream is exhausted,
   * fails or is closed, on the consuming thread.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param inputs the inputs, each an argument of the task
   * @param listener receives the progress; null for none
   * @return a stream of the outputs, in input order
   */
  public <I, O> Stream<O> imap(Task<I, O> task, Iterable<? extends I> inputs, ProgressListener listener) {
    requireNonNull(task, "task");
    requireNonNull(inputs, "inputs");
    @SuppressWarnings("unchecked")
    Iterable<I> in = (Iterable<I>) inputs;
    return Maps.imap(core, task, in, true, listener);
  }

  /**
   * Like {@link #imap(Task, Iterable)} but yields results in completion order.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param inputs the inputs, each an argument of the task
   * @return a stream of the outputs, in completion order
   */
  public <I, O> Stream<O> imapUnordered(Task<I, O> task, Iterable<? extends I> inputs) {
    return imapUnordered(task, inputs, null);
  }

  /**
   * Like {@link #imapUnordered(Task, Iterable)}, reporting to {@code listener} as for {@link #imap(Task,
   * Iterable, ProgressListener)}.
   *
   * @param <I> the type of the task's input
   * @param <O> the type of the task's output
   * @param task the function to run: a serializable lambda or method reference
   * @param inputs the inputs, each an argument of the task
   * @param listener receives the progress; null for none
   * @return a stream of the outputs, in completion order
   */
  public <I, O> Stream<O> imapUnordered(
      Task<I, O> task, Iterable<? extends I> inputs, ProgressListener listener) {
    requireNonNull(task, "task");
    requireNonNull(inputs, "inputs");
    @SuppressWarnings("unchecked")
    Iterable<I> in = (Iterable<I>) inputs;
    return Maps.imap(core, task, in, false, listener);
  }

  /**
   * A snapshot of the workers, one per index.
   *
   * @return one entry per worker index
   */
  public List<WorkerInfo> workers() {
    return core.workers();
  }

  /**
   * Counters of the pool and figures of each worker (reported on its heartbeat).
   *
   * @return a snapshot of the counters
   */
  public PoolStats stats() {
    return core.stats();
  }

  /**
   * This pool as a {@code ListeningExecutorService}, for code that takes an {@code Executor} or {@code
   * ExecutorService}: each {@code Callable} or {@code Runnable} runs in a worker, and must therefore be
   * {@code Serializable} (e.g. {@code (Callable<Long> & Serializable) () -> count(n)}); one that is not
   * fails with {@link TaskCodecException} naming its class. Its {@code shutdown()}, {@code shutdownNow()},
   * {@code awaitTermination} and {@code close()} act on this pool.
   *
   * @return a view of this pool; every call returns an equivalent one
   */
  public ListeningExecutorService asExecutorService() {
    return new PoolExecutorService(this);
  }

  /**
   * Stops accepting tasks ({@link RejectedExecutionException} from then on); queued and running tasks
   * finish; then the workers exit. Returns at once; see {@link #join()}. No effect on {@link #common()}.
   */
  public void shutdown() {
    if (common) {
      return;
    }
    core.shutdown();
  }

  /**
   * Kills every worker now; every unfinished future is cancelled, running ones included. No effect on
   * {@link #common()}.
   */
  public void shutdownNow() {
    if (common) {
      return;
    }
    core.shutdownNow();
  }

  /**
   * Waits until every worker's process has exited.
   *
   * @throws IllegalStateException if neither {@link #shutdown()} nor {@link #shutdownNow()} was called,
   *     and always for {@link #common()}
   * @throws InterruptedException if interrupted while waiting
   */
  public void join() throws InterruptedException {
    if (common) {
      throw new IllegalStateException(
          "Pool.common() is never shut down: join() would wait until this JVM exits");
    }
    core.join();
  }

  /**
   * Waits up to {@code timeout} for the pool to terminate: every worker's process has exited and every
   * future is done. Before any shutdown it waits the whole time and returns false, as {@code
   * ExecutorService} does.
   *
   * @param timeout the longest time to wait; any length, up to {@code ChronoUnit.FOREVER} (waits longer
   *     than 100 years are waits of 100 years)
   * @return true if the pool terminated, false if the time ran out first
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean awaitTermination(Duration timeout) throws InterruptedException {
    requireNonNull(timeout, "timeout");
    return core.awaitTermination(Durations.saturate(timeout));
  }

  /**
   * Whether {@link #shutdown()} or {@link #shutdownNow()} was called (or the pool failed).
   *
   * @return true once the pool accepts no more tasks
   */
  public boolean isShutdown() {
    return core.isShutdown();
  }

  /**
   * Whether the pool has terminated: every worker's process has exited and every future is done.
   *
   * @return true once terminated
   */
  public boolean isTerminated() {
    return core.isTerminated();
  }

  /**
   * {@link #shutdown()}, then waits until the pool has terminated. If interrupted while waiting, it
   * calls {@link #shutdownNow()} and goes on waiting (for the kills to land), then returns with the
   * interrupt status set, as JDK 19's {@code ExecutorService.close()} does. It may be called from any
   * thread, a future's listener included: futures complete on the pool's executor threads, which a
   * waiting listener does not stop. No effect on {@link #common()}.
   */
  @Override
  public void close() {
    if (common) {
      return;
    }
    shutdown();
    boolean interrupted = false;
    while (true) {
      try {
        join();
        break;
      } catch (InterruptedException e) {
        if (!interrupted) {
          interrupted = true;
          shutdownNow();
        }
      }
    }
    if (interrupted) {
      Thread.currentThread().interrupt();
    }
  }

  @Override
  public String toString() {
    return core.toString();
  }

  /** The address of the pool's gRPC server (a Unix socket or loopback TCP), or null in process; for tests. */
  java.net.SocketAddress serverAddress() {
    return core.server().socketAddress();
  }

  /**
   * Builds a {@link Pool}. Every setter checks its argument at once; {@link #build()} copies the settings,
   * so a builder may be reused.
   */
  public static final class Builder {
    /**
     * The longest heartbeat interval: {@code Integer.MAX_VALUE} ms (about 24.8 days), as it travels to
     * workers in a 32-bit field. Longer ones are clamped to it.
     */
    private static final Duration MAX_HEARTBEAT_INTERVAL = Duration.ofMillis(Integer.MAX_VALUE);

    private int workers = Runtime.getRuntime().availableProcessors();
    private final List<String> jvmOptions = new ArrayList<>();
    private long maxTasksPerWorker;
    private Duration taskTimeout;
    private int maxRetries;
    private Task<Integer, ?> initializer;
    private Path javaExecutable;
    private String classpath;
    private final Map<String, String> environment = new LinkedHashMap<>();
    private Path workingDirectory;
    private String name = "procpool";
    private WorkerOutput output = WorkerOutput.INHERIT;
    private String serialFilter = "";
    private Duration startTimeout = Duration.ofSeconds(60);
    private Duration heartbeatInterval = Duration.ofMillis(500);
    private Duration heartbeatTimeout = Duration.ofSeconds(10);
    private Duration cancelGracePeriod = Duration.ofSeconds(2);
    private WorkerLauncher launcher;
    private Duration idleTimeout;
    private boolean common;

    private Builder() {}

    /**
     * Makes the pool {@link Pool#common()}: elastic (no worker until a task comes, idle workers exit
     * after {@code idleTimeout}) and not to be shut down.
     */
    Builder common(Duration idleTimeout) {
      this.idleTimeout = requireNonNull(idleTimeout, "idleTimeout");
      this.common = true;
      return this;
    }

    /**
     * Number of worker JVMs. Default: {@link Runtime#availableProcessors()}.
     *
     * @param workers the number of worker JVMs, at least 1
     * @return this builder
     */
    public Builder workers(int workers) {
      checkArgument(workers >= 1, "workers is %s, but must be at least 1", workers);
      this.workers = workers;
      return this;
    }

    /**
     * Extra options for every worker JVM, such as {@code -Xmx256m} or {@code -Dk=v}, added after the
     * defaults ({@code -XX:+UseSerialGC} unless a collector is named, {@code -XX:+ExitOnOutOfMemoryError})
     * so they win. Default: none.
     *
     * <p>Unless these options (or {@code JAVA_TOOL_OPTIONS} in the workers' environment) limit the heap
     * ({@code -Xmx}, {@code -XX:MaxHeapSize}, {@code -XX:MaxRAM}, {@code -XX:MaxRAMPercentage}), each
     * worker's maximum heap defaults to its share of the machine's (or container's) memory: (memory - this
     * JVM's maximum heap - 128 MiB of non-heap memory per JVM) / workers, at most the JVM's usual quarter of
     * memory and at least 64 MiB, so that the pool as a whole fits and the kernel's OOM killer does not
     * take the job.
     *
     * @param options JVM options, none of them blank
     * @return this builder
     */
    public Builder jvmOptions(String... options) {
      requireNonNull(options, "options");
      for (String o : options) {
        requireNonNull(o, "jvmOptions contains null");
        checkArgument(!o.isBlank(), "jvmOptions contains a blank option");
      }
      jvmOptions.addAll(List.of(options));
      return this;
    }

    /**
     * A worker is replaced after running this many task inputs (each element of a map counts). Default:
     * unlimited (0).
     *
     * @param max task inputs per worker, at least 1
     * @return this builder
     */
    public Builder maxTasksPerWorker(long max) {
      checkArgument(max >= 1, "maxTasksPerWorker is %s, but must be at least 1", max);
      this.maxTasksPerWorker = max;
      return this;
    }

    /**
     * Longest time one task may run on its worker (its wait in the queue does not count). A task over it
     * fails with {@link TaskTimeoutException}, and its worker is killed and replaced. Default: none.
     * With a timeout, maps send one input per task. A timeout longer than 100 years (up to {@code
     * ChronoUnit.FOREVER}) is accepted and taken as 100 years, that is, practically none.
     *
     * @param timeout the longest run time of one task, positive
     * @return this builder
     */
    public Builder taskTimeout(Duration timeout) {
      requireNonNull(timeout, "taskTimeout");
      checkArgument(
          !timeout.isNegative() && !timeout.isZero(), "taskTimeout is %s, but must be positive", timeout);
      this.taskTimeout = Durations.saturate(timeout);
      return this;
    }

    /**
     * How many more times to run a task whose worker died while running it (never one that threw). After
     * n+1 deaths the task fails with {@link WorkerCrashedException} naming every attempt. Default: 0,
     * since a crashed task may have had side effects.
     *
     * @param retries re-runs after a worker death, at least 0
     * @return this builder
     */
    public Builder maxRetries(int retries) {
      checkArgument(retries >= 0, "maxRetries is %s, but must be at least 0", retries);
      this.maxRetries = retries;
      return this;
    }

    /**
     * Runs once in each worker (argument: the worker index) before its first task, replacements
     * included. If it throws while the pool is being built, {@link #build()} throws. Default: none.
     *
     * @param initializer the task to run with the worker index
     * @return this builder
     */
    public Builder initializer(Task<Integer, ?> initializer) {
      this.initializer = requireNonNull(initializer, "initializer");
      return this;
    }

    /**
     * The java executable for workers. Default: this JVM's own.
     *
     * @param java the path of an executable {@code java}
     * @return this builder
     */
    public Builder javaExecutable(Path java) {
      requireNonNull(java, "javaExecutable");
      checkArgument(
          java.toFile().canExecute(), "javaExecutable %s does not exist or is not executable", java);
      this.javaExecutable = java;
      return this;
    }

    /**
     * Runs workers with the JDK or JRE at {@code javaHome} ({@code javaHome/bin/java}).
     *
     * @param javaHome a JDK or JRE directory
     * @return this builder
     */
    public Builder javaHome(Path javaHome) {
      requireNonNull(javaHome, "javaHome");
      return javaExecutable(javaHome.resolve("bin").resolve("java"));
    }

    /**
     * The workers' classpath, replacing the default. Relative entries are resolved against this JVM's
     * working directory (not the workers' {@link #workingDirectory}).
     *
     * <p>Default: found at {@link #build()} by walking the class loaders of the thread that calls it
     * (its context loader), of the class that calls it, of the {@link #initializer} and of procpool
     * itself, each up to the platform loader: {@code java.class.path} made absolute, the module path,
     * and the {@code file:} URLs of every {@code URLClassLoader} (a plug-in's loader, {@code mvn
     * exec:java}). Under a Spring Boot executable jar ({@code java -jar app.jar}), workers run that jar
     * through Boot's {@code PropertiesLauncher} instead, and see its classes and nested jars. A task
     * whose classes come from a loader that was not visible at {@code build()} is not covered by the
     * class path; see "Where your code can come from" in the README.
     *
     * @param classpath a classpath, in this platform's syntax
     * @return this builder
     */
    public Builder classpath(String classpath) {
      requireNonNull(classpath, "classpath");
      checkArgument(!classpath.isBlank(), "classpath is blank");
      this.classpath = classpath;
      return this;
    }

    /**
     * Adds an environment variable for workers (they inherit this JVM's environment besides).
     *
     * @param key the variable's name
     * @param value its value
     * @return this builder
     */
    public Builder environment(String key, String value) {
      requireNonNull(key, "key");
      requireNonNull(value, "value");
      environment.put(key, value);
      return this;
    }

    /**
     * The workers' working directory. Default: this JVM's.
     *
     * @param dir an existing directory
     * @return this builder
     */
    public Builder workingDirectory(Path dir) {
      requireNonNull(dir, "workingDirectory");
      checkArgument(dir.toFile().isDirectory(), "workingDirectory %s is not a directory", dir);
      this.workingDirectory = dir;
      return this;
    }

    /**
     * Prefix for the pool's thread names and log lines. Default: "procpool".
     *
     * @param name 1 to 64 of {@code [A-Za-z0-9._-]}
     * @return this builder
     */
    public Builder name(String name) {
      requireNonNull(name, "name");
      checkArgument(name.matches("[A-Za-z0-9._-]{1,64}"), "name %s must be 1-64 of [A-Za-z0-9._-]", name);
      this.name = name;
      return this;
    }

    /**
     * Where worker stdout and stderr go. Default: {@link WorkerOutput#INHERIT}.
     *
     * @param output the mode
     * @return this builder
     */
    public Builder workerOutput(WorkerOutput output) {
      this.output = requireNonNull(output, "workerOutput");
      return this;
    }

    /**
     * An {@link java.io.ObjectInputFilter} pattern (e.g. {@code "!com.example.Unsafe;com.example.**"} or
     * {@code "maxarray=1000"}) applied, in both the parent and the workers, to every task, input, result
     * and exception that travels by Java serialization. Your pattern decides first; then, for each limit
     * you did not set, the default applies: {@code maxdepth=1000}, {@code maxrefs=10000000}, {@code
     * maxarray=67108864} (64 Mi elements) and {@code maxbytes=268435456} (256 MiB per value). A limit you
     * set is never loosened by these defaults; raise one by setting it (e.g. {@code "maxbytes=1073741824"}).
     * A bare {@code byte[]} input or result is not Java-serialized (large ones travel as files), so it meets
     * none of these limits. A JVM-wide filter ({@code jdk.serialFilter}) still applies on top: a value
     * either filter rejects fails its task with a {@link TaskCodecException} naming the rejected class.
     * Default: the limits only.
     *
     * @param pattern an ObjectInputFilter pattern
     * @return this builder
     * @throws IllegalArgumentException if the pattern is malformed
     */
    public Builder serialFilter(String pattern) {
      requireNonNull(pattern, "serialFilter");
      java.io.ObjectInputFilter.Config.createFilter(pattern); // Throws IllegalArgumentException if bad.
      this.serialFilter = pattern;
      return this;
    }

    /**
     * How long a worker may take to start and connect. Default: 60 s. A timeout longer than 100 years (up
     * to {@code ChronoUnit.FOREVER}) is accepted and taken as 100 years.
     *
     * @param timeout positive
     * @return this builder
     */
    public Builder startTimeout(Duration timeout) {
      requireNonNull(timeout, "startTimeout");
      checkArgument(!timeout.isNegative() && !timeout.isZero(), "startTimeout is %s, but must be positive", timeout);
      this.startTimeout = Durations.saturate(timeout);
      return this;
    }

    /**
     * How often workers report they are alive, and how long a worker may stay silent before it is deemed
     * hung (stopped, stalled in GC, deadlocked) and replaced. Default: 500 ms and 10 s. Long values are
     * accepted up to {@code ChronoUnit.FOREVER} and clamped: an interval longer than 2^31-1 ms (about 24.8
     * days, as the interval travels to workers in milliseconds in a 32-bit field) is taken as that, and a
     * timeout longer than 100 years as 100 years (practically never).
     * The timeout is checked against the clamped interval.
     *
     * @param interval at least 10 ms
     * @param timeout at least twice the interval
     * @return this builder
     */
    public Builder heartbeat(Duration interval, Duration timeout) {
      requireNonNull(interval, "interval");
      requireNonNull(timeout, "timeout");
      // Clamp first: toMillis() and multipliedBy(2) below throw ArithmeticException on huge values.
      interval = Durations.saturate(interval, MAX_HEARTBEAT_INTERVAL);
      timeout = Durations.saturate(timeout);
      checkArgument(interval.toMillis() >= 10, "heartbeat interval is %s, but must be at least 10 ms", interval);
      checkArgument(
          timeout.compareTo(interval.multipliedBy(2)) >= 0,
          "heartbeat timeout is %s, but must be at least twice the interval %s",
          timeout,
          interval);
      this.heartbeatInterval = interval;
      this.heartbeatTimeout = timeout;
      return this;
    }

    /**
     * How long a cancelled running task may take to stop after its thread is interrupted before its
     * worker is killed and replaced. Default: 2 s. A period longer than 100 years (up to {@code
     * ChronoUnit.FOREVER}) is accepted and taken as 100 years, so a task that ignores interrupts is
     * practically never killed.
     *
     * @param grace not negative
     * @return this builder
     */
    public Builder cancelGracePeriod(Duration grace) {
      requireNonNull(grace, "cancelGracePeriod");
      checkArgument(!grace.isNegative(), "cancelGracePeriod is %s, but must not be negative", grace);
      this.cancelGracePeriod = Durations.saturate(grace);
      return this;
    }

    /**
     * Where and how the worker JVMs are started (see {@link WorkerLauncher}). Default: child processes of
     * this JVM, run with the command the other settings make ({@code javaHome}, {@code jvmOptions}, the
     * class path, {@code environment}, {@code workingDirectory}); a launcher is given that command in its
     * {@link io.procpool.spi.WorkerSpec} and may run it its own way. Everything else (tasks, futures,
     * failures, retries, timeouts, cancel, shutdown) behaves the same whatever the launcher.
     *
     * @param launcher starts each worker; the pool closes it when it is done
     * @return this builder
     */
    public Builder launcher(WorkerLauncher launcher) {
      this.launcher = requireNonNull(launcher, "launcher");
      return this;
    }

    /**
     * Starts the workers concurrently and waits until all are ready.
     *
     * @return the running pool
     * @throws WorkerStartException if a worker cannot start (its JVM failed, it did not connect in time,
     *     or the initializer threw); its cause chain holds the reason. No process is left behind.
     */
    public Pool build() {
      JvmCommand command =
          new JvmCommand(
              javaExecutable != null ? javaExecutable : JvmCommand.currentJava(),
              // Unless the user limits the heap, cap each worker's so the whole pool fits in this machine's
              // memory; workers that may run elsewhere keep their JVM's own default, that machine's.
              launcher != null && launcher.network() != null && launcher.network().isRoutable()
                  ? ImmutableList.copyOf(jvmOptions)
                  : ImmutableList.copyOf(WorkerHeap.withDefaultMaxHeap(jvmOptions, environment, workers)),
              // The caller's class is one frame up; a stack walk of one frame costs microseconds.
              classpath != null
                  ? WorkerClasspath.of(classpath)
                  : WorkerClasspath.detectFor(
                      StackWalker.getInstance(StackWalker.Option.RETAIN_CLASS_REFERENCE).getCallerClass(),
                      initializer),
              ImmutableMap.copyOf(environment),
              workingDirectory);
      PoolConfig config =
          new PoolConfig(
              name,
              workers,
              command,
              JvmLauncher.OutputMode.valueOf(output.name()),
              maxTasksPerWorker,
              taskTimeout,
              maxRetries,
              initializer,
              startTimeout,
              heartbeatInterval,
              heartbeatTimeout,
              cancelGracePeriod,
              serialFilter,
              launcher,
              idleTimeout);
      PoolCore core = new PoolCore(config);
      core.start();
      return new Pool(core, common);
    }
  }
}
