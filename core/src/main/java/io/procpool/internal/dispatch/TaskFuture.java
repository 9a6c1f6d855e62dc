package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.AbstractFuture;
import java.util.List;

/**
 * The future of one task (a submit, or one chunk of a map). Its completion tells the pool (which
 * terminates only once every future is done); cancelling it drops the task if it is queued and, when
 * {@code mayInterruptIfRunning}, stops it on its worker.
 *
 * @param <T> the value: the single output of a submit, or the list of outputs of a chunk
 */
final class TaskFuture<T> extends AbstractFuture<T> {
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
