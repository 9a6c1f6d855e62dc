package io.procpool.internal.dispatch;

import io.procpool.WorkerCrashedException;
import io.procpool.proto.v1.TaskRequest;
import java.util.ArrayList;
import java.util.List;

/**
 * One task as the dispatcher tracks it: its encoded request, where it is (queued, or in flight on a
 * worker), and every worker death it has been through. Mutable fields are guarded by the owning {@link
 * PoolCore}'s lock.
 */
final class TaskRecord {
  final long id;
  final TaskRequest request;
  /** The function's bytes when the request omits them (a stateless function sent once per worker). */
  final io.procpool.proto.v1.Value function;
  final int size;
  final long bytes;
  final ClassLoader loader;
  final TaskFuture<?> future;

  // Guarded by PoolCore.lock.
  Slot slot;
  final List<WorkerCrashedException.Attempt> deaths = new ArrayList<>(0);
  boolean cancelSent;
  int batch;

  TaskRecord(
      long id,
      TaskRequest request,
      io.procpool.proto.v1.Value function,
      ClassLoader loader,
      TaskFuture<?> future) {
    this.id = id;
    this.request = request;
    this.function = function;
    this.size =
        request.getInputsCount()
            + (request.hasPackedInputs() ? io.procpool.internal.codec.ValueCodec.size(request.getPackedInputs()) : 0);
    this.bytes = request.getSerializedSize();
    this.loader = loader;
    this.future = future;
  }

  String description() {
    return request.getDescription();
  }

  @Override
  public String toString() {
    return "task " + id + " (" + request.getDescription() + ")";
  }
}
