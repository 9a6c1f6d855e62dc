package io.procpool.internal.supervisor;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Starts each worker as a direct child JVM of this one (no shell in between, so {@code
 * ProcessHandle.current().parent()} in the worker is this JVM), with the worker's stdout and stderr
 * inherited, and its {@link Bootstrap} written to its stdin. The stdin pipe stays open until the worker
 * exits: the worker takes end-of-file on it as its parent's death.
 *
 * <p>A pool asks for its first workers' JVMs ahead of time ({@link #prestart}), before it has a server
 * and so a bootstrap: a JVM spends its first few hundred milliseconds starting up and then waits on its
 * stdin, while this JVM starts the pool's server. {@link #launch} hands out such a spare, writing the
 * bootstrap then, or starts a new JVM when there is none. Spares never handed out are killed by {@link
 * #close} (and, like every worker, at this JVM's exit; one whose parent dies reads end-of-file and
 * exits).
 */
public final class JvmLauncher implements WorkerLauncher {
  public static final String MAIN_CLASS = io.procpool.spi.WorkerSpec.WORKER_MAIN_CLASS;

  /**
   * Set on the command line of the JVMs a pool starts: end-of-file on stdin before any bootstrap then
   * means that the pool no longer needs this one (started ahead of time), not a mistake to explain.
   */
  public static final String STARTED_BY_POOL = "procpool.worker.startedByPool";

  private final JvmCommand command;
  private final Path dir;
  private final OutputMode output;
  private final String name;

  /**
   * How worker stdout and stderr reach the parent: inherited, discarded, or piped and copied line by line
   * with a prefix ({@link OutputPump}). CAPTURE pipes like PREFIX: the capture itself happens in the
   * worker, and what it prints outside tasks is prefixed.
   */
  public enum OutputMode {
    INHERIT,
    DISCARD,
    PREFIX,
    CAPTURE
  }

  /** {@code name}: the pool's name prefix, for output prefixes ({@code [name-w2 4122] }). */
  public JvmLauncher(JvmCommand command, Path dir, OutputMode output, String name) {
    this.command = command;
    this.dir = dir;
    this.output = output;
    this.name = name;
  }

  /** JVMs started ahead of time and waiting for a bootstrap, oldest first. */
  @GuardedBy("spares")
  private final ArrayDeque<ProcessWorker> spares = new ArrayDeque<>();

  @GuardedBy("spares")
  private boolean closed;

  /**
   * Starts up to {@code workers} worker JVMs ahead of time, before the pool has a bootstrap for them, so
   * that their start-up overlaps the pool's own; later {@link #launch} calls hand them out.
   */
  public void prestart(int workers) throws IOException {
    for (int i = 0; i < workers; i++) {
      ProcessWorker spare = start();
      synchronized (spares) {
        if (!closed) {
          spares.add(spare);
          continue;
        }
      }
      spare.kill();
    }
  }

  @Override
  public WorkerHandle launch(WorkerSpec spec) throws IOException {
    ProcessWorker w;
    synchronized (spares) {
      w = spares.poll();
    }
    if (w == null) {
      w = start();
    }
    if (output == OutputMode.PREFIX || output == OutputMode.CAPTURE) {
      String threadName = spec.poolName() + "-w" + spec.index();
      OutputPump.start(w.process, name, spec.index(), threadName);
    }
    try {
      w.stdin.write(spec.bootstrap());
      w.stdin.flush();
    } catch (IOException e) {
      // The JVM died at once (bad options): its exit code tells why; onExit reports it.
    }
    return w;
  }

  /** Kills the spares no launch took. */
  @Override
  public void close() {
    List<ProcessWorker> left;
    synchronized (spares) {
      closed = true;
      left = new ArrayList<>(spares);
      spares.clear();
    }
    for (ProcessWorker w : left) {
      w.kill();
    }
  }

  /** Starts a worker JVM, which waits for its bootstrap on stdin. */
  private ProcessWorker start() throws IOException {
    List<String> cmd = new ArrayList<>(command.toCommand(dir, MAIN_CLASS));
    cmd.add(1, "-D" + STARTED_BY_POOL + "=true");
    ProcessBuilder pb = new ProcessBuilder(cmd);
    if (output == OutputMode.INHERIT) {
      pb.redirectOutput(ProcessBuilder.Redirect.INHERIT).redirectError(ProcessBuilder.Redirect.INHERIT);
    } else if (output == OutputMode.PREFIX || output == OutputMode.CAPTURE) {
      pb.redirectOutput(ProcessBuilder.Redirect.PIPE).redirectError(ProcessBuilder.Redirect.PIPE);
    } else {
      pb.redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD);
    }
    pb.redirectInput(ProcessBuilder.Redirect.PIPE);
    if (command.workingDirectory() != null) {
      pb.directory(command.workingDirectory().toFile());
    }
    pb.environment().putAll(command.environment());
    Process process = pb.start();
    return new ProcessWorker(process, process.getOutputStream());
  }

  /** A worker that is a child process. */
  static final class ProcessWorker implements WorkerHandle {
    private final Process process;
    private final OutputStream stdin;
    private final CompletableFuture<Integer> exit;

    ProcessWorker(Process process, OutputStream stdin) {
      this.process = process;
      this.stdin = stdin;
      // Killed at JVM exit before the pool's directory is deleted (ExitHook), until it exits.
      ExitHook.register(this);
      // What its tasks start dies with it even when it dies by itself, without its exit hooks.
      DescendantWatch.watch(process.toHandle());
      this.exit =
          process
              .onExit()
              .handle(
                  (p, e) -> {
                    ExitHook.unregister(this);
                    DescendantWatch.exited(process.toHandle());
                    try {
                      stdin.close();
                    } catch (IOException ignored) {
                      // The pipe is broken already: the worker is gone.
                    }
                    return process.exitValue();
                  });
    }

    @Override
    public long pid() {
      return process.pid();
    }

    @Override
    public CompletableFuture<Integer> onExit() {
      return exit;
    }

    @Override
    public boolean isAlive() {
      return process.isAlive();
    }

    /**
     * Closes the worker's stdin. A worker leaving in order is waiting for that end-of-file, so that no
     * thread of its is blocked reading the pipe when it exits (the JVM's exit would wait ~300 ms for it);
     * any other worker takes it as the end of its parent, as it would our death.
     */
    @Override
    public void streamEnded() {
      try {
        stdin.close();
      } catch (IOException ignored) {
        // Broken already: the worker is gone.
      }
    }

    /** SIGKILL to the worker and to every process it started (its task's tools and scripts). */
    @Override
    public void kill() {
      ProcessTree.killTree(process.toHandle());
    }

    @Override
    public String description() {
      return "pid " + process.pid();
    }

    @Override
    public String toString() {
      return description();
    }
  }
}
