package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.AbstractFuture;
import com.google.common.util.concurrent.MoreExecutors;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * The future of one task (a submit, or one chunk of a map). Its completion tells the pool (which
 * terminates only once every future is done); cancelling it drops the task if it is queued and, when
 * {@code mayInterruptIfRunning}, stops it on its worker.
 *
 * @param <T> the value: the single output of a submit, or the list of outputs of a chunk
 */
final class TaskFuture<T> extends AbstractFuture<T> {
  /**
   * Set while a transport thread completes futures itself (see {@link Completions#completeInline}):
   * listeners, which may run any user code, are then handed to this executor instead of running there.
   */
  private static final ThreadLocal<Executor> HAND_OFF = new ThreadLocal<>();

  private final boolean single;
  private volatile TaskRecord record;
  private volatile TaskIntake core;
  private volatile List<Object> partialOutputs = List.of();
  private volatile io.procpool.TaskOutput output = io.procpool.TaskOutput.EMPTY;

  TaskFuture(boolean single) {
    this.single = single;
  }

  void bind(TaskIntake core, TaskRecord record) {
    this.core = core;
    this.record = record;
  }

  @SuppressWarnings("unchecked")
  boolean complete(List<Object> outputs) {
    return set(single ? (T) outputs.get(0) : (T) outputs);
  }

  boolean fail(Throwable t) {
    return setException(t);
  }

  /** Fails a chunk whose first inputs succeeded: their outputs stay available to an imap. */
  boolean fail(Throwable t, List<Object> partial) {
    partialOutputs = partial;
    return setException(t);
  }

  /** Outputs of the inputs before the failed one, for a chunk that failed; else empty. */
  List<Object> partialOutputs() {
    return partialOutputs;
  }

  /** What the task printed, with WorkerOutput.CAPTURE; set before the future completes. */
  void setOutput(io.procpool.TaskOutput output) {
    this.output = output;
  }

  io.procpool.TaskOutput output() {
    return output;
  }

  boolean cancelQuietly() {
    return super.cancel(false);
  }

  /**
   * Runs {@code completion} on this thread with every listener it triggers handed to {@code executor}:
   * a transport thread completes futures without a thread hop, and still runs none of the user's code
   * (a listener's executor's {@code execute} included).
   */
  static void completeHandingOff(Executor executor, Runnable completion) {
    HAND_OFF.set(executor);
    try {
      completion.run();
    } finally {
      HAND_OFF.remove();
    }
  }

  @Override
  public void addListener(Runnable listener, Executor executor) {
    super.addListener(
        () -> {
          Executor handOff = HAND_OFF.get();
          if (handOff == null) {
            executor.execute(listener);
            return;
          }
          try {
            handOff.execute(() -> executor.execute(listener));
          } catch (RejectedExecutionException e) {
            // The pool's executor is gone (the pool has terminated): nothing is left to stall.
            executor.execute(listener);
          }
        },
        MoreExecutors.directExecutor());
  }

  @Override
  protected void afterDone() {
    TaskIntake c = core;
    TaskRecord r = record;
    if (c != null && r != null) {
      c.onFutureDone(r, isCancelled(), wasInterrupted());
    }
  }

  @Override
  protected String pendingToString() {
    TaskRecord r = record;
    return r == null ? null : r.toString();
  }
}
