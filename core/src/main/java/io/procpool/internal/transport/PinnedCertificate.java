package io.procpool.internal.transport;

import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.net.Socket;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.cert.CertificateException;
import java.security.cert.X509Certificate;
import java.util.HexFormat;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.X509ExtendedTrustManager;

/**
 * A worker's side of a routable pool's TLS (see {@link Tls}): it trusts the one certificate whose SHA-256
 * its bootstrap names. Apart from {@link Tls} so that a worker loads no Bouncy Castle class.
 */
public final class PinnedCertificate {
  /** TLS 1.3 only, on both sides. */
  static final String[] PROTOCOLS = {"TLSv1.3"};

  private PinnedCertificate() {}

  /** A worker's side: trusts the one certificate whose SHA-256 is {@code fingerprint}. */
  public static SslContext context(byte[] fingerprint) throws SSLException {
    if (fingerprint.length != 32) {
      throw new SSLException(
          "a pinned certificate fingerprint is a SHA-256 of 32 bytes, not " + fingerprint.length + " bytes");
    }
    return SslContextBuilder.forClient()
        .sslProvider(SslProvider.JDK)
        .protocols(PROTOCOLS)
        .trustManager(new Pinned(fingerprint.clone()))
        .build();
  }

  static byte[] sha256(byte[] bytes) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(bytes);
    } catch (NoSuchAlgorithmException e) {
      throw new AssertionError("every JDK has SHA-256", e);
    }
  }

  /**
   * Trusts a server whose certificate (the first of its chain) has the pinned fingerprint, and nothing
   * else. An extended trust manager, so that the JDK leaves the decision to it and does not also ask for
   * a host name match (there is no name to match: the pin is the identity).
   */
  static final class Pinned extends X509ExtendedTrustManager {
    private final byte[] pin;

    Pinned(byte[] pin) {
      this.pin = pin;
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      if (chain == null || chain.length == 0) {
        throw new CertificateException("the server sent no certificate; expected the pool's");
      }
      byte[] got = sha256(chain[0].getEncoded());
      if (!MessageDigest.isEqual(pin, got)) {
        throw new CertificateException(
            "the server's certificate (" + chain[0].getSubjectX500Principal() + ", SHA-256 "
                + HexFormat.of().formatHex(got) + ") is not the pool's (SHA-256 " + HexFormat.of().formatHex(pin)
                + "): this is not the parent that started this worker");
      }
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkServerTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      checkServerTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType) throws CertificateException {
      throw new CertificateException("a worker trusts no client");
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, Socket socket)
        throws CertificateException {
      checkClientTrusted(chain, authType);
    }

    @Override
    public void checkClientTrusted(X509Certificate[] chain, String authType, SSLEngine engine)
        throws CertificateException {
      checkClientTrusted(chain, authType);
    }

    @Override
    public X509Certificate[] getAcceptedIssuers() {
      return new X509Certificate[0];
    }
  }
}
