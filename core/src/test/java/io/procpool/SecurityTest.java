package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.stub.StreamObserver;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.ResultBatch;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import io.procpool.proto.v1.WorkerChannelGrpc;
import io.procpool.proto.v1.WorkerMessage;
import java.net.ConnectException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The channel accepts only the pool's own workers, and only on loopback. */
class SecurityTest {
  static Pool pool;

  @BeforeAll
  static void start() {
    pool = Pool.builder().workers(1).build();
  }

  @AfterAll
  static void stop() {
    pool.close();
  }

  /** A stranger's stream: records what the parent sends and how the stream ends. */
  static final class Stranger implements StreamObserver<ParentMessage> {
    final List<ParentMessage> received = new CopyOnWriteArrayList<>();
    final CompletableFuture<Status> closed = new CompletableFuture<>();

    @Override
    public void onNext(ParentMessage m) {
      received.add(m);
    }

    @Override
    public void onError(Throwable t) {
      closed.complete(Status.fromThrowable(t));
    }

    @Override
    public void onCompleted() {
      closed.complete(Status.OK);
    }
  }

  private static ManagedChannel channel() {
    InetSocketAddress a = pool.serverAddress();
    return NettyChannelBuilder.forAddress(a.getHostString(), a.getPort()).usePlaintext().build();
  }

  private static Status connectWith(WorkerMessage... messages) throws Exception {
    ManagedChannel ch = channel();
    try {
      Stranger s = new Stranger();
      StreamObserver<WorkerMessage> out = WorkerChannelGrpc.newStub(ch).connect(s);
      for (WorkerMessage m : messages) {
        out.onNext(m);
      }
      Status status = s.closed.get(30, TimeUnit.SECONDS);
      assertEquals(List.of(), s.received, "a stranger must be sent nothing");
      return status;
    } finally {
      ch.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  private static WorkerMessage hello(byte[] secret, int version) {
    return WorkerMessage.newBuilder()
        .setHello(
            Hello.newBuilder()
                .setSecret(ByteString.copyFrom(secret))
                .setProtocolVersion(version)
                .setWorkerIndex(0)
                .setWorkerId(1)
                .setPid(ProcessHandle.current().pid()))
        .build();
  }

  @Test
  void server_boundToLoopbackOnly() {
    assertTrue(pool.serverAddress().getAddress().isLoopbackAddress(), pool.serverAddress().toString());
  }

  @Test
  void server_notReachableOnNonLoopbackAddress() throws Exception {
    List<InetAddress> external = new ArrayList<>();
    for (NetworkInterface nif : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      for (InetAddress a : Collections.list(nif.getInetAddresses())) {
        if (!a.isLoopbackAddress() && a instanceof Inet4Address) {
          external.add(a);
        }
      }
    }
    Assumptions.assumeFalse(external.isEmpty(), "this machine has no non-loopback IPv4 address");
    for (InetAddress a : external) {
      try (Socket s = new Socket()) {
        assertThrows(
            ConnectException.class,
            () -> s.connect(new InetSocketAddress(a, pool.serverAddress().getPort()), 2_000),
            "the pool's port must not accept connections on " + a);
      }
    }
  }

  @Test
  void connect_wrongSecret_refusedAndSentNothing() throws Exception {
    Status s = connectWith(hello(new byte[32], 1));
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode());
    assertEquals("wrong secret in Hello", s.getDescription());
  }

  @Test
  void connect_noHello_cannotInjectResultAndIsClosed() throws Exception {
    ListenableFuture<Long> victim = pool.submit(Workers::sleep, 1_000L);
    WorkerMessage forged =
        WorkerMessage.newBuilder()
            .setResults(
                ResultBatch.newBuilder()
                    .addResults(TaskResult.newBuilder().setTaskId(1).addOutputs(Value.newBuilder().setLong(-1))))
            .build();
    Status s = connectWith(forged);
    assertEquals(Status.Code.PERMISSION_DENIED, s.getCode());
    assertEquals("first message is not a Hello", s.getDescription());
    assertEquals(1_000L, victim.get(30, TimeUnit.SECONDS), "the forged result must not complete the future");
  }

  @Test
  void connect_wrongSecretThenResults_resultsIgnored() throws Exception {
    ListenableFuture<Long> victim = pool.submit(Workers::sleep, 500L);
    WorkerMessage forged =
        WorkerMessage.newBuilder()
            .setResults(ResultBatch.newBuilder().addResults(TaskResult.newBuilder().setTaskId(1)))
            .build();
    assertEquals(Status.Code.PERMISSION_DENIED, connectWith(hello(new byte[] {1, 2, 3}, 1), forged).getCode());
    assertEquals(500L, victim.get(30, TimeUnit.SECONDS));
    assertFalse(victim.isCancelled());
  }
}
