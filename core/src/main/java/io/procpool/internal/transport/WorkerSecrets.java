package io.procpool.internal.transport;

import java.nio.ByteBuffer;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * Each worker's own secret: an HMAC-SHA256 of its id and slot under a key that never leaves the parent.
 * A worker is given its secret in its bootstrap and sends it in its Hello. Every worker also knows the
 * pool's secret (it opens each connection, see {@link Handshake}), so that one alone would let a worker,
 * or whoever read its bootstrap, introduce itself as another worker and take that worker's tasks; with
 * these it can only ever be itself. The parent keeps no table: it recomputes the secret from the Hello.
 */
public final class WorkerSecrets {
  private static final String ALGORITHM = "HmacSHA256";

  private final SecretKeySpec key;

  private WorkerSecrets(byte[] key) {
    this.key = new SecretKeySpec(key, ALGORITHM);
  }

  /** Secrets under a fresh random key. */
  public static WorkerSecrets random() {
    byte[] k = new byte[32];
    new SecureRandom().nextBytes(k);
    return new WorkerSecrets(k);
  }

  /** The secret of the worker started with id {@code workerId} for slot {@code index}. */
  public byte[] of(long workerId, int index) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return mac.doFinal(ByteBuffer.allocate(12).putLong(workerId).putInt(index).array());
    } catch (GeneralSecurityException e) {
      throw new AssertionError("every JDK has " + ALGORITHM, e);
    }
  }

  /** Whether {@code secret} is that of the worker with id {@code workerId} in slot {@code index}. */
  boolean matches(long workerId, int index, byte[] secret) {
    return MessageDigest.isEqual(of(workerId, index), secret);
  }
}
