package io.procpool.internal.transport;

import io.grpc.ChannelCredentials;
import io.grpc.ServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.GrpcHttp2ConnectionHandler;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyChannelCredentials;
import io.grpc.netty.shaded.io.grpc.netty.InternalNettyServerCredentials;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiator;
import io.grpc.netty.shaded.io.grpc.netty.InternalProtocolNegotiators;
import io.grpc.netty.shaded.io.grpc.netty.ProtocolNegotiationEvent;
import io.grpc.netty.shaded.io.netty.buffer.ByteBuf;
import io.grpc.netty.shaded.io.netty.buffer.Unpooled;
import io.grpc.netty.shaded.io.netty.channel.Channel;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandler;
import io.grpc.netty.shaded.io.netty.channel.ChannelHandlerContext;
import io.grpc.netty.shaded.io.netty.channel.ChannelInboundHandlerAdapter;
import io.grpc.netty.shaded.io.netty.channel.epoll.EpollDomainSocketChannel;
import io.grpc.netty.shaded.io.netty.channel.unix.PeerCredentials;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.util.AsciiString;
import io.grpc.netty.shaded.io.netty.util.ReferenceCountUtil;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Authenticates each TCP connection to the pool's server before gRPC sees a byte of it: the client's
 * first bytes must be {@link #MAGIC} followed by the pool's secret. Until they arrive the server sends
 * nothing and buffers at most that many bytes; a connection whose first bytes differ, that has not sent
 * them within {@link Limits#timeoutMillis}, or that would exceed {@link Limits#maxPending} connections
 * waiting to authenticate, is closed.
 *
 * <p>Why at the connection rather than in the {@code Hello} message: gRPC reads a whole message, up to
 * the server's inbound limit (2 GiB here, for large results), before any handler can look at it, and a
 * connection that never opens a stream is never seen by a service at all. A stranger could make the parent
 * buffer gigabytes and hold connections for ever. Alternatives rejected: a small server-wide message limit
 * (it would cap real results too; gRPC has no per-call inbound limit on the server), and the secret in
 * request headers checked by an interceptor (HTTP/2 still admits a flow-control window of data and any
 * number of idle connections before any interceptor runs). The {@code Hello} still carries the secret and
 * names the worker; this check only keeps strangers out of HTTP/2.
 *
 * <p>This uses grpc-netty's protocol-negotiator hook (the mechanism behind its TLS support), which grpc
 * marks internal: the handler is inserted first in each connection's pipeline and replaces itself with
 * grpc's own plaintext negotiation once the secret matched.
 */
public final class Handshake {
  /** Sent before the secret; identifies the protocol so that a wrong peer fails fast and clearly. */
  static final byte[] MAGIC = "procpool-v1\n".getBytes(StandardCharsets.US_ASCII);

  /** How long and how many connections may wait to authenticate. */
  public record Limits(long timeoutMillis, int maxPending) {
    /** A few seconds: a worker sends its handshake the moment it connects. */
    public static final Limits DEFAULT = new Limits(5_000, 64);
  }

  private Handshake() {}

  /** Server credentials that admit only connections that open with {@code secret}. */
  public static ServerCredentials server(byte[] secret, Limits limits, RefusalLog refusals) {
    return server(secret, limits, refusals, null);
  }

  /**
   * Server credentials that admit only connections that open with {@code secret}; inside TLS with {@code
   * tls}'s key and certificate when it is not null (a routable listener), so that the secret is never sent
   * in the clear and the limits cover the TLS handshake too.
   */
  public static ServerCredentials server(byte[] secret, Limits limits, RefusalLog refusals, SslContext tls) {
    byte[] expected = preface(secret);
    AtomicInteger pending = new AtomicInteger();
    return InternalNettyServerCredentials.create(
        new Negotiator() {
          @Override
          public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
            return new ServerHandler(
                InternalProtocolNegotiators.serverPlaintext().newHandler(grpcHandler),
                expected, limits, pending, refusals, tls);
          }
        });
  }

  /** Channel credentials that open each connection with {@code secret}. */
  public static ChannelCredentials client(byte[] secret) {
    return client(secret, null);
  }

  /**
   * Channel credentials that open each connection with {@code secret}, inside TLS with {@code tls} (which
   * pins the pool's certificate) when it is not null.
   */
  public static ChannelCredentials client(byte[] secret, SslContext tls) {
    byte[] preface = preface(secret);
    return InternalNettyChannelCredentials.create(
        new InternalProtocolNegotiator.ClientFactory() {
          @Override
          public InternalProtocolNegotiator.ProtocolNegotiator newNegotiator() {
            return new Negotiator() {
              @Override
              public ChannelHandler newHandler(GrpcHttp2ConnectionHandler grpcHandler) {
                return new ClientHandler(
                    InternalProtocolNegotiators.plaintext().newHandler(grpcHandler), preface, tls);
              }
            };
          }

          @Override
          public int getDefaultPort() {
            return 80;
          }
        });
  }

  static byte[] preface(byte[] secret) {
    byte[] p = new byte[MAGIC.length + secret.length];
    System.arraycopy(MAGIC, 0, p, 0, MAGIC.length);
    System.arraycopy(secret, 0, p, MAGIC.length, secret.length);
    return p;
  }

  private abstract static class Negotiator implements InternalProtocolNegotiator.ProtocolNegotiator {
    @Override
    public AsciiString scheme() {
      return AsciiString.of("http");
    }

    @Override
    public void close() {}
  }

  /**
   * Writes the preface as soon as the connection is up, then steps aside for gRPC's plaintext handlers.
   * Our bytes must precede HTTP/2's, which gRPC writes once its handlers see both the channel active and
   * the negotiation event; so this handler keeps the event until it has written the preface.
   */
  private static final class ClientHandler extends ChannelInboundHandlerAdapter {
    private final ChannelHandler next;
    private final byte[] preface;
    private final SslContext tls;
    // Only touched on the channel's event loop.
    private boolean sent;
    private ProtocolNegotiationEvent negotiation;

    ClientHandler(ChannelHandler next, byte[] preface, SslContext tls) {
      this.next = next;
      this.preface = preface;
      this.tls = tls;
    }

    /** With TLS, encryption goes in front of this handler: the preface and all after it are encrypted. */
    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (tls != null) {
        ctx.pipeline().addBefore(ctx.name(), null, tls.newHandler(ctx.alloc()));
      }
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
      send(ctx);
      if (negotiation != null) {
        stepAside(ctx);
      }
      ctx.fireChannelActive();
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ProtocolNegotiationEvent pne && negotiation == null) {
        negotiation = pne;
        if (ctx.channel().isActive()) {
          send(ctx);
          stepAside(ctx);
        }
      } else {
        ctx.fireUserEventTriggered(evt);
      }
    }

    private void send(ChannelHandlerContext ctx) {
      if (!sent) {
        sent = true;
        var unused = ctx.writeAndFlush(Unpooled.wrappedBuffer(preface));
      }
    }

    private void stepAside(ChannelHandlerContext ctx) {
      ctx.pipeline().replace(this, null, next);
      ctx.fireUserEventTriggered(negotiation);
    }
  }

  /**
   * Reads the preface into a fixed buffer, compares it in constant time, and only then installs gRPC's
   * handlers and hands them the negotiation event and any bytes that followed the preface.
   */
  private static final class ServerHandler extends ChannelInboundHandlerAdapter {
    private final ChannelHandler next;
    private final byte[] expected;
    private final byte[] received;
    private final Limits limits;
    private final AtomicInteger pending;
    private final RefusalLog refusals;
    private final SslContext tls;
    // All below only touched on the channel's event loop.
    private int have;
    private boolean counted;
    private boolean authenticated;
    private boolean refused;
    private ScheduledFuture<?> deadline;
    private ProtocolNegotiationEvent negotiation;
    private ByteBuf rest;

    ServerHandler(
        ChannelHandler next, byte[] expected, Limits limits, AtomicInteger pending, RefusalLog refusals,
        SslContext tls) {
      this.next = next;
      this.tls = tls;
      this.expected = expected;
      this.received = new byte[expected.length];
      this.limits = limits;
      this.pending = pending;
      this.refusals = refusals;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
      if (tls != null) {
        // Decryption in front of this handler: it reads the preface in the clear, gRPC the rest.
        ctx.pipeline().addBefore(ctx.name(), null, tls.newHandler(ctx.alloc()));
      }
      counted = true;
      if (pending.incrementAndGet() > limits.maxPending()) {
        refuse(ctx, limits.maxPending() + " connections are already waiting to authenticate");
        return;
      }
      deadline =
          ctx.executor()
              .schedule(
                  () -> refuse(ctx, "no handshake within " + limits.timeoutMillis() + " ms of connecting"),
                  limits.timeoutMillis(),
                  TimeUnit.MILLISECONDS);
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
      if (evt instanceof ProtocolNegotiationEvent pne && negotiation == null) {
        negotiation = pne;
        if (authenticated) {
          stepAside(ctx);
        }
      } else {
        ctx.fireUserEventTriggered(evt);
      }
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
      if (refused || !(msg instanceof ByteBuf in)) {
        ReferenceCountUtil.release(msg);
        return;
      }
      if (authenticated) {
        // Authenticated, but gRPC's handlers wait for the negotiation event: keep the bytes for them.
        rest = rest == null ? in : Unpooled.wrappedBuffer(rest, in);
        return;
      }
      try {
        int n = Math.min(in.readableBytes(), received.length - have);
        in.readBytes(received, have, n);
        have += n;
        if (have < received.length) {
          return;
        }
        if (!MessageDigest.isEqual(expected, received)) {
          refuse(ctx, startsWithMagic() ? "wrong secret" : "not a procpool worker handshake");
          return;
        }
        authenticated = true;
        release();
        rest = in.isReadable() ? in.retainedSlice() : null;
        if (negotiation != null) {
          stepAside(ctx);
        }
      } finally {
        in.release();
      }
    }

    private boolean startsWithMagic() {
      for (int i = 0; i < MAGIC.length; i++) {
        if (received[i] != MAGIC[i]) {
          return false;
        }
      }
      return true;
    }

    /** Proceeds in 3 steps: put gRPC's handlers in our place, start them, hand them what followed. */
    private void stepAside(ChannelHandlerContext ctx) {
      ctx.pipeline().replace(this, null, next);
      ctx.fireUserEventTriggered(negotiation);
      if (rest != null) {
        ByteBuf r = rest;
        rest = null;
        ctx.fireChannelRead(r);
        ctx.fireChannelReadComplete();
      }
    }

    private void refuse(ChannelHandlerContext ctx, String reason) {
      if (refused || authenticated) {
        return;
      }
      refused = true;
      release();
      refusals.refused(peer(ctx.channel()), reason);
      var unused = ctx.close();
    }

    /**
     * Who is connecting: the address of a TCP peer; the process and user of a Unix-socket peer, whose
     * address is empty.
     */
    private static String peer(Channel ch) {
      if (ch instanceof EpollDomainSocketChannel uds) {
        try {
          PeerCredentials c = uds.peerCredentials();
          return "connection from pid " + c.pid() + " (uid " + c.uid() + ")";
        } catch (IOException | RuntimeException e) {
          return "connection on " + uds.localAddress();
        }
      }
      return "connection from " + ch.remoteAddress();
    }

    /** This connection no longer waits to authenticate (it did, failed or closed). */
    private void release() {
      if (deadline != null) {
        deadline.cancel(false);
      }
      if (counted) {
        counted = false;
        pending.decrementAndGet();
      }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
      release();
      if (rest != null) {
        rest.release();
        rest = null;
      }
      refused = !authenticated;
      ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
      if (authenticated) {
        ctx.fireExceptionCaught(cause); // Between the handshake and gRPC's start: gRPC's to handle.
      } else {
        refuse(ctx, "connection failed before the handshake: " + cause);
      }
    }
  }
}
