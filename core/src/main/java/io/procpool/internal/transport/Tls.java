package io.procpool.internal.transport;

import io.grpc.netty.shaded.io.netty.handler.ssl.SslContext;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslContextBuilder;
import io.grpc.netty.shaded.io.netty.handler.ssl.SslProvider;
import java.math.BigInteger;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import javax.net.ssl.SSLException;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * TLS for a pool whose workers may run on other machines: the pool makes a key pair and a self-signed
 * certificate of its own as it starts (nothing on disk, nothing to configure), and hands each worker the
 * certificate's SHA-256 fingerprint in its bootstrap. A worker trusts exactly that certificate, not any
 * authority and not any host name: whoever holds the bootstrap knows which server is its parent, and no
 * other server can pose as it. TLS 1.3 only, through the JDK's provider (no native library to load).
 *
 * <p>Only the parent loads this class (and Bouncy Castle, which signs the certificate); a worker's side is
 * {@link PinnedCertificate}. Workers need no certificate of their own: they prove themselves inside the encrypted connection,
 * with the pool's secret before gRPC reads anything ({@link Handshake}) and with their own secret in
 * their Hello.
 */
public final class Tls {
  private final SslContext server;
  private final byte[] fingerprint;

  private Tls(SslContext server, byte[] fingerprint) {
    this.server = server;
    this.fingerprint = fingerprint;
  }

  /**
   * A fresh key pair (EC P-256) and a certificate for it, signed by itself, valid from a minute ago for
   * {@code validity}, named after {@code poolName}.
   */
  public static Tls selfSigned(String poolName, Duration validity) throws GeneralSecurityException {
    KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
    g.initialize(new ECGenParameterSpec("secp256r1"), new SecureRandom());
    KeyPair keys = g.generateKeyPair();
    X500Name name = new X500Name("CN=procpool pool " + poolName.replaceAll("[^A-Za-z0-9 ._-]", "_"));
    Instant now = Instant.now();
    X509Certificate cert;
    try {
      cert =
          new JcaX509CertificateConverter()
              .getCertificate(
                  new JcaX509v3CertificateBuilder(
                          name,
                          new BigInteger(127, new SecureRandom()),
                          Date.from(now.minusSeconds(60)),
                          Date.from(now.plus(validity)),
                          name,
                          keys.getPublic())
                      .build(new JcaContentSignerBuilder("SHA256withECDSA").build(keys.getPrivate())));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException("cannot sign the pool's certificate: " + e.getMessage(), e);
    }
    SslContext server;
    try {
      server =
          SslContextBuilder.forServer(keys.getPrivate(), cert)
              .sslProvider(SslProvider.JDK)
              .protocols(PinnedCertificate.PROTOCOLS)
              .build();
    } catch (SSLException e) {
      throw new GeneralSecurityException("cannot make the pool's TLS context: " + e.getMessage(), e);
    }
    return new Tls(server, sha256(cert.getEncoded()));
  }

  /** The server side: the pool's key and certificate. */
  public SslContext server() {
    return server;
  }

  /** The SHA-256 of the certificate's DER encoding, which workers pin. */
  public byte[] fingerprint() {
    return fingerprint.clone();
  }

  static byte[] sha256(byte[] bytes) {
    return PinnedCertificate.sha256(bytes);
  }
}
