package io.procpool.internal.worker;

import io.procpool.Task;
import io.procpool.TaskCodecException;
import io.procpool.internal.codec.FailureCodec;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.proto.v1.Failure;
import io.procpool.proto.v1.Packed;
import io.procpool.proto.v1.TaskRequest;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Runs one task in a worker, on the task thread: records its start in the status file, decodes its
 * function and inputs, applies it, and encodes the outputs, a failure or a cancellation. Whatever goes
 * wrong fails that task alone; nothing escapes to kill the task thread.
 */
final class TaskRunner {
  private final int workerIndex;
  private final TaskProgress status;
  private final ValueCodec codec;
  private final ClassLoader loader;
  private final TaskCapture capture;
  private final Set<Long> cancelled = ConcurrentHashMap.newKeySet();
  private volatile long runningTaskId;
  // Stateless functions by pool-wide id. Only touched on the task thread. Not evicted: the parent
  // omits a function's bytes only for ids it has sent to this worker, and ids are per function class,
  // so the map is bounded by the number of distinct task classes the parent uses.
  private final Map<Long, Task<Object, Object>> functions = new HashMap<>();
  private final Map<Long, Value> functionBytes = new HashMap<>();

  TaskRunner(int workerIndex, TaskProgress status, ValueCodec codec, ClassLoader loader, TaskCapture capture) {
    this.workerIndex = workerIndex;
    this.status = status;
    this.codec = codec;
    this.loader = loader;
    this.capture = capture;
  }

  /**
   * The parent cancelled task {@code id}: it is skipped if not started, and {@code taskThread} is
   * interrupted if it is running it. Called on a gRPC thread.
   */
  void cancel(long id, Thread taskThread) {
    cancelled.add(id);
    if (runningTaskId == id && taskThread != null) {
      taskThread.interrupt();
    }
  }

  TaskResult run(TaskRequest request) {
    long id = request.getTaskId();
    long start = System.nanoTime();
    capture.begin(); // Before status.begin: a crash report must not show the previous task's output.
    // Step 1: say we started, before anything that could kill us (decoding the input counts).
    status.begin(id, start);
    runningTaskId = id;
    TaskResult.Builder result = TaskResult.newBuilder().setTaskId(id);
    if (request.getFunctionCacheable() && request.hasFunction()) {
      // Keep the bytes even if this task turns out to be cancelled: later tasks omit them.
      functionBytes.putIfAbsent(request.getFunctionId(), request.getFunction());
    }
    try {
      runSteps(request, result);
    } catch (Throwable t) {
      // Whatever escaped the steps (an Error while encoding a failure, say) fails this task alone. Were
      // it to kill the task thread, the parent would see a worker that died idle and send the task to the
      // next worker, which would die the same way, for ever.
      result.clearOutputs().clearPackedOutputs().setFailure(codecFailure(Failure.Stage.ENCODE_RESULT,
          "Cannot send result of task " + request.getDescription() + " from worker "
              + workerIndex, t));
    } finally {
      capture.end(result);
      runningTaskId = 0;
      status.end();
      // A cancel that arrived after the task returned must not interrupt the next one.
      Thread.interrupted();
    }
    return result.setRunNanos(System.nanoTime() - start).build();
  }

  /**
   * A codec failure of one task, as a {@link TaskCodecException}. Never throws: if even describing
   * {@code t} fails (a {@code StackOverflowError} has a deep trace; an {@code OutOfMemoryError} leaves
   * little room), the failure says so without the details.
   */
  private static Failure codecFailure(Failure.Stage stage, String what, Throwable t) {
    try {
      return FailureCodec.encode(stage, new TaskCodecException(what + ": " + FailureCodec.describe(t), t));
    } catch (Throwable again) {
      return Failure.newBuilder()
          .setStage(stage)
          .setClassName(TaskCodecException.class.getName())
          .setMessage(what + ": " + t.getClass().getName())
          .build();
    }
  }


  /** Steps 2 and 3 of {@link #run}: fills {@code result} with outputs, a failure or a cancellation. */
  private TaskResult.Builder runSteps(TaskRequest request, TaskResult.Builder result) {
    long id = request.getTaskId();
    if (cancelled.remove(id)) {
      return result.setCancelled(true);
    }
    // Step 2: decode the function.
    Task<Object, Object> function;
    try {
      function = function(request);
    } catch (Throwable e) {
      return result.setFailure(
          codecFailure(
              Failure.Stage.DECODE_TASK,
              "Cannot decode task " + request.getDescription() + " in worker " + workerIndex,
              e));
    }
    // Step 3: each input in order: decode, apply; stop at the first failure. Then encode the outputs,
    // packed when they are small scalars of one type.
    Payload inputs = Payload.inputsOf(request);
    Payload.Cursor cursor;
    try {
      cursor = inputs.cursor(codec, loader);
    } catch (Throwable e) {
      return result.setFailure(
          codecFailure(
              Failure.Stage.DECODE_TASK,
              "Cannot decode inputs of task " + request.getDescription() + " in worker "
                  + workerIndex,
              e));
    }
    int n = inputs.size();
    List<Object> outs = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      Object in;
      try {
        in = cursor.next();
      } catch (Throwable e) {
        encodeOutputs(request, result, outs);
        return result.setFailure(
            codecFailure(
                Failure.Stage.DECODE_TASK,
                "Cannot decode input of task " + request.getDescription() + " in worker "
                    + workerIndex,
                e));
      }
      Object out;
      try {
        out = function.apply(in);
      } catch (Throwable t) {
        if (cancelled.remove(id)) {
          return result.setCancelled(true);
        }
        encodeOutputs(request, result, outs);
        return result.setFailure(FailureCodec.encode(Failure.Stage.RUN, t));
      }
      outs.add(out);
    }
    if (cancelled.remove(id)) {
      return result.setCancelled(true);
    }
    Failure encodeFailure = encodeOutputs(request, result, outs);
    return encodeFailure == null ? result : result.setFailure(encodeFailure);
  }

  /**
   * Puts {@code outs} into {@code result}, packed if possible. If one cannot be encoded, the outputs
   * before it are kept and the failure is returned. Any {@code Throwable} counts: a {@code
   * StackOverflowError} from serializing a deep linked structure, an {@code OutOfMemoryError} from a huge
   * one.
   */
  private Failure encodeOutputs(TaskRequest request, TaskResult.Builder result, List<Object> outs) {
    Packed packed;
    try {
      packed = ValueCodec.pack(outs);
    } catch (Throwable t) {
      packed = null;
    }
    if (packed != null) {
      result.setPackedOutputs(packed);
      return null;
    }
    for (Object out : outs) {
      try {
        result.addOutputs(codec.encode(out));
      } catch (Throwable e) {
        return codecFailure(
            Failure.Stage.ENCODE_RESULT, "Cannot send result of task " + request.getDescription(), e);
      }
    }
    return null;
  }

  @SuppressWarnings("unchecked")
  private Task<Object, Object> function(TaskRequest request) throws ValueCodec.CodecException {
    boolean cacheable = request.getFunctionCacheable();
    if (cacheable) {
      Task<Object, Object> f = functions.get(request.getFunctionId());
      if (f != null) {
        return f;
      }
      if (!functionBytes.containsKey(request.getFunctionId())) {
        throw new ValueCodec.CodecException(
            "function " + request.getFunctionId() + " of task " + request.getDescription()
                + " was never sent to this worker",
            null);
      }
    }
    Object o =
        codec.decode(cacheable ? functionBytes.get(request.getFunctionId()) : request.getFunction(), loader);
    if (!(o instanceof Task)) {
      throw new ValueCodec.CodecException(
          "function of task " + request.getDescription() + " is a "
              + (o == null ? "null" : o.getClass().getName()) + ", not an io.procpool.Task",
          null);
    }
    Task<Object, Object> f = (Task<Object, Object>) o;
    if (cacheable) {
      functions.put(request.getFunctionId(), f);
    }
    return f;
  }
}
