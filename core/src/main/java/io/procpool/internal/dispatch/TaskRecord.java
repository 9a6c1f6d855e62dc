package io.procpool.internal.dispatch;

import io.procpool.WorkerCrashedException;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.TaskEncoder;
import io.procpool.proto.v1.Packed;
import io.procpool.proto.v1.TaskRequest;
import io.procpool.proto.v1.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * One task as the pool tracks it: its function and encoded inputs, where it is (queued, or in flight on a
 * worker), and every worker death it has been through. Mutable fields are guarded by the core lock.
 *
 * <p>The {@link TaskRequest} is built only as the task is sent ({@link #request}, outside the lock), so a
 * queued task holds no message of its own: a million queued tasks cost the record, the future and the
 * encoded inputs.
 */
final class TaskRecord {
  final long id;
  final TaskEncoder.Function function;
  /** The inputs as they travel: one {@link Value}, a {@code List<Value>}, or a {@link Packed} message. */
  private final Object inputs;
  final int size;
  /** About how many bytes its request takes on the wire (for the per-worker limit on bytes in flight). */
  final long bytes;
  final TaskFuture<?> future;

  /** The worker it is in flight on, or null while queued or once done. */
  Worker worker;
  /** Its place in the order its worker was sent tasks (1 for the first): see {@link Worker#tasksSent}. */
  long seq;
  /** The task message it left in, for the per-worker limit on unanswered messages. */
  int batch;
  boolean cancelSent;
  /**
   * How many workers on other machines died with this task next in line and not reported begun (see
   * {@link Settlement}); fits in the record's padding.
   */
  byte unreported;
  /** Each death of a worker that had begun this task; null until the first. */
  private List<WorkerCrashedException.Attempt> deaths;

  TaskRecord(long id, TaskEncoder.Function function, Payload inputs, TaskFuture<?> future) {
    this.id = id;
    this.function = function;
    this.future = future;
    this.size = inputs.size();
    long n = 16 + function.description().length();
    if (inputs instanceof Payload.PackedScalars p) {
      this.inputs = p.packed();
      n += p.packed().getSerializedSize();
    } else {
      List<Value> values = ((Payload.Separate) inputs).values();
      this.inputs = values.size() == 1 ? values.get(0) : values;
      for (Value v : values) {
        n += 4 + v.getSerializedSize();
      }
    }
    if (function.cacheId() == 0) {
      n += function.bytes().getSerializedSize();
    }
    this.bytes = n;
  }

  /**
   * The request that sends this task; {@code withFunction} adds a stateless function's bytes, for a
   * worker that has not seen it yet (a function that is not stateless always travels with its task).
   * Reads only final fields: call it without the core lock.
   */
  @SuppressWarnings("unchecked")
  TaskRequest request(boolean withFunction) {
    TaskRequest.Builder b = TaskRequest.newBuilder().setTaskId(id).setDescription(function.description());
    if (inputs instanceof Packed p) {
      b.setPackedInputs(p);
    } else if (inputs instanceof Value v) {
      b.addInputs(v);
    } else {
      b.addAllInputs((List<Value>) inputs);
    }
    if (function.cacheId() == 0) {
      b.setFunction(function.bytes());
    } else {
      b.setFunctionCacheable(true).setFunctionId(function.cacheId());
      if (withFunction) {
        b.setFunction(function.bytes());
      }
    }
    return b.build();
  }

  /** Lock. The deaths so far, oldest first. */
  List<WorkerCrashedException.Attempt> deaths() {
    return deaths == null ? List.of() : deaths;
  }

  /** Lock. Records a death of a worker that had begun this task. */
  void died(WorkerCrashedException.Attempt attempt) {
    if (deaths == null) {
      deaths = new ArrayList<>(2);
    }
    deaths.add(attempt);
  }

  String description() {
    return function.description();
  }

  ClassLoader loader() {
    return function.loader();
  }

  @Override
  public String toString() {
    return "task " + id + " (" + function.description() + ")";
  }
}
