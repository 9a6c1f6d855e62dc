package io.procpool.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.inprocess.InProcessChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.Ready;
import io.procpool.proto.v1.WorkerChannelGrpc;
import io.procpool.proto.v1.WorkerMessage;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Stream authentication over gRPC's in-process transport: no process, no socket. */
class WorkerServiceTest {
  private static final ByteString SECRET = ByteString.copyFromUtf8("0123456789abcdef0123456789abcdef");
  private static final WorkerSecrets WORKER_SECRETS = WorkerSecrets.random();
  private final List<WorkerMessage> accepted = new CopyOnWriteArrayList<>();
  private final CompletableFuture<Hello> hellos = new CompletableFuture<>();
  private final java.util.concurrent.atomic.AtomicInteger acceptorCalls = new java.util.concurrent.atomic.AtomicInteger();
  private ScheduledExecutorService timer;
  private PoolServer server;
  private ManagedChannel channel;

  @BeforeEach
  void start() throws Exception {
    timer = Executors.newSingleThreadScheduledExecutor();
    WorkerService service =
        new WorkerService(
            SECRET,
            WORKER_SECRETS,
            (hello, out) -> {
              acceptorCalls.incrementAndGet();
              hellos.complete(hello);
              return new WorkerService.StreamHandler() {
                @Override
                public void onMessage(WorkerMessage message) {
                  accepted.add(message);
                }

                @Override
                public void onClosed(Throwable error) {}
              };
            },
            timer,
            300,
            System.getLogger("test"));
    server = PoolServer.startInProcess(service, "wst-" + System.nanoTime());
    channel = InProcessChannelBuilder.forName(server.target().substring("inprocess:".length())).build();
  }

  @AfterEach
  void stop() {
    channel.shutdownNow();
    server.close();
    timer.shutdownNow();
  }

  private CompletableFuture<Status> connect(WorkerMessage... messages) {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    StreamObserver<WorkerMessage> out =
        WorkerChannelGrpc.newStub(channel)
            .connect(
                new StreamObserver<ParentMessage>() {
                  @Override
                  public void onNext(ParentMessage value) {}

                  @Override
                  public void onError(Throwable t) {
                    closed.complete(Status.fromThrowable(t));
                  }

                  @Override
                  public void onCompleted() {
                    closed.complete(Status.OK);
                  }
                });
    for (WorkerMessage m : messages) {
      out.onNext(m);
    }
    return closed;
  }

  private static WorkerMessage hello(ByteString secret, int version) {
    return hello(secret, version, 3, 42, WORKER_SECRETS.of(42, 3));
  }

  private static WorkerMessage hello(ByteString secret, int version, int index, long id, byte[] workerSecret) {
    return WorkerMessage.newBuilder()
        .setHello(
            Hello.newBuilder()
                .setSecret(secret)
                .setProtocolVersion(version)
                .setWorkerIndex(index)
                .setWorkerId(id)
                .setWorkerSecret(ByteString.copyFrom(workerSecret)))
        .build();
  }

  private static final WorkerMessage READY = WorkerMessage.newBuilder().setReady(Ready.getDefaultInstance()).build();

  @Test
  void hello_rightSecret_streamHandedToAcceptor() throws Exception {
    var unused = connect(hello(SECRET, 1), READY);
    assertEquals(SECRET, hellos.get(5, TimeUnit.SECONDS).getSecret());
    io.procpool.Conditions.await("the Ready message", java.time.Duration.ofSeconds(5), () -> !accepted.isEmpty());
    assertEquals(List.of(READY), accepted);
  }

  @Test
  void hello_otherProtocolVersion_refusedWithClearMessage() throws Exception {
    Status s = connect(hello(SECRET, 2), READY).get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.FAILED_PRECONDITION, s.getCode());
    assertEquals("worker speaks protocol version 2, but this pool speaks 1", s.getDescription());
    // Regression: only `accepted.isEmpty()` was asserted, which nothing but an accepted stream could
    // change; the refusal must happen before the acceptor binds the stream to a worker.
    assertEquals(0, acceptorCalls.get(), "the acceptor must not be called for a refused stream");
    assertEquals(List.of(), accepted);
  }

  @Test
  void hello_wrongSecret_refusedAndLaterMessagesDropped() throws Exception {
    Status s = connect(hello(ByteString.copyFromUtf8("guess"), 1), READY).get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode());
    assertEquals("wrong secret in Hello", s.getDescription());
    assertEquals(0, acceptorCalls.get(), "the acceptor must not be called for a refused stream");
    assertEquals(List.of(), accepted);
  }

  @Test
  void hello_anotherWorkersSecret_refused() throws Exception {
    // Worker 3 (id 42) knows the pool's secret and its own; it claims worker 4 (id 43).
    Status s = connect(hello(SECRET, 1, 4, 43, WORKER_SECRETS.of(42, 3)), READY).get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode());
    assertEquals("wrong worker secret in a Hello that claims worker 4 (id 43)", s.getDescription());
    assertEquals(0, acceptorCalls.get(), "the acceptor must not be called for a refused stream");
    assertEquals(List.of(), accepted);
  }

  @Test
  void hello_ownIdInAnotherSlot_refused() throws Exception {
    Status s = connect(hello(SECRET, 1, 4, 42, WORKER_SECRETS.of(42, 3)), READY).get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode());
    assertEquals(0, acceptorCalls.get(), "the acceptor must not be called for a refused stream");
  }

  @Test
  void hello_noWorkerSecret_refused() throws Exception {
    Status s = connect(hello(SECRET, 1, 3, 42, new byte[0]), READY).get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode());
    assertEquals(0, acceptorCalls.get(), "the acceptor must not be called for a refused stream");
  }

  @Test
  void firstMessageNotHello_refusedAndNothingDelivered() throws Exception {
    Status s = connect(READY, hello(SECRET, 1)).get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode());
    assertEquals("first message is not a Hello", s.getDescription());
    // A right Hello after the refusal must not open the stream after all.
    assertEquals(0, acceptorCalls.get(), "the acceptor must not be called for a refused stream");
    assertEquals(List.of(), accepted);
  }

  @Test
  void silence_pastHelloTimeout_closesStream() throws Exception {
    Status s = connect().get(5, TimeUnit.SECONDS);
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode());
    assertEquals("no Hello within 300 ms of connecting", s.getDescription());
    assertEquals(0, acceptorCalls.get(), "the acceptor must not be called for a refused stream");
  }
}
