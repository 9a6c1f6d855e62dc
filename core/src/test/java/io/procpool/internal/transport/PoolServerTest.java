package io.procpool.internal.transport;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.ByteString;
import io.grpc.ManagedChannel;
import io.grpc.Status;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.stub.StreamObserver;
import io.procpool.Conditions;
import io.procpool.internal.worker.WorkerRuntime;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.Ready;
import io.procpool.proto.v1.Value;
import io.procpool.proto.v1.WorkerChannelGrpc;
import io.procpool.proto.v1.WorkerMessage;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.System.Logger.Level;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The connection handshake over real loopback TCP, in this JVM: no worker process. Each test starts its
 * own server with its own limits.
 */
class PoolServerTest {
  private static final byte[] SECRET = "0123456789abcdef0123456789abcdef".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
  private static final WorkerSecrets WORKER_SECRETS = WorkerSecrets.random();

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();
  private final RecordingLogger log = new RecordingLogger();
  private final AtomicInteger acceptorCalls = new AtomicInteger();
  private final List<WorkerMessage> delivered = new CopyOnWriteArrayList<>();
  private final List<Socket> sockets = new ArrayList<>();
  private PoolServer server;
  private ManagedChannel channel;

  private PoolServer start(Handshake.Limits limits) throws IOException {
    server = PoolServer.startLoopback(service(), limits);
    return server;
  }

  private WorkerService service() {
    return new WorkerService(
            ByteString.copyFrom(SECRET),
            WORKER_SECRETS,
            (hello, out) -> {
              acceptorCalls.incrementAndGet();
              return new WorkerService.StreamHandler() {
                @Override
                public void onMessage(WorkerMessage message) {
                  delivered.add(message);
                }

                @Override
                public void onClosed(Throwable error) {}
              };
            },
            timer,
            10_000,
            log);
  }

  @AfterEach
  void stop() throws Exception {
    for (Socket s : sockets) {
      s.close();
    }
    if (channel != null) {
      channel.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    if (server != null) {
      server.close();
    }
    timer.shutdownNow();
  }

  private Socket socket() throws IOException {
    Socket s = new Socket();
    sockets.add(s);
    s.connect(server.address(), 5_000);
    return s;
  }

  /** The first of {@code a} and {@code b} that the server closes, having sent nothing on either. */
  private static Socket firstClosed(Socket a, Socket b, Duration within) throws IOException {
    long end = System.nanoTime() + within.toNanos();
    a.setSoTimeout(20);
    b.setSoTimeout(20);
    while (System.nanoTime() < end) {
      for (Socket s : new Socket[] {a, b}) {
        try {
          if (s.getInputStream().read() == -1) {
            return s;
          }
          throw new AssertionError("the server sent a byte before the handshake");
        } catch (java.net.SocketTimeoutException e) {
          // Still open.
        } catch (IOException e) {
          return s; // Reset by the server.
        }
      }
    }
    throw new AssertionError("neither connection was closed within " + within);
  }

  /** Reads until the server closes; fails if it sends anything first or keeps the connection past {@code within}. */
  private static void assertClosedHavingSentNothing(Socket s, Duration within) throws IOException {
    s.setSoTimeout((int) within.toMillis());
    InputStream in = s.getInputStream();
    int b;
    try {
      b = in.read();
    } catch (SocketTimeoutException e) {
      throw new AssertionError("the server kept a connection that did not authenticate for over " + within, e);
    } catch (IOException e) {
      return; // Reset by the server: closed, having sent nothing.
    }
    assertEquals(-1, b, "the server must send nothing to a connection that did not authenticate");
  }

  private static WorkerMessage hello() {
    return WorkerMessage.newBuilder()
        .setHello(
            Hello.newBuilder()
                .setSecret(ByteString.copyFrom(SECRET))
                .setProtocolVersion(WorkerRuntime.PROTOCOL_VERSION)
                .setWorkerSecret(ByteString.copyFrom(WORKER_SECRETS.of(0, 0))))
        .build();
  }

  private CompletableFuture<Status> connect(ManagedChannel ch, WorkerMessage... messages) {
    CompletableFuture<Status> closed = new CompletableFuture<>();
    StreamObserver<WorkerMessage> out =
        WorkerChannelGrpc.newStub(ch)
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

  @Test
  void handshake_rightSecret_streamReachesAcceptor() throws Exception {
    start(Handshake.Limits.DEFAULT);
    InetSocketAddress a = server.address();
    channel = NettyChannelBuilder.forAddress(a.getHostString(), a.getPort(), Handshake.client(SECRET)).build();
    WorkerMessage ready = WorkerMessage.newBuilder().setReady(Ready.getDefaultInstance()).build();
    var unused = connect(channel, hello(), ready);
    Conditions.await("the Ready message", Duration.ofSeconds(10), () -> !delivered.isEmpty());
    assertEquals(List.of(ready), delivered);
    assertEquals(1, acceptorCalls.get());
  }

  @Test
  void plainGrpcClient_largeFirstMessageWithoutHandshake_refusedBeforeGrpcReadsIt() throws Exception {
    // Regression: gRPC read a stranger's first message, up to 2 GiB, before its Hello could be checked.
    start(Handshake.Limits.DEFAULT);
    InetSocketAddress a = server.address();
    channel = NettyChannelBuilder.forAddress(a.getHostString(), a.getPort()).usePlaintext().build();
    WorkerMessage big =
        WorkerMessage.newBuilder()
            .setResults(
                io.procpool.proto.v1.ResultBatch.newBuilder()
                    .addResults(
                        io.procpool.proto.v1.TaskResult.newBuilder()
                            .addOutputs(Value.newBuilder().setBytes(ByteString.copyFrom(new byte[16 << 20])))))
            .build();
    Status s = connect(channel, big).get(30, TimeUnit.SECONDS);
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
    assertEquals(0, acceptorCalls.get());
    assertEquals(List.of(), delivered);
    Conditions.await(
        "a WARNING naming the refused connection", Duration.ofSeconds(10),
        () -> log.count(Level.WARNING, "not a procpool worker handshake") == 1);
  }

  @Test
  void connection_wrongSecret_closedHavingSentNothing() throws Exception {
    start(Handshake.Limits.DEFAULT);
    Socket s = socket();
    OutputStream out = s.getOutputStream();
    out.write(Handshake.preface(new byte[SECRET.length]));
    out.flush();
    assertClosedHavingSentNothing(s, Duration.ofSeconds(10));
    Conditions.await(
        "a WARNING for the wrong secret", Duration.ofSeconds(10),
        () -> log.count(Level.WARNING, "wrong secret") == 1);
  }

  @Test
  void connection_silent_closedAfterHandshakeTimeout() throws Exception {
    // Regression: a connection that never opened a stream was held for ever.
    start(new Handshake.Limits(300, 64));
    Socket s = socket();
    long t0 = System.nanoTime();
    assertClosedHavingSentNothing(s, Duration.ofSeconds(10));
    assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(250), "closed before the timeout");
    Conditions.await(
        "a WARNING for the timeout", Duration.ofSeconds(10),
        () -> log.count(Level.WARNING, "no handshake within 300 ms of connecting") == 1);
  }

  @Test
  void connections_overPendingCap_extraOnesClosedAtOnce() throws Exception {
    start(new Handshake.Limits(60_000, 2));
    List<Socket> silent = new ArrayList<>();
    for (int i = 0; i < 5; i++) {
      silent.add(socket());
    }
    String reason = "2 connections are already waiting to authenticate";
    Conditions.await(
        "3 refusals over the cap", Duration.ofSeconds(10),
        () -> log.lines.stream().filter(l -> l.message().contains(reason)).count() == 3);
    long closed = 0;
    for (Socket s : silent) {
      s.setSoTimeout(200);
      try {
        if (s.getInputStream().read() == -1) {
          closed++;
        }
      } catch (SocketTimeoutException e) {
        // Still open: one of the two allowed to wait.
      } catch (IOException e) {
        closed++;
      }
    }
    assertEquals(3, closed, "connections closed at once");
    // Refusals past the first within a minute are summarized, not each logged at WARNING.
    assertEquals(1, log.count(Level.WARNING, reason));
    assertEquals(2, log.count(Level.DEBUG, reason));
  }

  @Test
  void connection_afterPendingOneCloses_slotIsFreedForAWorker() throws Exception {
    start(new Handshake.Limits(60_000, 1));
    Socket a = socket();
    Socket b = socket();
    // Exactly one is over the cap; which one depends on the order the server's event loops saw them.
    Socket refused = firstClosed(a, b, Duration.ofSeconds(10));
    Socket waiting = refused == a ? b : a;
    waiting.close();
    // The server frees the slot on its event loop once it sees the close; until then a worker is refused
    // as any connection over the cap is, so poll: an admitted connection gets gRPC's HTTP/2 settings.
    Conditions.await(
        "a connection with the secret to be admitted once the slot is free", Duration.ofSeconds(20),
        () -> {
          try (Socket s = new Socket()) {
            s.connect(server.address(), 5_000);
            s.getOutputStream().write(Handshake.preface(SECRET));
            s.setSoTimeout(5_000);
            return s.getInputStream().read() != -1;
          } catch (IOException e) {
            return false;
          }
        });
  }

  @Test
  void loopbackServer_boundToLoopbackOnly() throws Exception {
    start(Handshake.Limits.DEFAULT);
    assertTrue(server.address().getAddress().isLoopbackAddress(), server.address().toString());
    assertEquals(server.address(), server.socketAddress());
  }

  @Test
  void unixServer_handshakeRequired_workerAcceptedStrangerRefused(@TempDir Path dir) throws Exception {
    Assumptions.assumeTrue(Epoll.isAvailable(), "no native epoll transport on this platform");
    WorkerService service = service();
    server = PoolServer.startUnix(service, dir.resolve("grpc.sock"), Handshake.Limits.DEFAULT);
    assertEquals("unix:" + dir.resolve("grpc.sock"), server.target());
    assertEquals(null, server.address());
    channel = PoolServer.channelBuilder(server.target(), SECRET).build();
    WorkerMessage ready = WorkerMessage.newBuilder().setReady(Ready.getDefaultInstance()).build();
    var unused = connect(channel, hello(), ready);
    Conditions.await("the Ready message", Duration.ofSeconds(10), () -> !delivered.isEmpty());
    assertEquals(List.of(ready), delivered);
    ManagedChannel stranger = PoolServer.channelBuilder(server.target(), new byte[SECRET.length]).build();
    try {
      Status s = connect(stranger, hello()).get(30, TimeUnit.SECONDS);
      assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
    } finally {
      stranger.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
    assertEquals(1, acceptorCalls.get());
    Conditions.await(
        "a WARNING for the wrong secret naming the peer process", Duration.ofSeconds(10),
        () -> log.count(Level.WARNING, "connection from pid " + ProcessHandle.current().pid() + " (uid ") == 1);
  }

  // ---------------------------------------------------------------------------------------------------
  // A routable server: TLS with the pool's own certificate, pinned by workers; the secret inside it.

  private Tls tls;

  private ManagedChannel routableChannel(byte[] secret, byte[] pin) throws Exception {
    tls = tls == null ? Tls.selfSigned("test", Duration.ofDays(1)) : tls;
    if (server == null) {
      server = PoolServer.startRoutable(service(), tls, "127.0.0.1");
    }
    return PoolServer.channelBuilder(server.target(), secret, pin).directExecutor().build();
  }

  @Test
  void routable_pinnedCertificateAndSecret_streamReachesAcceptor() throws Exception {
    tls = Tls.selfSigned("test", Duration.ofDays(1));
    channel = routableChannel(SECRET, tls.fingerprint());
    assertTrue(server.address().getAddress().isAnyLocalAddress(), "listens on every interface: " + server.address());
    assertEquals("127.0.0.1:" + server.address().getPort(), server.target());
    WorkerMessage ready = WorkerMessage.newBuilder().setReady(Ready.getDefaultInstance()).build();
    var unused = connect(channel, hello(), ready);
    Conditions.await("the Ready message", Duration.ofSeconds(10), () -> !delivered.isEmpty());
    assertEquals(List.of(ready), delivered);
  }

  @Test
  void routable_otherCertificatePinned_workerRefusesServerAndSendsNothing() throws Exception {
    tls = Tls.selfSigned("test", Duration.ofDays(1));
    byte[] otherPin = Tls.selfSigned("impostor", Duration.ofDays(1)).fingerprint();
    channel = routableChannel(SECRET, otherPin);
    Status s = connect(channel, hello()).get(30, TimeUnit.SECONDS);
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
    assertEquals(0, acceptorCalls.get(), "nothing may reach the acceptor over an untrusted connection");
  }

  @Test
  void routable_rightPinWrongSecret_refusedInsideTls() throws Exception {
    tls = Tls.selfSigned("test", Duration.ofDays(1));
    channel = routableChannel("not the pool's secret, but 32 b!".getBytes(java.nio.charset.StandardCharsets.US_ASCII), tls.fingerprint());
    Status s = connect(channel, hello()).get(30, TimeUnit.SECONDS);
    assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
    assertEquals(0, acceptorCalls.get());
  }

  @Test
  void routable_plaintextClientWithRightSecret_refused() throws Exception {
    tls = Tls.selfSigned("test", Duration.ofDays(1));
    channel = routableChannel(SECRET, tls.fingerprint());
    // Over the same port but without TLS: the secret in the clear is not a TLS ClientHello.
    InetSocketAddress a = server.address();
    ManagedChannel plain =
        NettyChannelBuilder.forAddress("127.0.0.1", a.getPort(), Handshake.client(SECRET)).build();
    try {
      Status s = connect(plain, hello()).get(30, TimeUnit.SECONDS);
      assertEquals(Status.Code.UNAVAILABLE, s.getCode(), s.toString());
      assertEquals(0, acceptorCalls.get());
    } finally {
      plain.shutdownNow().awaitTermination(5, TimeUnit.SECONDS);
    }
  }

  @Test
  void tls_fingerprintOfWrongLength_refusedAtOnce() {
    javax.net.ssl.SSLException e =
        org.junit.jupiter.api.Assertions.assertThrows(javax.net.ssl.SSLException.class, () -> PinnedCertificate.context(new byte[20]));
    assertTrue(e.getMessage().contains("32 bytes"), e.getMessage());
  }
}
