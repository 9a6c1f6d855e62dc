package io.procpool.internal.worker;

import io.procpool.internal.supervisor.ProcessTree;
import java.io.IOException;
import java.io.InputStream;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * Makes a worker JVM exit by itself when its parent dies, SIGKILL included, so that no worker is ever
 * orphaned.
 *
 * <p>Two independent signals, because each alone has a gap: (1) the parent holds the write end of our
 * stdin pipe for its whole life, and the kernel closes it when the parent dies however it dies, so
 * end-of-file on stdin arrives at once; (2) a slower poll of our parent pid catches a parent that handed
 * the pipe to someone else. Either one kills the processes the worker started, then halts the JVM (no
 * shutdown hooks: the parent is gone and nothing is waiting for an orderly exit).
 */
public final class ParentWatch {
  /** Set when the worker leaves in order: end-of-file on stdin is then expected, not the parent's death. */
  private static volatile boolean leaving;
  private static volatile Thread pipeThread;

  private ParentWatch() {}

  /** The worker is leaving in order: its parent will close stdin once the worker's stream has ended. */
  public static void expectEndOfFile() {
    leaving = true;
  }

  /**
   * If the worker is leaving in order, waits up to {@code millis} for the stdin watch to see end-of-file
   * and end, so that it is not blocked in a native read when the JVM exits.
   */
  public static void awaitEndOfFile(long millis) {
    Thread t = pipeThread;
    if (!leaving || t == null) {
      return;
    }
    try {
      t.join(millis);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /** Starts both watches. {@code stdin} must be positioned after the bootstrap message. */
  public static void start(InputStream stdin, int exitCode) {
    long parentPid = ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L);
    Thread pipe =
        new Thread(
            () -> {
              byte[] buf = new byte[256];
              try {
                while (stdin.read(buf) >= 0) {
                  // The parent never writes after the bootstrap; ignore anything that arrives.
                }
              } catch (IOException e) {
                // Treated as end-of-file: the pipe is broken.
              }
              if (!leaving) {
                exit(exitCode);
              }
            },
            "procpool-parent-watch");
    pipe.setDaemon(true);
    pipeThread = pipe;
    pipe.start();
    Thread poll =
        new Thread(
            () -> {
              while (true) {
                Optional<ProcessHandle> parent = ProcessHandle.current().parent();
                if (parent.isEmpty()
                    || parent.get().pid() != parentPid
                    || !parent.get().isAlive()) {
                  exit(exitCode);
                }
                try {
                  TimeUnit.SECONDS.sleep(1);
                } catch (InterruptedException e) {
                  return;
                }
              }
            },
            "procpool-parent-poll");
    poll.setDaemon(true);
    poll.start();
  }

  /**
   * Kills the processes this worker started (a task's tools and scripts would otherwise outlive the
   * whole job), then halts: no shutdown hooks, as nobody is waiting for an orderly exit.
   */
  private static void exit(int exitCode) {
    try {
      ProcessTree.killDescendants();
    } finally {
      Runtime.getRuntime().halt(exitCode);
    }
  }

  /**
   * Installs the hook that kills the processes this worker started when it exits in an orderly way: a
   * recycled worker, a task's {@code System.exit}, SIGTERM, SIGINT. (A SIGKILL runs no hook; the parent
   * kills the worker's descendants along with it then.)
   */
  public static void killDescendantsOnExit() {
    try {
      Runtime.getRuntime()
          .addShutdownHook(new Thread(ProcessTree::killDescendants, "procpool-kill-descendants"));
    } catch (IllegalStateException shutdownInProgress) {
      // A SIGTERM arrived while this JVM was starting, and its exit (code 143) is under way. Throwing
      // out of main now would race it with the launcher's exit code 1 for an uncaught exception; wait for
      // the signal's exit instead. Nothing has started yet that the hook would have had to kill.
      while (true) {
        try {
          Thread.sleep(Long.MAX_VALUE);
        } catch (InterruptedException e) {
          // Keep waiting: the JVM is exiting.
        }
      }
    }
  }
}
