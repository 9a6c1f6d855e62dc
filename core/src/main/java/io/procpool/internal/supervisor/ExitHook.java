package io.procpool.internal.supervisor;

import io.procpool.spi.WorkerHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * What this JVM cleans up when it exits without closing its pools (System.exit, SIGINT, SIGTERM), in
 * one shutdown hook because the order matters: (0) tell every pool the JVM is exiting, so that it stops
 * launching and replacing workers (a replacement launched now would write into a directory being
 * deleted); (1) kill every worker process still alive, with its descendants; (2) wait up to {@link #KILL_WAIT_MILLIS} ms for them to exit, since a dying worker could
 * still write into its pool's directory; (3) delete every {@link PoolDirectory} still registered.
 * Separate hooks would run concurrently, in no order. (A SIGKILLed JVM runs no hook: the workers' parent
 * watch and the next start's sweep cover that.)
 */
public final class ExitHook {
  static final long KILL_WAIT_MILLIS = 2_000;

  private static final Set<WorkerHandle> WORKERS = ConcurrentHashMap.newKeySet();
  private static final Set<PoolDirectory> DIRECTORIES = ConcurrentHashMap.newKeySet();
  private static final Set<Runnable> POOLS = ConcurrentHashMap.newKeySet();

  static {
    try {
      Runtime.getRuntime().addShutdownHook(new Thread(ExitHook::run, "procpool-exit-cleanup"));
    } catch (IllegalStateException e) {
      // First used while the JVM is already exiting: nothing registered now outlives it by much, and
      // the next start's sweep removes the directories.
    }
  }

  private ExitHook() {}

  static void register(WorkerHandle worker) {
    WORKERS.add(worker);
  }

  static void unregister(WorkerHandle worker) {
    WORKERS.remove(worker);
  }

  /** {@code onExit} runs first at JVM exit: a pool stops launching and kills its workers. */
  public static void registerPool(Runnable onExit) {
    POOLS.add(onExit);
  }

  public static void unregisterPool(Runnable onExit) {
    POOLS.remove(onExit);
  }

  static void register(PoolDirectory dir) {
    DIRECTORIES.add(dir);
  }

  static void unregister(PoolDirectory dir) {
    DIRECTORIES.remove(dir);
  }

  static void run() {
    for (Runnable pool : POOLS) {
      try {
        pool.run();
      } catch (RuntimeException e) {
        // Go on: the workers are killed below anyway.
      }
    }
    List<CompletableFuture<Integer>> exits = new ArrayList<>();
    for (WorkerHandle w : WORKERS) {
      w.kill();
      exits.add(w.onExit());
    }
    try {
      CompletableFuture.allOf(exits.toArray(CompletableFuture[]::new)).get(KILL_WAIT_MILLIS, TimeUnit.MILLISECONDS);
    } catch (ExecutionException | TimeoutException e) {
      // Delete anyway: a process SIGKILL has not ended within seconds is stuck in the kernel.
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    for (PoolDirectory d : DIRECTORIES) {
      d.delete();
    }
  }
}
