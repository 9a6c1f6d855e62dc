package io.procpool;

import static java.util.Objects.requireNonNull;

import com.google.common.util.concurrent.AbstractListeningExecutorService;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import java.io.Serializable;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * A {@link Pool} seen as a {@code ListeningExecutorService} ({@link Pool#asExecutorService()}): every
 * {@code Callable} and {@code Runnable} it is given runs in a worker JVM, so it must be {@link
 * Serializable} (a lambda cast to an intersection type, {@code (Callable<Long> & Serializable) () -> ...},
 * or a class that implements both). One that is not fails with a {@link TaskCodecException} naming its
 * class: {@code execute} throws it, the other methods return (or hold) a future failed with it; nothing
 * else is harmed. Lifecycle methods act on the pool itself.
 *
 * <p>Consequently, executors that wrap what they are given in their own objects before calling {@code
 * execute} ({@code CompletableFuture.supplyAsync}, {@code ExecutorCompletionService}) hand over
 * something that is not serializable, and fail that way.
 *
 * <p>This class is thread-safe.
 */
final class PoolExecutorService extends AbstractListeningExecutorService implements AutoCloseable {
  private static final System.Logger LOG = System.getLogger("io.procpool.Pool");

  private final Pool pool;

  PoolExecutorService(Pool pool) {
    this.pool = pool;
  }

  /** The task that runs a serialized {@code Callable} in a worker. */
  static Object call(Callable<?> callable) throws Exception {
    return callable.call();
  }

  /** The task that runs a serialized {@code Runnable} in a worker. */
  static Object run(Runnable runnable) {
    runnable.run();
    return null;
  }

  private static TaskCodecException notSerializable(Object task, String kind) {
    return new TaskCodecException(
        "Cannot send task " + task.getClass().getName() + ": a " + kind + " run by a pool must be Serializable"
            + " (cast a lambda to (" + kind + " & Serializable))",
        null);
  }

  @Override
  @SuppressWarnings("unchecked")
  public <T> ListenableFuture<T> submit(Callable<T> task) {
    requireNonNull(task, "task");
    if (!(task instanceof Serializable)) {
      rejectIfShutdown();
      return Futures.immediateFailedFuture(notSerializable(task, "Callable"));
    }
    return (ListenableFuture<T>) pool.submit(PoolExecutorService::call, task);
  }

  @Override
  public ListenableFuture<?> submit(Runnable task) {
    return submit(task, null);
  }

  @Override
  public <T> ListenableFuture<T> submit(Runnable task, T result) {
    requireNonNull(task, "task");
    if (!(task instanceof Serializable)) {
      rejectIfShutdown();
      return Futures.immediateFailedFuture(notSerializable(task, "Runnable"));
    }
    ListenableFuture<Object> done = pool.submit(PoolExecutorService::run, task);
    return Futures.transform(done, ignored -> result, MoreExecutors.directExecutor());
  }

  /**
   * Runs {@code command} in a worker. Nobody waits for it, so a failure is logged at WARNING, as an
   * uncaught exception in a thread pool would be printed.
   *
   * @throws TaskCodecException if {@code command} is not Serializable
   */
  @Override
  public void execute(Runnable command) {
    requireNonNull(command, "command");
    if (!(command instanceof Serializable)) {
      rejectIfShutdown();
      throw notSerializable(command, "Runnable");
    }
    ListenableFuture<Object> f = pool.submit(PoolExecutorService::run, command);
    f.addListener(
        () -> {
          try {
            Futures.getDone(f);
          } catch (ExecutionException e) {
            LOG.log(System.Logger.Level.WARNING, "A task given to execute() failed: " + command, e.getCause());
          } catch (CancellationException e) {
            // Cancelled by shutdownNow(): nobody asked for it any more.
          }
        },
        MoreExecutors.directExecutor());
  }

  private void rejectIfShutdown() {
    if (pool.isShutdown()) {
      throw new java.util.concurrent.RejectedExecutionException(pool + " is not accepting tasks");
    }
  }

  @Override
  public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks) throws InterruptedException {
    List<Future<T>> futures = submitAll(tasks);
    for (Future<T> f : futures) {
      try {
        f.get();
      } catch (ExecutionException | CancellationException e) {
        // Reported by that future.
      } catch (InterruptedException e) {
        futures.forEach(x -> x.cancel(true));
        throw e;
      }
    }
    return futures;
  }

  @Override
  public <T> List<Future<T>> invokeAll(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
      throws InterruptedException {
    long deadline = System.nanoTime() + unit.toNanos(timeout);
    List<Future<T>> futures = submitAll(tasks);
    try {
      for (Future<T> f : futures) {
        try {
          f.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (ExecutionException | CancellationException e) {
          // Reported by that future.
        }
      }
    } catch (TimeoutException e) {
      futures.forEach(f -> f.cancel(true));
    } catch (InterruptedException e) {
      futures.forEach(f -> f.cancel(true));
      throw e;
    }
    return futures;
  }

  private <T> List<Future<T>> submitAll(Collection<? extends Callable<T>> tasks) {
    List<Future<T>> futures = new ArrayList<>(tasks.size());
    for (Callable<T> t : tasks) {
      futures.add(submit(t));
    }
    return futures;
  }

  @Override
  public <T> T invokeAny(Collection<? extends Callable<T>> tasks)
      throws InterruptedException, ExecutionException {
    try {
      return invokeAny(tasks, Long.MAX_VALUE, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      throw new AssertionError("no deadline, no timeout", e);
    }
  }

  /**
   * Submits every task and returns the result of the first to succeed, cancelling the others; if all
   * fail, throws the last failure.
   */
  @Override
  public <T> T invokeAny(Collection<? extends Callable<T>> tasks, long timeout, TimeUnit unit)
      throws InterruptedException, ExecutionException, TimeoutException {
    if (tasks.isEmpty()) {
      throw new IllegalArgumentException("invokeAny needs at least one task");
    }
    long deadline = saturatedDeadline(unit.toNanos(timeout));
    LinkedBlockingQueue<ListenableFuture<T>> done = new LinkedBlockingQueue<>();
    List<ListenableFuture<T>> futures = new ArrayList<>(tasks.size());
    try {
      for (Callable<T> t : tasks) {
        ListenableFuture<T> f = submit(t);
        futures.add(f);
        f.addListener(() -> done.add(f), MoreExecutors.directExecutor());
      }
      ExecutionException last = null;
      for (int i = 0; i < futures.size(); i++) {
        ListenableFuture<T> f = done.poll(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        if (f == null) {
          throw new TimeoutException("none of " + futures.size() + " tasks succeeded within " + Duration.ofNanos(unit.toNanos(timeout)));
        }
        try {
          return Futures.getDone(f);
        } catch (ExecutionException e) {
          last = e;
        } catch (CancellationException e) {
          last = new ExecutionException(e);
        }
      }
      throw last;
    } finally {
      futures.forEach(f -> f.cancel(true));
    }
  }

  private static long saturatedDeadline(long timeoutNanos) {
    long now = System.nanoTime();
    return timeoutNanos >= Long.MAX_VALUE - now ? Long.MAX_VALUE : now + timeoutNanos;
  }

  @Override
  public void shutdown() {
    pool.shutdown();
  }

  /**
   * Kills the workers and cancels every unfinished task ({@link Pool#shutdownNow()}). The tasks live in
   * the pool as serialized values, not as this JVM's {@code Runnable}s, so the list is always empty.
   */
  @Override
  public List<Runnable> shutdownNow() {
    pool.shutdownNow();
    return List.of();
  }

  @Override
  public boolean isShutdown() {
    return pool.isShutdown();
  }

  @Override
  public boolean isTerminated() {
    return pool.isTerminated();
  }

  @Override
  public boolean awaitTermination(long timeout, TimeUnit unit) throws InterruptedException {
    return pool.awaitTermination(Duration.ofNanos(unit.toNanos(timeout)));
  }

  /** {@link Pool#close()}. */
  @Override
  public void close() {
    pool.close();
  }

  @Override
  public String toString() {
    return "ExecutorService view of " + pool;
  }
}
