package io.procpool.internal.transport;

import io.grpc.BindableService;
import io.grpc.Server;
import io.grpc.inprocess.InProcessServerBuilder;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;

/**
 * The pool's gRPC server. It binds to the loopback address only (never a wildcard or public interface),
 * on a port the kernel picks, and runs callbacks on the transport threads (direct executor): every
 * handler in this package only queues work or completes futures. Each connection must open with the
 * pool's secret ({@link Handshake}) before gRPC reads anything from it.
 */
public final class PoolServer implements AutoCloseable {
  private final Server server;
  private final String target;

  private PoolServer(Server server, String target) {
    this.server = server;
    this.target = target;
  }

  /** A loopback TCP server that admits only connections that open with {@code service}'s secret. */
  public static PoolServer startLoopback(WorkerService service) throws IOException {
    return startLoopback(service, Handshake.Limits.DEFAULT);
  }

  /**
   * A loopback TCP server with the given handshake limits. The inbound message limit is unbounded
   * because only a peer that sent the secret gets as far as gRPC (see {@link Handshake}).
   */
  static PoolServer startLoopback(WorkerService service, Handshake.Limits limits) throws IOException {
    InetAddress loopback = InetAddress.getLoopbackAddress();
    Server s =
        NettyServerBuilder.forAddress(
                new InetSocketAddress(loopback, 0),
                Handshake.server(service.secret(), limits, service.refusals()))
            .directExecutor()
            .addService(service)
            .maxInboundMessageSize(Integer.MAX_VALUE)
            .flowControlWindow(8 << 20)
            .build()
            .start();
    int port = ((InetSocketAddress) s.getListenSockets().get(0)).getPort();
    String host = loopback.getHostAddress();
    return new PoolServer(s, (host.contains(":") ? "[" + host + "]" : host) + ":" + port);
  }

  /** An in-process server, for workers that run as threads in tests. */
  public static PoolServer startInProcess(BindableService service, String name) throws IOException {
    Server s = InProcessServerBuilder.forName(name).directExecutor().addService(service).build().start();
    return new PoolServer(s, "inprocess:" + name);
  }

  /** What a worker connects to: "host:port", or "inprocess:name". */
  public String target() {
    return target;
  }

  /** The bound socket address, or null in process. */
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
  }
}
