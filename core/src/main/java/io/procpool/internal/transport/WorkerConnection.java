package io.procpool.internal.transport;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.grpc.stub.ServerCallStreamObserver;
import io.procpool.proto.v1.ClassRequest;
import io.procpool.proto.v1.Failure;
import io.procpool.proto.v1.Heartbeat;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.WorkerMessage;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.function.Supplier;

/**
 * The parent's end of one authenticated worker stream: the switch that turns each worker message into a
 * call on a {@link Listener}, and an outbox that sends the parent's messages in the order they were
 * queued.
 *
 * <p>Why an outbox: the pool decides what to send while holding its lock but must not send while holding
 * it (a send can block on flow control). Two threads that each decide, unlock and then send could send in
 * the opposite order to their decisions, and a worker runs tasks in the order it receives them, which the
 * pool relies on to tell which tasks a dead worker had begun. So decisions {@link #enqueue} (under the
 * pool's lock, hence in decision order) and whoever {@link #flush}es afterwards sends everything queued,
 * in order, under this connection's own send lock (a gRPC stream observer is not thread-safe).
 */
public final class WorkerConnection implements WorkerService.StreamHandler {
  /** What a worker says. Called on a gRPC thread, one message at a time. */
  public interface Listener {
    void onResults(List<TaskResult> results);

    void onReady();

    void onHeartbeat(Heartbeat heartbeat);

    void onInitializerFailed(Failure failure);

    /** A worker on another machine is about to run task {@code taskId}, its {@code count}th. */
    void onBegun(long taskId, long count);

    /**
     * The worker asks for class files; answer with {@link #reply}, from any thread, without holding up
     * this one (the lookup reads files and runs class loaders' code).
     */
    void onClassRequest(ClassRequest request);

    /** The stream ended; {@code error} is null when the worker closed it in order. */
    void onClosed(Throwable error);
  }

  private final ServerCallStreamObserver<ParentMessage> out;
  private final Listener listener;
  /** Messages, or suppliers that build them as they are sent. */
  private final Queue<Object> outbox = new ConcurrentLinkedQueue<>();
  private final Object sendLock = new Object();

  @GuardedBy("sendLock")
  private boolean closed;

  public WorkerConnection(ServerCallStreamObserver<ParentMessage> out, Listener listener) {
    this.out = out;
    this.listener = listener;
  }

  /** Queues {@code message}; it leaves on the next {@link #flush()}. */
  public void enqueue(ParentMessage message) {
    outbox.add(message);
  }

  /**
   * Queues a message that {@code message} builds when it is sent, on the thread that flushes and without
   * the pool's lock (a batch of tasks, whose requests need not exist while they are queued).
   */
  public void enqueue(Supplier<ParentMessage> message) {
    outbox.add(message);
  }

  /** Sends every queued message, in order. A closed stream drops them: its worker's exit settles it. */
  public void flush() {
    synchronized (sendLock) {
      Object next;
      while ((next = outbox.poll()) != null) {
        if (closed) {
          continue;
        }
        try {
          out.onNext(message(next));
        } catch (RuntimeException e) {
          // Cancelled by the worker's side: its exit will be noticed.
          closed = true;
        }
      }
    }
  }

  @SuppressWarnings("unchecked")
  private static ParentMessage message(Object queued) {
    return queued instanceof ParentMessage m ? m : ((Supplier<ParentMessage>) queued).get();
  }

  /**
   * Sends {@code message} now, after whatever is queued. For answers that are in no order with the
   * pool's decisions (class files): a task batch decided before it still leaves before it.
   */
  public void reply(ParentMessage message) {
    enqueue(message);
    flush();
  }

  /** Sends what is queued, then ends the parent's side of the stream. Idempotent. */
  public void close() {
    flush();
    synchronized (sendLock) {
      if (!closed) {
        closed = true;
        try {
          out.onCompleted();
        } catch (RuntimeException e) {
          // Already gone.
        }
      }
    }
  }

  @Override
  public void onMessage(WorkerMessage message) {
    switch (message.getKindCase()) {
      case RESULTS -> listener.onResults(message.getResults().getResultsList());
      case READY -> listener.onReady();
      case HEARTBEAT -> listener.onHeartbeat(message.getHeartbeat());
      case INIT_FAILED -> listener.onInitializerFailed(message.getInitFailed());
      case CLASS_REQUEST -> listener.onClassRequest(message.getClassRequest());
      case BEGUN -> listener.onBegun(message.getBegun().getTaskId(), message.getBegun().getCount());
      case HELLO, KIND_NOT_SET -> {
        // A second Hello, or a message kind from a newer protocol: nothing to do.
      }
    }
  }

  @Override
  public void onClosed(Throwable error) {
    listener.onClosed(error);
  }
}
