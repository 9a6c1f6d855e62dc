package io.procpool;

import static java.util.Objects.requireNonNull;

import io.procpool.internal.codec.SerialFilters;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.supervisor.DescendantWatch;
import io.procpool.internal.supervisor.Durations;
import io.procpool.internal.supervisor.JvmCommand;
import io.procpool.internal.supervisor.PoolDirectory;
import io.procpool.internal.supervisor.ProcessTree;
import io.procpool.internal.supervisor.WorkerClasspath;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.OptionalInt;
import java.util.concurrent.TimeUnit;

/**
 * One worker JVM running one target, like Python's {@code multiprocessing.Process}.
 *
 * <pre>{@code
 * WorkerProcess p = WorkerProcess.start(Hello::f, "bob");
 * p.join();
 * }</pre>
 *
 * <p>The JVM is a direct child of this one, with this JVM's java and classpath (found as for a {@link
 * Pool}, from the target's class loader too); its stdout and stderr
 * are this JVM's. It exits with 0 when the target returns, with 1 (stack trace on its stderr) when the
 * target throws, with n after {@code System.exit(n)}. If this JVM dies, even by SIGKILL, the child
 * exits by itself within a few seconds. The processes the target starts end with the child: when it
 * returns, throws, exits, is terminated or killed, or its parent dies. This class is thread-safe.
 */
public final class WorkerProcess {
  /**
   * What a {@link WorkerProcess} runs. Lambdas and method references targeting it are serializable; a
   * method that returns a value fits too (the value is discarded).
   */
  @FunctionalInterface
  public interface Target<I> extends Serializable {
    /**
     * Runs in the child JVM.
     *
     * @param argument the argument given to {@link WorkerProcess#start}
     * @throws Exception any exception: the child prints its stack trace and exits with code 1
     */
    void run(I argument) throws Exception;
  }

  private final Process process;

  private WorkerProcess(Process process) {
    this.process = process;
  }

  /**
   * Starts a JVM that runs {@code target.run(argument)}; returns once the JVM process exists.
   *
   * @param <I> the type of the argument
   * @param target what to run: a serializable lambda or method reference
   * @param argument its argument
   * @return the started process
   * @throws IllegalArgumentException if the target or argument cannot be serialized
   * @throws UncheckedIOException if the JVM cannot be started
   */
  public static <I> WorkerProcess start(Target<I> target, I argument) {
    return start(target, argument, JvmCommand.currentJava());
  }

  /** {@link #start(Target, Object)} with another java executable (tests). */
  static <I> WorkerProcess start(Target<I> target, I argument, java.nio.file.Path javaExecutable) {
    requireNonNull(target, "target");
    byte[] payload;
    try {
      payload = ValueCodec.serialize(new Object[] {target, argument}).toByteArray();
    } catch (ValueCodec.CodecException e) {
      throw new IllegalArgumentException("Cannot start a WorkerProcess: " + e.getMessage(), e);
    }
    PoolDirectory dir;
    try {
      dir = PoolDirectory.create("procpool-process-");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create the private directory of a WorkerProcess", e);
    }
    try {
      List<String> cmd =
            new JvmCommand(
                    javaExecutable,
                    List.of(),
                    // The loaders of the target's class and of procpool (see Pool.Builder.classpath).
                    WorkerClasspath.detectFor(null, target),
                    java.util.Map.of(),
                    null)
                .toCommand(dir.path(), "io.procpool.internal.worker.ProcessMain");
        Process p =
            new ProcessBuilder(cmd)
                .redirectOutput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .redirectInput(ProcessBuilder.Redirect.PIPE)
                .start();
        OutputStream stdin = p.getOutputStream();
        try {
          DataOutputStream out = new DataOutputStream(stdin);
          out.writeInt(payload.length);
          out.write(payload);
          byte[] filter = SerialFilters.DEFAULTS.getBytes(StandardCharsets.UTF_8);
          out.writeInt(filter.length);
          out.write(filter);
          out.flush();
        } catch (IOException e) {
          // The JVM died at once; its exit code says why.
        }
      // What the target starts dies with the child even when the child dies without its exit hooks.
      DescendantWatch.watch(p.toHandle());
      // Keep stdin open until the child exits: its end-of-file tells the child we died. The argfile is
      // read as the child JVM starts, but delete its directory only once the child is gone.
      var unused = p.onExit().thenRun(() -> {
        DescendantWatch.exited(p.toHandle());
        closeQuietly(stdin);
        dir.delete();
      });
      return new WorkerProcess(p);
    } catch (IOException | RuntimeException e) {
      // No process to wait for: the directory goes now.
      dir.delete();
      if (e instanceof IOException io) {
        throw new UncheckedIOException(
            "Cannot start a WorkerProcess JVM with " + javaExecutable + ": " + io.getMessage(), io);
      }
      throw (RuntimeException) e;
    }
  }

  private static void closeQuietly(OutputStream s) {
    try {
      s.close();
    } catch (IOException e) {
      // Already closed by the child's exit.
    }
  }

  /**
   * The child's operating-system process id.
   *
   * @return a process id
   */
  public long pid() {
    return process.pid();
  }

  /**
   * Whether the child's process is running.
   *
   * @return true until it exits
   */
  public boolean isAlive() {
    return process.isAlive();
  }

  /**
   * Waits for the child's process to exit.
   *
   * @throws InterruptedException if interrupted while waiting
   */
  public void join() throws InterruptedException {
    process.waitFor();
  }

  /**
   * Waits up to {@code timeout} for the child to exit; true if it has.
   *
   * @param timeout the longest time to wait; any length up to {@code ChronoUnit.FOREVER} (a wait too long
   *     for a {@code long} of nanoseconds, about 292 years, is taken as that long)
   * @return true if the child has exited
   * @throws InterruptedException if interrupted while waiting
   */
  public boolean join(Duration timeout) throws InterruptedException {
    requireNonNull(timeout, "timeout");
    return process.waitFor(Math.max(0, Durations.toNanosSaturated(timeout)), TimeUnit.NANOSECONDS);
  }

  /**
   * Empty while the child runs; then 0 if the target returned, 1 if it threw, n after {@code
   * System.exit(n)}, or 128 + signal (143 after {@link #terminate()}, 137 after {@link #kill()}).
   *
   * @return the exit code, or empty while the child runs
   */
  public OptionalInt exitCode() {
    return process.isAlive() ? OptionalInt.empty() : OptionalInt.of(process.exitValue());
  }

  /**
   * Sends SIGTERM. Through the process handle, because {@code Process.destroy()} also closes the
   * child's stdin, which the child takes as its parent's death and exits with its own code instead. The
   * child's shutdown hook kills the processes it started.
   */
  public void terminate() {
    process.toHandle().destroy();
  }

  /** Sends SIGKILL to the child and to every process it started, which would otherwise outlive it. */
  public void kill() {
    ProcessTree.killTree(process.toHandle());
  }

  @Override
  public String toString() {
    return "WorkerProcess[pid=" + pid() + (isAlive() ? ", alive" : ", exitCode=" + process.exitValue()) + "]";
  }
}
