package io.procpool.internal.worker;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.procpool.proto.v1.ResultBatch;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.WorkerMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A worker's results on their way to the parent, batched. The task thread {@link #add}s each result;
 * a batch leaves when the task thread has nothing else queued ({@link #flush}), when it holds {@link
 * #MAX_BATCH} results or {@link #MAX_BATCH_BYTES} bytes, or once it is {@link #MAX_BATCH_NANOS} old. That
 * keeps a single task's round trip short and a stream of tiny tasks cheap. A flusher thread, looking every
 * {@link #CHECK_MILLIS} ms, sends a batch that has grown old while the next task runs: a long task must
 * not hold back the results finished before it (had the worker died meanwhile, they would count as
 * deaths of their tasks).
 *
 * <p>Batches are sent under this object's lock, so they leave in the order they were made. Thread-safe.
 */
final class ResultBatcher {
  static final int MAX_BATCH = 256;
  static final long MAX_BATCH_BYTES = 1 << 20;
  static final long MAX_BATCH_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /**
   * How often the flusher looks. A check every few milliseconds, not a timer armed per batch: arming one
   * wakes the flusher thread twice per batch, and on a machine with few cores those wake-ups cost a stream
   * of small tasks a quarter of its throughput.
   */
  static final long CHECK_MILLIS = 5;

  private final Consumer<WorkerMessage> send;
  private final ScheduledExecutorService flusher;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final List<TaskResult> pending = new ArrayList<>();

  @GuardedBy("lock")
  private long pendingBytes;

  @GuardedBy("lock")
  private long pendingSince;

  ResultBatcher(Consumer<WorkerMessage> send, String threadName) {
    this.send = send;
    this.flusher =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, threadName);
              t.setDaemon(true);
              return t;
            });
  }

  /** Starts the flusher. */
  void start() {
    var unused = flusher.scheduleAtFixedRate(this::flushIfOld, CHECK_MILLIS, CHECK_MILLIS, TimeUnit.MILLISECONDS);
  }

  /** Stops the flusher; what is pending stays unsent. */
  void stop() {
    flusher.shutdownNow();
  }

  /** Adds a finished task's result; sends the batch if it is full or old enough. */
  void add(TaskResult result) {
    synchronized (lock) {
      pending.add(result);
      pendingBytes += result.getSerializedSize();
      if (pending.size() == 1) {
        pendingSince = System.nanoTime();
      }
      if (pending.size() >= MAX_BATCH
          || pendingBytes >= MAX_BATCH_BYTES
          || System.nanoTime() - pendingSince >= MAX_BATCH_NANOS) {
        flush();
      }
    }
  }

  private void flushIfOld() {
    synchronized (lock) {
      if (!pending.isEmpty() && System.nanoTime() - pendingSince >= MAX_BATCH_NANOS) {
        flush();
      }
    }
  }

  /** Sends the batch, if there is one. */
  void flush() {
    synchronized (lock) {
      if (pending.isEmpty()) {
        return;
      }
      WorkerMessage m =
          WorkerMessage.newBuilder().setResults(ResultBatch.newBuilder().addAllResults(pending)).build();
      pending.clear();
      pendingBytes = 0;
      send.accept(m);
    }
  }
}
