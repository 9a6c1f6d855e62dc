package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.stub.StreamObserver;
import io.procpool.internal.transport.PoolServer;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.ResultBatch;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import io.procpool.proto.v1.WorkerChannelGrpc;
import io.procpool.proto.v1.WorkerMessage;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The channel accepts only the pool's own workers, and only on loopback. A stranger here is a plain gRPC
 * client: it does not know the pool's secret, so its connection is refused before gRPC reads a byte of it
 * (UNAVAILABLE on the stranger's side). What a peer past that check may send is tested in
 * internal.transport.WorkerServiceTest.
 */
class SecurityTest {
  static Pool pool;
  static EventLoopGroup STRANGER_GROUP;

  @BeforeAll
  static void start() {
    pool = Pool.builder().workers(1).build();
    if (!(pool.serverAddress() instanceof InetSocketAddress)) {
      STRANGER_GROUP = PoolServer.epollGroup(1, "stranger");
    }
  }

  @AfterAll
  static void stop() {
    pool.close();
    if (STRANGER_GROUP != null) {
      var unused = STRANGER_GROUP.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }
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

  /** A plain gRPC channel to the pool's server, over whichever transport the pool serves on. */
  private static ManagedChannel channel() {
    SocketAddress a = pool.serverAddress();
    if (a instanceof InetSocketAddress i) {
      return NettyChannelBuilder.forAddress(i.getHostString(), i.getPort()).usePlaintext().build();
    }
    return NettyChannelBuilder.forAddress(a)
        .channelType(EpollDomainSocketChannel.class, DomainSocketAddress.class)
        .withOption(io.grpc.netty.shaded.io.netty.channel.ChannelOption.SO_KEEPALIVE, null)
        .eventLoopGroup(STRANGER_GROUP)
        .overrideAuthority("localhost")
        .usePlaintext()
        .build();
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
  void server_reachableOnlyFromThisMachineAndUser() throws Exception {
    SocketAddress a = pool.serverAddress();
    if (a instanceof InetSocketAddress i) {
      assertTrue(i.getAddress().isLoopbackAddress(), a.toString());
    } else {
      Path socket = Path.of(((DomainSocketAddress) a).path());
      assertEquals(
          "rwx------",
          PosixFilePermissions.toString(Files.getPosixFilePermissions(socket.getParent())),
          "permissions of the directory of " + socket);
    }
  }

  /**
   * Submits a task that sleeps and returns the id under which it runs, read from the pool's stats once
   * its worker has started it: a forged result for this id is one the pool would accept from the task's
   * own worker.
   */
  private static long inFlightTaskId(ListenableFuture<Long> victim) {
    java.util.concurrent.atomic.AtomicReference<String> current = new java.util.concurrent.atomic.AtomicReference<>();
    Conditions.await(
        "the victim task to start", java.time.Duration.ofSeconds(30),
        () -> {
          current.set(pool.stats().workers().get(0).currentTask());
          return current.get() != null || victim.isDone();
        });
    assertFalse(victim.isDone(), "the victim task ended before the forgery could be tried");
    java.util.regex.Matcher m = java.util.regex.Pattern.compile("task (\\d+) ").matcher(current.get());
    assertTrue(m.lookingAt(), "unexpected current task: " + current.get());
    return Long.parseLong(m.group(1));
  }

  private static WorkerMessage forgedResult(long taskId) {
    return WorkerMessage.newBuilder()
        .setResults(
            ResultBatch.newBuilder()
                .addResults(TaskResult.newBuilder().setTaskId(taskId).addOutputs(Value.newBuilder().setLong(-1))))
        .build();
  }

  @Test
  void connect_wrongSecret_refusedAtConnectionAndSentNothing() throws Exception {
    Status s = connectWith(hello(new byte[32], 1));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
  }

  @Test
  void connect_noHello_cannotInjectResultForTaskInFlight() throws Exception {
    // Regression: the forged id used to be 1, which named the in-flight task only if this test ran first.
    ListenableFuture<Long> victim = pool.submit(Workers::sleep, 2_000L);
    long id = inFlightTaskId(victim);
    Status s = connectWith(forgedResult(id));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
    assertEquals(2_000L, victim.get(30, TimeUnit.SECONDS), "the forged result for task " + id + " must not complete it");
  }

  @Test
  void connect_wrongSecretThenResults_resultsForTaskInFlightIgnored() throws Exception {
    ListenableFuture<Long> victim = pool.submit(Workers::sleep, 2_000L);
    long id = inFlightTaskId(victim);
    Status s = connectWith(hello(new byte[] {1, 2, 3}, 1), forgedResult(id));
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
    assertEquals(2_000L, victim.get(30, TimeUnit.SECONDS), "the forged result for task " + id + " must not complete it");
    assertFalse(victim.isCancelled());
  }
}
