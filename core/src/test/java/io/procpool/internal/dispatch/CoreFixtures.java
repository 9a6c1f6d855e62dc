package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.MoreExecutors;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.SerialFilters;
import io.procpool.internal.codec.TaskEncoder;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.worker.StatusFile;
import io.procpool.proto.v1.Value;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Parts of the core put together without a process, a server or a thread of their own. */
final class CoreFixtures {
  static final System.Logger LOG = System.getLogger("io.procpool.Pool");

  final Path dir;
  final ValueCodec codec;
  final Outbox outbox = new Outbox(MoreExecutors.newDirectExecutorService());
  final CoreContext ctx = new CoreContext(outbox);
  final PoolCounters counters = new PoolCounters();
  final Dispatcher dispatcher = new Dispatcher(ctx, 0);
  final Completions completions;

  CoreFixtures(Path dir) {
    this.dir = dir;
    this.codec = new ValueCodec(SerialFilters.filter(SerialFilters.pattern("")), dir);
    this.completions = new Completions("test-1", codec, LOG);
  }

  Settlement settlement(int maxRetries) {
    return new Settlement("test-1", LOG, ctx, dispatcher, counters, completions, maxRetries, false, dir, System::nanoTime);
  }

  /** A worker with a status file; the returned second mapping is the worker's side of it. */
  /** Settles {@code w}'s tasks as the supervisor does: under the lock, the reports after it. */
  void settle(Settlement settlement, Worker w) {
    Runnable reports;
    synchronized (ctx.lock) {
      reports = settlement.settleTasks(w);
    }
    reports.run();
  }

  static StatusFile withStatus(Worker w, Path file) throws IOException {
    w.status = StatusFile.create(file);
    return StatusFile.open(file);
  }

  static TaskRecord task(long id, int inputs) {
    List<Value> values = new ArrayList<>();
    for (int i = 0; i < inputs; i++) {
      values.add(Value.newBuilder().setNull(true).build());
    }
    TaskEncoder.Function f =
        new TaskEncoder.Function(Value.getDefaultInstance(), 0, "Fixture::task", CoreFixtures.class.getClassLoader());
    TaskFuture<Object> future = new TaskFuture<>(inputs == 1);
    return new TaskRecord(id, f, new Payload.Separate(values), future);
  }

  /** The exception {@code r}'s future failed with; fails the test if it is not done or succeeded. */
  static Throwable failure(TaskRecord r) {
    org.junit.jupiter.api.Assertions.assertTrue(r.future.isDone(), r + " is not done");
    try {
      com.google.common.util.concurrent.Futures.getDone(r.future);
      throw new AssertionError(r + " succeeded");
    } catch (java.util.concurrent.ExecutionException e) {
      return e.getCause();
    }
  }

  /** Puts {@code r} in flight on {@code w}, as the dispatcher does. */
  static void send(Worker w, TaskRecord r) {
    r.worker = w;
    r.seq = ++w.tasksSent;
    w.inFlight.put(r.id, r);
  }
}
