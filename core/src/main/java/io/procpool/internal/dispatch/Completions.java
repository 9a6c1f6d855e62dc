package io.procpool.internal.dispatch;

import io.procpool.TaskCodecException;
import io.procpool.internal.codec.FailureCodec;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.SharedArena;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.jfr.PoolEvents;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Turns what workers answered into completed futures. Runs on the pool's executor, never under the core
 * lock: decoding may run user code ({@code readObject}, static initializers), and completing a future
 * runs its direct listeners.
 *
 * <p>Each task is settled on its own: whatever goes wrong decoding or completing one (a {@code
 * StackOverflowError}, a {@code NoClassDefFoundError}, an {@code AssertionError} from a listener, a
 * result with no outputs) fails that task alone, and its slots and blob files are given back either way.
 */
final class Completions {
  private final String pool;
  private final ValueCodec codec;
  private final System.Logger log;

  Completions(String pool, ValueCodec codec, System.Logger log) {
    this.pool = pool;
    this.codec = codec;
    this.log = log;
  }

  /**
   * Completes the future of each task in {@code records} from the matching result in {@code results},
   * reading slots from {@code arena}, {@code w}'s output arena (held by the caller until this returns),
   * or null if it has none.
   */
  void complete(Worker w, List<TaskRecord> records, List<TaskResult> results, SharedArena arena) {
    ValueCodec codec = this.codec.readingFrom(arena);
    for (int i = 0; i < results.size(); i++) {
      TaskRecord r = records.get(i);
      TaskResult res = results.get(i);
      Payload outputs = Payload.outputsOf(res);
      try {
        if (r != null) {
          complete(w, r, res, outputs, codec);
        }
      } catch (Throwable t) {
        failQuietly(r, new TaskCodecException(
            "Cannot receive result of " + r + " from worker " + w.index + ": " + FailureCodec.describe(t), t));
      } finally {
        discardOutputs(codec, outputs.outOfBand());
      }
    }
  }

  private void complete(Worker w, TaskRecord r, TaskResult res, Payload outputs, ValueCodec codec)
      throws Throwable {
    PoolEvents.taskEnded(pool, r.id, r.description(), r.size, w.index, w.pid(),
        PoolEvents.outcome(res.getCancelled(), res.hasFailure()), res.getRunNanos());
    if (res.getCancelled()) {
      r.future.cancelQuietly();
    } else if (res.hasFailure()) {
      Throwable t = Capture.attach(FailureCodec.decode(res.getFailure(), codec, r.loader()), res);
      List<Object> partial;
      try {
        partial = outputs.decodeAll(codec, r.loader());
      } catch (Throwable e) {
        partial = List.of();
      }
      r.future.fail(t, partial);
    } else {
      List<Object> values;
      try {
        values = outputs.decodeAll(codec, r.loader());
      } catch (ValueCodec.CodecException e) {
        r.future.fail(new TaskCodecException(
            "Cannot receive result of " + r + " from worker " + w.index + ": " + e.getMessage(), e));
        return;
      }
      if (values.size() != r.size) {
        r.future.fail(new TaskCodecException(
            "Cannot receive result of " + r + " from worker " + w.index + ": expected " + r.size
                + " output(s), but the worker sent " + values.size(), null));
        return;
      }
      Capture.onResult(r.future, res);
      r.future.complete(values);
    }
  }

  /** The most results a transport thread completes itself at once; a larger batch goes to the executor. */
  static final int INLINE_MAX_RESULTS = 64;
  /** The most bytes of outputs a transport thread decodes itself at once. */
  static final int INLINE_MAX_BYTES = 64 << 10;

  /**
   * Whether {@code results} can be completed on the transport thread that received them: all succeeded,
   * and their outputs are scalars, strings and short byte arrays, whose decoding runs no user code
   * ({@code readObject}, static initializers, a protobuf class's loading) and takes microseconds.
   * Listeners never run there either (see {@link TaskFuture#completeHandingOff}).
   */
  static boolean decodableInline(List<TaskResult> results) {
    if (results.size() > INLINE_MAX_RESULTS) {
      return false;
    }
    long bytes = 0;
    for (TaskResult res : results) {
      if (res.getCancelled() || res.hasFailure()) {
        return false;
      }
      if (res.hasPackedOutputs()) {
        bytes += res.getPackedOutputs().getSerializedSize();
      } else {
        for (Value v : res.getOutputsList()) {
          switch (v.getKindCase()) {
            case NULL, LONG, INT, DOUBLE, FLOAT, BOOL, SHORT, BYTE, CHAR -> bytes += 8;
            case STRING, BYTES -> bytes += v.getSerializedSize();
            default -> {
              return false;
            }
          }
        }
      }
      if (bytes > INLINE_MAX_BYTES) {
        return false;
      }
    }
    return true;
  }

  /** Fails {@code r}'s future; if even that throws (a listener), the error is logged, not thrown. */
  void failQuietly(TaskRecord r, Throwable t) {
    try {
      r.future.fail(t);
    } catch (Throwable e) {
      log.log(System.Logger.Level.WARNING, pool + ": a listener of " + r + " threw", e);
    }
  }

  /** Frees the slots and deletes the files of a task's inputs, once the task is done. */
  void discardInputs(List<Value> inputs) {
    for (Value v : inputs) {
      codec.freeWritten(v);
    }
    deleteBlobs(inputs);
  }

  /** Releases the slots and deletes the files of a result's outputs, once read (or not wanted). */
  private void discardOutputs(ValueCodec codec, List<Value> outputs) {
    for (Value v : outputs) {
      codec.releaseRead(v);
    }
    deleteBlobs(outputs);
  }

  /** Deletes the files behind any blob values (results once read, task inputs once the task is done). */
  private void deleteBlobs(List<Value> blobs) {
    for (Value v : blobs) {
      Path p = codec.blobPath(v);
      if (p != null) {
        try {
          Files.deleteIfExists(p);
        } catch (IOException e) {
          // Removed with the pool's directory at the latest.
        }
      }
    }
  }

}
