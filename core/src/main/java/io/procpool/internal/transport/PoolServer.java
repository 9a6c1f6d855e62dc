package io.procpool.internal.transport;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.netty.shaded.io.netty.channel.ChannelOption;
import io.grpc.netty.shaded.io.netty.channel.EventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.Epoll;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollEventLoopGroup;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollServerDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.DomainSocketAddress;
import io.grpc.netty.shaded.io.netty.util.concurrent.DefaultThreadFactory;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import javax.net.ssl.SSLException;
import java.util.concurrent.TimeUnit;

/**
 * The pool's gRPC server. It listens on a Unix domain socket inside the pool's private (0700) directory
 * where the platform has them (Linux, through Netty's native epoll transport), so that no other user can
 * even connect; elsewhere on the loopback address only (never a wildcard or public interface), on a port
 * the kernel picks. Either way each connection must open with the pool's secret ({@link Handshake})
 * before gRPC reads anything from it. Callbacks run on the transport threads (direct executor): every
 * handler in this package only queues work or completes futures.
 */
public final class PoolServer implements AutoCloseable {
  /** Unix socket paths are limited to 108 bytes on Linux, the terminating NUL included. */
  private static final int MAX_SOCKET_PATH_BYTES = 107;
  private static final String UNIX_PREFIX = "unix:";

  private final Server server;
  private final String target;
  private final EventLoopGroup group;

  private PoolServer(Server server, String target, EventLoopGroup group) {
    this.server = server;
    this.target = target;
    this.group = group;
  }

  /**
   * The pool's server: on a Unix domain socket in {@code dir} when this platform supports one and the
   * path fits, else on loopback TCP. Why prefer the socket: its directory's permissions keep every other
   * user out before any byte is read, where a loopback port admits anyone on the machine to the handshake.
   */
  public static PoolServer startLocal(WorkerService service, Path dir) throws IOException {
    Path socket = dir.toAbsolutePath().resolve("grpc.sock");
    if (Epoll.isAvailable()
        && socket.toString().getBytes(StandardCharsets.UTF_8).length <= MAX_SOCKET_PATH_BYTES) {
      return startUnix(service, socket, Handshake.Limits.DEFAULT);
    }
    return startLoopback(service);
  }

  /** A server on the Unix domain socket {@code socket}, with the given handshake limits. */
  static PoolServer startUnix(WorkerService service, Path socket, Handshake.Limits limits) throws IOException {
    // A group of our own: Netty's shared default group is for TCP channels, and a domain-socket server
    // needs an epoll group. Sized like a pool's share of I/O; closed with the server.
    EventLoopGroup group =
        epollGroup(Math.min(4, Runtime.getRuntime().availableProcessors()), "procpool-grpc-uds");
    try {
      Server s =
          start(
              NettyServerBuilder.forAddress(
                  new DomainSocketAddress(socket.toString()),
                  Handshake.server(service.secret(), limits, service.refusals()))
              .channelType(EpollServerDomainSocketChannel.class)
              // gRPC sets SO_KEEPALIVE on every connection; a domain socket has no such option, and
              // Netty would log a warning per connection. Null removes it.
              .withChildOption(ChannelOption.SO_KEEPALIVE, null)
              .bossEventLoopGroup(group)
              .workerEventLoopGroup(group),
          service);
      return new PoolServer(s, UNIX_PREFIX + socket, group);
    } catch (IOException | RuntimeException e) {
      var unused = group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
      throw e;
    }
  }

  /**
   * A channel builder for a worker to reach the server at {@code target} (see {@link #target}), opening
   * each connection with {@code secret}. The caller adds its own options and builds it.
   */
  public static NettyChannelBuilder channelBuilder(String target, byte[] secret) {
    try {
      return channelBuilder(target, secret, new byte[0]);
    } catch (SSLException e) {
      throw new AssertionError("no TLS without a fingerprint", e);
    }
  }

  /**
   * A channel builder for a worker to reach the server at {@code target}: as {@link #channelBuilder(String,
   * byte[])}, inside TLS that pins the certificate whose SHA-256 is {@code fingerprint} when that is not
   * empty (a routable listener). Then the channel also pings the parent when it has heard nothing for
   * {@link #KEEPALIVE_SECONDS}, and gives the connection up when a ping is not answered within as long
   * again: a worker on another machine learns that way that its parent's machine has gone, where no
   * connection reset will ever arrive.
   */
  public static NettyChannelBuilder channelBuilder(String target, byte[] secret, byte[] fingerprint)
      throws SSLException {
    if (target.startsWith(UNIX_PREFIX)) {
      return NettyChannelBuilder.forAddress(
              new DomainSocketAddress(target.substring(UNIX_PREFIX.length())), Handshake.client(secret))
          .channelType(EpollDomainSocketChannel.class, DomainSocketAddress.class)
          .withOption(ChannelOption.SO_KEEPALIVE, null) // As on the server: not an option of domain sockets.
          .eventLoopGroup(UnixClientGroup.get())
          .overrideAuthority("localhost");
    }
    if (fingerprint.length == 0) {
      return NettyChannelBuilder.forTarget(target, Handshake.client(secret));
    }
    return NettyChannelBuilder.forTarget(target, Handshake.client(secret, PinnedCertificate.context(fingerprint)))
        .keepAliveTime(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
        .keepAliveTimeout(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
        .keepAliveWithoutCalls(true);
  }

  /**
   * How long either side of a TCP connection stays silent before it pings the other (gRPC's minimum for
   * a client), and how long it then waits for the answer before it takes the peer for gone.
   */
  public static final int KEEPALIVE_SECONDS = 10;

  /**
   * A server for workers that may run on other machines: on every interface, on a port the kernel picks,
   * inside TLS with {@code tls}'s certificate, and still admitting only connections that open with the
   * pool's secret. Workers dial {@code advertisedHost:port}. The server pings a worker's connection
   * after {@link #KEEPALIVE_SECONDS} of silence and closes it if the ping goes unanswered, so a worker
   * whose machine vanished is seen to go (its stream ends) even if its launcher never says so; and it
   * accepts the workers' own pings at that rate.
   */
  public static PoolServer startRoutable(WorkerService service, Tls tls, String advertisedHost)
      throws IOException {
    Server s =
        start(
            NettyServerBuilder.forAddress(
                    new InetSocketAddress(0),
                    Handshake.server(service.secret(), Handshake.Limits.DEFAULT, service.refusals(), tls.server()))
                .keepAliveTime(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
                .keepAliveTimeout(KEEPALIVE_SECONDS, TimeUnit.SECONDS)
                .permitKeepAliveTime(KEEPALIVE_SECONDS / 2, TimeUnit.SECONDS)
                .permitKeepAliveWithoutCalls(true),
            service);
    int port = ((InetSocketAddress) s.getListenSockets().get(0)).getPort();
    String host = advertisedHost.contains(":") && !advertisedHost.startsWith("[") ? "[" + advertisedHost + "]" : advertisedHost;
    return new PoolServer(s, host + ":" + port, null);
  }

  /**
   * The event loop of workers' domain-socket channels, made on first use: one daemon thread serves a
   * worker's single connection, and lives as long as the worker JVM.
   */
  private static final class UnixClientGroup {
    static volatile boolean made;
    static final EventLoopGroup GROUP = epollGroup(1, "procpool-grpc-uds-client");

    static EventLoopGroup get() {
      made = true;
      return GROUP;
    }
  }

  /**
   * Stops the workers' domain-socket event loop, if this JVM made one, waiting up to {@code millis} for
   * its thread to end. A worker does this just before it exits: the JVM's exit waits about 300 ms for
   * any thread blocked in native code (an event loop in {@code epoll_wait} is), and none is left then.
   */
  public static void stopClientEventLoop(long millis) {
    if (!UnixClientGroup.made) {
      return;
    }
    try {
      UnixClientGroup.GROUP.shutdownGracefully(0, 0, TimeUnit.MILLISECONDS).await(millis, TimeUnit.MILLISECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }

  /**
   * An epoll event loop group of {@code threads} daemon threads named {@code name}-N. Netty 4.2 (inside
   * grpc-netty-shaded 1.85) deprecates {@code EpollEventLoopGroup} for {@code MultiThreadIoEventLoopGroup}
   * with {@code EpollIoHandler}, but those do not exist in Netty 4.1, which the grpc-netty-shaded of an
   * application pinned to an older gRPC (1.68: Netty 4.1.110) brings; the deprecated class exists in both
   * and in 4.2 is that same group.
   */
  @SuppressWarnings("deprecation")
  public static EventLoopGroup epollGroup(int threads, String name) {
    return new EpollEventLoopGroup(threads, new DefaultThreadFactory(name, true));
  }

  /** A loopback TCP server that admits only connections that open with {@code service}'s secret. */
  public static PoolServer startLoopback(WorkerService service) throws IOException {
    return startLoopback(service, Handshake.Limits.DEFAULT);
  }

  /**
   * What both transports share: callbacks on the transport threads (every handler only queues work), and
   * no message size limit once a connection has passed the handshake (large byte arrays travel as files).
   */
  private static Server start(NettyServerBuilder builder, WorkerService service) throws IOException {
    return builder
        .directExecutor()
        .addService(service)
        .maxInboundMessageSize(Integer.MAX_VALUE)
        .flowControlWindow(8 << 20)
        .build()
        .start();
  }

  /**
   * A loopback TCP server with the given handshake limits. The inbound message limit is unbounded
   * because only a peer that sent the secret gets as far as gRPC (see {@link Handshake}).
   */
  static PoolServer startLoopback(WorkerService service, Handshake.Limits limits) throws IOException {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    Server s =
        start(
            NettyServerBuilder.forAddress(
                new InetSocketAddress(loopback, 0),
                Handshake.server(service.secret(), limits, service.refusals())),
            service);
    int port = ((InetSocketAddress) s.getListenSockets().get(0)).getPort();
    String host = loopback.getHostAddress();
    return new PoolServer(s, (host.contains(":") ? "[" + host + "]" : host) + ":" + port, null);
  }

  /** An in-process server, for workers that run as threads in tests. */
  public static PoolServer startInProcess(BindableService service, String name) throws IOException {
    Server s = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
    return new PoolServer(s, "inprocess:" + name, null);
  }

  /** What a worker connects to: "unix:/path", "host:port", or "inprocess:name". */
  public String target() {
    return target;
  }

  /** The bound socket address: a DomainSocketAddress or an InetSocketAddress; null in process. */
  public SocketAddress socketAddress() {
    return server.getListenSockets().isEmpty() ? null : server.getListenSockets().get(0);
  }

  /** The bound loopback address, or null on a Unix domain socket or in process. */
  public InetSocketAddress address() {
    return server.getListenSockets().isEmpty() || !(server.getListenSockets().get(0) instanceof InetSocketAddress a)
        ? null
        : a;
  }

  /**
   * Stops the server without waiting: by the time a pool closes it every worker has exited, so there is
   * nothing to drain, and waiting here (on the thread that saw the last worker exit) only delays
   * termination.
   */
  @Override
  public void close() {
    server.shutdownNow();
    if (group != null) {
      var unused = group.shutdownGracefully(0, 0, TimeUnit.SECONDS);
    }
  }
}
