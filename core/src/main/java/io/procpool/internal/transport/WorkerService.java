package io.procpool.internal.transport;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.procpool.internal.worker.WorkerRuntime;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.WorkerChannelGrpc;
import io.procpool.proto.v1.WorkerMessage;
import java.security.MessageDigest;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The parent's end of each worker's {@code Connect} stream. It authenticates the stream before anything
 * else: the first message must be a {@link Hello} carrying the pool's secret and the secret of the worker
 * it names ({@link WorkerSecrets}; both compared in constant time) and this protocol's version, within
 * {@code helloTimeoutMillis}; otherwise the stream is closed and
 * nothing is sent on it or accepted from it. An authenticated stream is handed to the {@link Acceptor}.
 */
public final class WorkerService extends WorkerChannelGrpc.WorkerChannelImplBase {
  /** Takes authenticated streams. */
  public interface Acceptor {
    /**
     * Binds an authenticated worker stream to the worker it belongs to. Throws {@link
     * StatusRuntimeException} to refuse it (no such worker, already connected).
     */
    StreamHandler accept(Hello hello, ServerCallStreamObserver<ParentMessage> toWorker);
  }

  /** Receives the messages of one authenticated stream. Called on gRPC threads, one at a time. */
  public interface StreamHandler {
    void onMessage(WorkerMessage message);

    /** The stream ended; {@code error} is null when the worker closed it in order. */
    void onClosed(Throwable error);
  }

  private final byte[] secret;
  private final WorkerSecrets workerSecrets;
  private final Acceptor acceptor;
  private final ScheduledExecutorService timer;
  private final long helloTimeoutMillis;
  private final RefusalLog refusals;

  public WorkerService(
      ByteString secret,
      WorkerSecrets workerSecrets,
      Acceptor acceptor,
      ScheduledExecutorService timer,
      long helloTimeoutMillis,
      System.Logger log) {
    this.secret = secret.toByteArray();
    this.workerSecrets = workerSecrets;
    this.acceptor = acceptor;
    this.timer = timer;
    this.helloTimeoutMillis = helloTimeoutMillis;
    this.refusals = new RefusalLog(log);
  }

  /** The pool's secret, which {@link PoolServer} also requires at the start of each connection. */
  byte[] secret() {
    return secret.clone();
  }

  /** Where refused connections and streams are logged, rate-limited. */
  RefusalLog refusals() {
    return refusals;
  }

  @Override
  public StreamObserver<WorkerMessage> connect(StreamObserver<ParentMessage> responseObserver) {
    ServerCallStreamObserver<ParentMessage> out =
        (ServerCallStreamObserver<ParentMessage>) responseObserver;
    Stream stream = new Stream(out);
    var unused = timer.schedule(stream::helloDeadline, helloTimeoutMillis, TimeUnit.MILLISECONDS);
    return stream;
  }

  private final class Stream implements StreamObserver<WorkerMessage> {
    private final ServerCallStreamObserver<ParentMessage> out;
    // Guarded by this.
    private StreamHandler handler;
    private boolean closed;

    Stream(ServerCallStreamObserver<ParentMessage> out) {
      this.out = out;
    }

    synchronized void helloDeadline() {
      if (handler == null && !closed) {
        refuse(
            Status.PERMISSION_DENIED.withDescription(
                "no Hello within " + helloTimeoutMillis + " ms of connecting"));
      }
    }

    private void refuse(Status status) {
      closed = true;
      refusals.refused("stream", status.getDescription());
      try {
        out.onError(status.asRuntimeException());
      } catch (RuntimeException e) {
        // Already cancelled by the peer.
      }
    }

    @Override
    public void onNext(WorkerMessage message) {
      StreamHandler h;
      synchronized (this) {
        if (closed) {
          return;
        }
        h = handler;
        if (h == null) {
          authenticate(message);
          return;
        }
      }
      h.onMessage(message);
    }

    // Called with this locked.
    private void authenticate(WorkerMessage message) {
      if (!message.hasHello()) {
        refuse(Status.PERMISSION_DENIED.withDescription("first message is not a Hello"));
        return;
      }
      Hello hello = message.getHello();
      if (!MessageDigest.isEqual(secret, hello.getSecret().toByteArray())) {
        refuse(Status.PERMISSION_DENIED.withDescription("wrong secret in Hello"));
        return;
      }
      if (!workerSecrets.matches(hello.getWorkerId(), hello.getWorkerIndex(), hello.getWorkerSecret().toByteArray())) {
        refuse(
            Status.PERMISSION_DENIED.withDescription(
                "wrong worker secret in a Hello that claims worker " + hello.getWorkerIndex() + " (id "
                    + Long.toUnsignedString(hello.getWorkerId()) + ")"));
        return;
      }
      if (hello.getProtocolVersion() != WorkerRuntime.PROTOCOL_VERSION) {
        refuse(
            Status.FAILED_PRECONDITION.withDescription(
                "worker speaks protocol version " + hello.getProtocolVersion()
                    + ", but this pool speaks " + WorkerRuntime.PROTOCOL_VERSION));
        return;
      }
      try {
        handler = acceptor.accept(hello, out);
      } catch (StatusRuntimeException e) {
        refuse(e.getStatus());
      }
    }

    @Override
    public void onError(Throwable t) {
      StreamHandler h;
      synchronized (this) {
        closed = true;
        h = handler;
      }
      if (h != null) {
        h.onClosed(t);
      }
    }

    @Override
    public void onCompleted() {
      StreamHandler h;
      synchronized (this) {
        closed = true;
        h = handler;
      }
      if (h != null) {
        h.onClosed(null);
      } else {
        try {
          out.onCompleted();
        } catch (RuntimeException e) {
          // Already gone.
        }
      }
    }
  }
}
