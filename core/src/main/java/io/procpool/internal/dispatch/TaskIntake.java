package io.procpool.internal.dispatch;

import io.procpool.internal.supervisor.Durations;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.procpool.Task;
import io.procpool.TaskCodecException;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.SharedArena;
import io.procpool.internal.codec.TaskEncoder;
import io.procpool.internal.jfr.PoolEvents;
import io.procpool.proto.v1.Cancel;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Tasks in and out: queueing submitted tasks, taking results out of flight, and cancelling. Its entry
 * points take the core lock through {@link CoreContext#update}.
 */
final class TaskIntake {
  private final String name;
  private final System.Logger log;
  private final CoreContext ctx;
  private final PoolLifecycle lifecycle;
  private final Dispatcher dispatcher;
  private final Supervisor supervisor;
  private final Completions completions;
  private final PoolCounters counters;
  private final TaskEncoder encoder;
  private final ScheduledExecutorService timer;
  private final Duration cancelGracePeriod;
  private final AtomicLong taskIds = new AtomicLong();

  TaskIntake(
      String name, System.Logger log, CoreContext ctx, PoolLifecycle lifecycle, Dispatcher dispatcher,
      Supervisor supervisor, Completions completions, PoolCounters counters, TaskEncoder encoder,
      ScheduledExecutorService timer, Duration cancelGracePeriod) {
    this.name = name;
    this.log = log;
    this.ctx = ctx;
    this.lifecycle = lifecycle;
    this.dispatcher = dispatcher;
    this.supervisor = supervisor;
    this.completions = completions;
    this.counters = counters;
    this.encoder = encoder;
    this.timer = timer;
    this.cancelGracePeriod = cancelGracePeriod;
  }

  /** One task of {@code function} over {@code inputs}; an encoding error fails only its future. */
  <T> ListenableFuture<T> enqueue(Task<?, ?> function, List<?> inputs, boolean single) {
    TaskEncoder.Function f;
    List<Value> encoded = new ArrayList<>(inputs.size());
    try {
      f = encoder.function(function, "task");
      for (Object in : inputs) {
        encoded.add(encoder.input(f, in));
      }
    } catch (TaskCodecException e) {
      // The inputs already encoded may hold arena slots or blob files: give them back now.
      discardInputs(encoded);
      synchronized (ctx.lock) {
        lifecycle.admit(false);
        counters.submitted++;
        counters.failed++;
      }
      TaskFuture<T> future = new TaskFuture<>(single);
      future.fail(e);
      return future;
    }
    return enqueue(f, new Payload.Separate(encoded), single, false);
  }

  /** Gives back the arena slots and blob files of {@code encoded} inputs no task will use. */
  void discardInputs(List<Value> encoded) {
    List<Value> outOfBand = new Payload.Separate(encoded).outOfBand();
    if (!outOfBand.isEmpty()) {
      completions.discardInputs(outOfBand);
    }
  }

  /** Queues a task of an encoded function and inputs; see {@link PoolLifecycle#admit}. */
  <T> TaskFuture<T> enqueue(TaskEncoder.Function f, Payload inputs, boolean single, boolean continuation) {
    TaskFuture<T> future = new TaskFuture<>(single);
    TaskRecord r = new TaskRecord(taskIds.incrementAndGet(), f, inputs, future);
    List<Value> outOfBand = inputs.outOfBand();
    try {
      ctx.update(
          () -> {
            lifecycle.admit(continuation);
            counters.submitted++;
            lifecycle.futureOpened();
            future.bind(this, r);
            dispatcher.add(r);
          });
    } catch (RuntimeException e) {
      // Refused (the pool is shutting down): nothing will free its inputs' slots and files but this.
      completions.discardInputs(outOfBand);
      throw e;
    }
    if (!outOfBand.isEmpty()) {
      future.addListener(() -> completions.discardInputs(outOfBand), MoreExecutors.directExecutor());
    }
    PoolEvents.taskSubmitted(name, r.id, r.description(), r.size);
    return future;
  }

  /**
   * Results from worker {@code w}: taken out of flight under the lock, then completed right here (on the
   * transport thread) when decoding them runs no user code, else on the executor.
   */
  void onResults(Worker w, List<TaskResult> results) {
    List<TaskRecord> done = new ArrayList<>(results.size());
    boolean inline = Completions.decodableInline(results);
    ctx.update(
        () -> {
          w.lastHeardNanos = System.nanoTime();
          for (TaskResult res : results) {
            TaskRecord r = dispatcher.take(w, res);
            if (r != null) {
              w.completed += Payload.outputsOf(res).size() + (res.hasFailure() ? 1 : 0);
              counters.countResult(res.getCancelled(), res.hasFailure());
            }
            done.add(r);
          }
          if (inline) {
            return;
          }
          // The worker's output arena stays mapped until these are decoded, even if it exits meanwhile.
          SharedArena arena = w.outArena != null && w.outArena.retain() ? w.outArena : null;
          ctx.outbox.later(
              () -> {
                try {
                  completions.complete(w, done, results, arena);
                } finally {
                  if (arena != null) {
                    arena.unretain();
                  }
                }
              });
        });
    if (inline) {
      TaskFuture.completeHandingOff(ctx.outbox.executor(), () -> completions.complete(w, done, results, null));
    }
  }

  /** A task's future is done (a result, a failure, a cancel): the pool may be able to terminate. */
  void onFutureDone(TaskRecord r, boolean cancelled, boolean interrupt) {
    ctx.update(
        () -> {
          lifecycle.futureDone();
          if (cancelled) {
            onCancelled(r, interrupt);
          }
        });
  }

  /** Lock. Drops a queued task; asks a worker to interrupt a running one, then kills it after a grace. */
  private void onCancelled(TaskRecord r, boolean interrupt) {
    Worker w = r.worker;
    if (w == null) {
      dispatcher.remove(r);
      return;
    }
    if (!interrupt || r.cancelSent || w.connection == null) {
      return;
    }
    r.cancelSent = true;
    ctx.outbox.send(w.connection, ParentMessage.newBuilder().setCancel(Cancel.newBuilder().setTaskId(r.id)).build());
    var unused = timer.schedule(
        () -> ctx.update(() -> killIfStillRunning(r, w)),
        Math.max(0, Durations.toNanosSaturated(cancelGracePeriod)), TimeUnit.NANOSECONDS);
  }

  private void killIfStillRunning(TaskRecord r, Worker w) {
    if (r.worker == w && w.isLive() && w.status().taskId() == r.id) {
      log.log(System.Logger.Level.WARNING,
          "{0}: {1} did not stop within {2,number,#} ms of being cancelled; killing worker {3} (pid {4,number,#})",
          name, r, cancelGracePeriod.toMillis(), w.index, w.pid());
      supervisor.kill(w, r + " did not stop when cancelled");
    }
  }
}
