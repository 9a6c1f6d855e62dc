package io.procpool.internal.dispatch;

import io.procpool.internal.codec.TaskEncoder;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.TaskBatch;
import io.procpool.proto.v1.TaskResult;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * The queue, and which worker gets which task. Tasks go to ready workers least loaded first, each worker
 * holding up to a window of tasks sized to cover a round trip at the recent task run time, so a worker
 * never waits for its next task.
 *
 * <p>Except for long tasks. How long a task will run is judged by its own function's recent run time per
 * input (not the pool's, which many short tasks would make short): a task of a function not measured yet,
 * or expected to run {@link #LONG_TASK_NANOS} or more, goes only to a worker with nothing in flight. It
 * never waits behind another task on one worker while another worker is free, and the round trip a
 * worker then waits between tasks is under 1 % of such a task. Every method is called with the core lock
 * held.
 */
final class Dispatcher {
  private static final long TARGET_BATCH_NANOS = TimeUnit.MILLISECONDS.toNanos(2);
  private static final int MAX_WINDOW = 512;
  /**
   * At most this many task messages per worker are unanswered at once; further tasks wait in the queue
   * and leave together in one message when results come back. Without it a caller submitting in a loop
   * sends one gRPC message per task, and per-message cost caps throughput (Nagle's idea, for tasks).
   */
  private static final int MAX_OPEN_BATCHES = 2;

  private static final long MAX_INFLIGHT_BYTES = 64L << 20;

  /** A task expected to run this long or longer is not sent to a worker that has one in flight. */
  static final long LONG_TASK_NANOS = TimeUnit.MILLISECONDS.toNanos(100);

  /** How many functions' run times are remembered; past that the memory starts over. */
  private static final int MAX_FUNCTIONS = 1024;

  private final CoreContext ctx;
  private final Outbox outbox;
  private final long maxTasksPerWorker;
  private final ArrayDeque<TaskRecord> queue = new ArrayDeque<>();
  private long ewmaTaskNanos = TimeUnit.MILLISECONDS.toNanos(10);
  private long ewmaItemNanos = -1;
  /** Recent run time per input, by function ({@link TaskEncoder.Function#description}). */
  private final HashMap<String, Long> itemNanosByFunction = new HashMap<>();

  Dispatcher(CoreContext ctx, long maxTasksPerWorker) {
    this.ctx = ctx;
    this.outbox = ctx.outbox;
    this.maxTasksPerWorker = maxTasksPerWorker;
  }

  void add(TaskRecord r) {
    queue.addLast(r);
  }

  /** Puts {@code records} back at the head of the queue, in their order. */
  void requeueFirst(List<TaskRecord> records) {
    for (int i = records.size() - 1; i >= 0; i--) {
      queue.addFirst(records.get(i));
    }
  }

  /** Removes a queued task (cancelled before it was sent); false if it was not queued. */
  boolean remove(TaskRecord r) {
    return queue.remove(r);
  }

  /** Empties the queue and returns what it held. */
  List<TaskRecord> drain() {
    List<TaskRecord> all = new ArrayList<>(queue);
    queue.clear();
    return all;
  }

  boolean isEmpty() {
    return queue.isEmpty();
  }

  int queued() {
    return queue.size();
  }

  TaskRecord head() {
    return queue.peekFirst();
  }

  /** Average run time of one input in recent tasks, or -1 before any result; for chunk sizing. */
  long recentItemNanos() {
    return ewmaItemNanos;
  }

  /** Whether {@code w} may take {@code r} under maxTasksPerWorker. */
  boolean withinBudget(Worker w, TaskRecord r) {
    return maxTasksPerWorker <= 0 || w.assigned == 0 || w.assigned + r.size <= maxTasksPerWorker;
  }

  /**
   * Moves queued tasks to {@code workers} that take tasks, least loaded first, up to each one's window;
   * each worker's share leaves in one message.
   */
  void pump(Worker[] workers) {
    assert ctx.held();
    if (queue.isEmpty()) {
      return;
    }
    int window = window();
    IdentityHashMap<Worker, Batch> batches = null;
    while (!queue.isEmpty()) {
      TaskRecord r = queue.peekFirst();
      if (r.future.isDone()) {
        queue.pollFirst();
        continue;
      }
      Worker best = null;
      for (Worker w : workers) {
        if (w != null
            && w.takesTasks()
            && w.inFlight.size() < (expectedLong(r) ? 1 : window)
            && (w.inFlight.isEmpty() || w.inFlightBytes + r.bytes <= MAX_INFLIGHT_BYTES)
            && withinBudget(w, r)
            && (w.openBatches.size() < MAX_OPEN_BATCHES || (batches != null && batches.containsKey(w)))
            && (best == null || w.inFlight.size() < best.inFlight.size())) {
          best = w;
        }
      }
      if (best == null) {
        break;
      }
      queue.pollFirst();
      if (batches == null) {
        batches = new IdentityHashMap<>();
      }
      if (!batches.containsKey(best)) {
        best.batchSeq++;
      }
      batches.computeIfAbsent(best, k -> new Batch()).add(r, assign(r, best));
    }
    if (batches != null) {
      batches.forEach((w, b) -> outbox.send(w.connection, b));
    }
  }

  /**
   * Tasks decided for one worker in one pump. The message is built when the connection sends it,
   * after the core lock is released: under the lock the pump only records which tasks, in order.
   */
  private static final class Batch implements Supplier<ParentMessage> {
    private final List<TaskRecord> tasks = new ArrayList<>();
    /** Which of {@link #tasks} carry their stateless function's bytes. */
    private final BitSet withFunction = new BitSet();

    void add(TaskRecord r, boolean function) {
      if (function) {
        withFunction.set(tasks.size());
      }
      tasks.add(r);
    }

    @Override
    public ParentMessage get() {
      TaskBatch.Builder b = TaskBatch.newBuilder();
      for (int i = 0; i < tasks.size(); i++) {
        b.addTasks(tasks.get(i).request(withFunction.get(i)));
      }
      return ParentMessage.newBuilder().setTasks(b).build();
    }
  }

  /**
   * Puts {@code r} in flight on {@code w}; returns whether its request must carry the function's
   * bytes (a stateless function {@code w} has not been sent yet).
   */
  private boolean assign(TaskRecord r, Worker w) {
    r.batch = w.batchSeq;
    r.worker = w;
    r.seq = ++w.tasksSent;
    w.openBatches.merge(r.batch, 1, Integer::sum);
    w.inFlight.put(r.id, r);
    w.inFlightBytes += r.bytes;
    w.assigned += r.size;
    long functionId = r.function.cacheId();
    return functionId != 0 && w.knownFunctions.add(functionId);
  }

  /**
   * Takes the task {@code result} answers out of {@code w}'s in-flight table and learns from its run
   * time; null if the task is no longer in flight there (it timed out, say).
   */
  TaskRecord take(Worker w, TaskResult result) {
    assert ctx.held();
    TaskRecord r = w.inFlight.get(result.getTaskId());
    if (r == null) {
      return null;
    }
    w.release(r);
    r.worker = null;
    w.busyNanos += result.getRunNanos();
    ewmaTaskNanos += (result.getRunNanos() - ewmaTaskNanos) / 8;
    long perItem = result.getRunNanos() / Math.max(1, r.size);
    ewmaItemNanos = ewmaItemNanos < 0 ? perItem : ewmaItemNanos + (perItem - ewmaItemNanos) / 8;
    learn(r.function.description(), perItem);
    return r;
  }

  /** Records that an input of {@code function} just ran for {@code perItemNanos}. */
  void learn(String function, long perItemNanos) {
    if (itemNanosByFunction.size() >= MAX_FUNCTIONS && !itemNanosByFunction.containsKey(function)) {
      itemNanosByFunction.clear();
    }
    itemNanosByFunction.merge(function, perItemNanos, (old, now) -> old + (now - old) / 4);
  }

  /** Whether {@code r} should wait for a worker with nothing in flight (see the class comment). */
  private boolean expectedLong(TaskRecord r) {
    Long perItem = itemNanosByFunction.get(r.function.description());
    return perItem == null || perItem * r.size >= LONG_TASK_NANOS;
  }

  /** How many tasks a worker may hold: enough to cover a round trip, going by recent task run times. */
  private int window() {
    long w = TARGET_BATCH_NANOS / Math.max(1, ewmaTaskNanos);
    return (int) Math.max(2, Math.min(MAX_WINDOW, w + 1));
  }
}
