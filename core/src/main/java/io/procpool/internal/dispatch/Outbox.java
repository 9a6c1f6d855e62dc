package io.procpool.internal.dispatch;

import io.procpool.internal.transport.WorkerConnection;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.spi.WorkerHandle;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Supplier;

/**
 * The one way side effects leave the core. Code holding the core lock decides what should happen and
 * records it here; after the lock is released, {@link #flush()} carries it out, in a fixed order:
 *
 * <ol>
 *   <li>kills, first, so that a worker being killed is never given more to do and a future failed
 *       because of a kill (a timeout) only completes once the kill was sent;
 *   <li>messages to workers, each worker's in the order they were decided;
 *   <li>streams to close;
 *   <li>jobs (launching a worker, decoding results, completing futures) handed to the pool's executor,
 *       so that user code (listeners, {@code readObject}) never runs under the lock, nor on a transport,
 *       timer or process-exit thread where it could stall dispatch, heartbeats or the watchdog.
 * </ol>
 *
 * <p>Any thread may flush, and whichever flushes carries out what every thread recorded before it: each
 * entry point of the core flushes after releasing the lock, so nothing recorded waits for long. Thread-safe.
 */
final class Outbox {
  private final Queue<WorkerHandle> kills = new ConcurrentLinkedQueue<>();
  private final Queue<WorkerConnection> sends = new ConcurrentLinkedQueue<>();
  private final Queue<WorkerConnection> closes = new ConcurrentLinkedQueue<>();
  private final Queue<Runnable> jobs = new ConcurrentLinkedQueue<>();
  private final ExecutorService executor;

  Outbox(ExecutorService executor) {
    this.executor = executor;
  }

  void kill(WorkerHandle process) {
    kills.add(process);
  }

  void send(WorkerConnection connection, ParentMessage message) {
    connection.enqueue(message);
    sends.add(connection);
  }

  /** As {@link #send(WorkerConnection, ParentMessage)}, the message built as it is sent, without the lock. */
  void send(WorkerConnection connection, Supplier<ParentMessage> message) {
    connection.enqueue(message);
    sends.add(connection);
  }

  void close(WorkerConnection connection) {
    closes.add(connection);
  }

  /** The pool's executor, for work that must leave a transport thread (see {@link TaskFuture#addListener}). */
  ExecutorService executor() {
    return executor;
  }

  /** Runs {@code job} on the pool's executor, after the kills and sends recorded with it. */
  void later(Runnable job) {
    jobs.add(job);
  }

  /** Carries out everything recorded so far. Call without the core lock. */
  void flush() {
    WorkerHandle p;
    while ((p = kills.poll()) != null) {
      p.kill();
    }
    WorkerConnection c;
    while ((c = sends.poll()) != null) {
      c.flush();
    }
    while ((c = closes.poll()) != null) {
      c.close();
    }
    Runnable job;
    while ((job = jobs.poll()) != null) {
      try {
        executor.execute(job);
      } catch (RejectedExecutionException e) {
        // The pool has terminated and its executor is gone: nothing user-facing is left to run, so
        // running the job here (a late blob clean-up, say) cannot stall anything.
        job.run();
      }
    }
  }
}
