package io.procpool.internal.dispatch;

import io.procpool.WorkerCrashedException;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.TaskEncoder;
import io.procpool.proto.v1.TaskRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * One task as the pool tracks it: its encoded request, where it is (queued, or in flight on a worker),
 * and every worker death it has been through. Mutable fields are guarded by the core lock.
 */
final class TaskRecord {
  final long id;
  /** The request as sent, without the function's bytes when the function is stateless. */
  final TaskRequest request;
  final TaskEncoder.Function function;
  final int size;
  final long bytes;
  final TaskFuture<?> future;

  /** The worker it is in flight on, or null while queued or once done. */
  Worker worker;
  /** Its place in the order its worker was sent tasks (1 for the first): see {@link Worker#tasksSent}. */
  long seq;
  /** The task message it left in, for the per-worker limit on unanswered messages. */
  int batch;
  boolean cancelSent;
  /** Each death of a worker that had begun this task. */
  final List<WorkerCrashedException.Attempt> deaths = new ArrayList<>(0);

  TaskRecord(TaskRequest request, TaskEncoder.Function function, TaskFuture<?> future) {
    this.id = request.getTaskId();
    this.request = request;
    this.function = function;
    this.size = Payload.inputsOf(request).size();
    this.bytes = request.getSerializedSize();
    this.future = future;
  }

  String description() {
    return request.getDescription();
  }

  ClassLoader loader() {
    return function.loader();
  }

  @Override
  public String toString() {
    return "task " + id + " (" + request.getDescription() + ")";
  }
}
