package io.procpool.internal.worker;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.procpool.proto.v1.ResultBatch;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.WorkerMessage;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Consumer;
import java.util.function.LongSupplier;

/**
 * A worker's results on their way to the parent, batched. The task thread {@link #add}s each result. A
 * batch leaves:
 *
 * <ul>
 *   <li>at once when the task behind the result ran for {@link #MAX_BATCH_NANOS} or more: batching
 *       saves nothing on tasks that long, and the task thread sending it needs no other thread;
 *   <li>when the task thread has nothing else queued ({@link #flush});
 *   <li>when it holds {@link #MAX_BATCH} results or {@link #MAX_BATCH_BYTES} bytes, or once it is
 *       {@link #MAX_BATCH_NANOS} old at the next {@code add};
 *   <li>otherwise from the flusher thread, once it is that old: a long task must not hold back the
 *       short ones finished before it (had the worker died meanwhile, they would count as deaths of
 *       their tasks).
 * </ul>
 *
 * <p>The flusher runs only while there is something to watch. It looks every {@link #CHECK_NANOS}
 * while results are pending and for {@link #LINGER_NANOS} after (so that a stream of small tasks costs
 * it no wake-up call per batch), then parks until the task thread {@link #beforeTask starts a task}
 * with a batch pending. An idle worker, and one running long tasks, wakes it never: a timer firing 200
 * times a second in each worker took 3 % of a core per worker and preempted the task threads of a
 * CPU-bound map on a machine with as many workers as cores.
 *
 * <p>Batches are sent under this object's lock, so they leave in the order they were made. Thread-safe.
 */
final class ResultBatcher {
  static final int MAX_BATCH = 256;
  static final long MAX_BATCH_BYTES = 1 << 20;
  static final long MAX_BATCH_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
  /** How often the flusher looks while it is awake. */
  static final long CHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
  /** How long the flusher stays awake after the last batch it saw pending. */
  static final long LINGER_NANOS = TimeUnit.MILLISECONDS.toNanos(50);

  private final Consumer<WorkerMessage> send;
  private final LongSupplier clock;
  private final Thread flusher;
  private final Object lock = new Object();

  @GuardedBy("lock")
  private final List<TaskResult> pending = new ArrayList<>();

  @GuardedBy("lock")
  private long pendingBytes;

  @GuardedBy("lock")
  private long pendingSince;

  /** The flusher is parked with no deadline: the next {@link #beforeTask} with a batch pending wakes it. */
  @GuardedBy("lock")
  private boolean flusherAsleep;

  /** When the flusher last saw a batch pending. */
  @GuardedBy("lock")
  private long lastSeenPending;

  private volatile boolean stopped;

  ResultBatcher(Consumer<WorkerMessage> send, String threadName) {
    this(send, threadName, System::nanoTime);
  }

  ResultBatcher(Consumer<WorkerMessage> send, String threadName, LongSupplier clock) {
    this.send = send;
    this.clock = clock;
    this.flusher = new Thread(this::flusherLoop, threadName);
    flusher.setDaemon(true);
  }

  /** Starts the flusher. */
  void start() {
    flusher.start();
  }

  /** Stops the flusher; what is pending stays unsent. */
  void stop() {
    stopped = true;
    LockSupport.unpark(flusher);
  }

  /** Adds a finished task's result; sends the batch if the task was long, or the batch full or old. */
  void add(TaskResult result) {
    synchronized (lock) {
      pending.add(result);
      pendingBytes += result.getSerializedSize();
      long now = clock.getAsLong();
      if (pending.size() == 1) {
        pendingSince = now;
      }
      if (result.getRunNanos() >= MAX_BATCH_NANOS
          || pending.size() >= MAX_BATCH
          || pendingBytes >= MAX_BATCH_BYTES
          || now - pendingSince >= MAX_BATCH_NANOS) {
        flush();
      }
    }
  }

  /**
   * Called by the task thread before it runs a task: if a batch is pending, the flusher must watch it
   * while the task runs.
   */
  void beforeTask() {
    boolean wake;
    synchronized (lock) {
      wake = flusherAsleep && !pending.isEmpty();
      if (wake) {
        flusherAsleep = false;
        lastSeenPending = clock.getAsLong();
      }
    }
    if (wake) {
      LockSupport.unpark(flusher);
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

  /** True while the flusher is parked with no deadline (for tests). */
  boolean flusherAsleep() {
    synchronized (lock) {
      return flusherAsleep;
    }
  }

  private void flusherLoop() {
    while (!stopped) {
      boolean sleep;
      synchronized (lock) {
        long now = clock.getAsLong();
        if (!pending.isEmpty()) {
          lastSeenPending = now;
          if (now - pendingSince >= MAX_BATCH_NANOS) {
            try {
              flush();
            } catch (RuntimeException e) {
              // The stream is gone or going; the worker's exit path reports that, not this thread.
            }
          }
        }
        sleep = pending.isEmpty() && now - lastSeenPending >= LINGER_NANOS;
        flusherAsleep = sleep;
      }
      if (sleep) {
        LockSupport.park(this);
      } else {
        LockSupport.parkNanos(this, CHECK_NANOS);
      }
    }
  }
}
