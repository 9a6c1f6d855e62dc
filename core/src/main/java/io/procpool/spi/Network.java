package io.procpool.spi;

import static java.util.Objects.requireNonNull;

import java.util.Optional;

/**
 * Where a launcher's workers run, as far as the pool's transport is concerned; {@link
 * WorkerLauncher#network()} says which.
 *
 * <ul>
 *   <li>{@link #thisMachine()}, the default: every worker runs on the parent's machine. The pool listens
 *       on a Unix domain socket in its private directory (loopback TCP where there is none), large byte
 *       arrays travel through shared memory, and a worker's progress is read from a memory-mapped file.
 *   <li>{@link #routable()}: workers may run on other machines. The pool listens on every interface, on a
 *       port the kernel picks, and every connection is TLS: the pool makes a self-signed certificate of its
 *       own, and each worker pins its SHA-256 fingerprint (from its bootstrap) instead of trusting any
 *       authority. Inside TLS each connection still opens with the pool's secret and each worker proves
 *       its slot with a secret of its own. Workers are sent large arrays inline (no shared memory, no
 *       shared files) and report each task they begin on their stream. A scheduler may hold workers in
 *       its queue: the pool is ready as soon as one worker is (the pool's {@code startTimeout} bounds
 *       that wait), and the others join as they start, however long they wait.
 * </ul>
 *
 * <p>The address workers dial is {@code host:port}, where host is, in this order: the one given to
 * {@link #routable(String)}; the system property {@code procpool.advertisedHost}; the environment variable
 * {@code PROCPOOL_ADVERTISED_HOST}; this machine's host name when it resolves to an address that is not
 * loopback; else the first address of an interface that is up and not loopback.
 */
public final class Network {
  private static final Network THIS_MACHINE = new Network(false, null);
  private static final Network ROUTABLE = new Network(true, null);

  private final boolean routable;
  private final String advertisedHost;

  private Network(boolean routable, String advertisedHost) {
    this.routable = routable;
    this.advertisedHost = advertisedHost;
  }

  /**
   * Workers run on this machine only (the default).
   *
   * @return the network of a launcher whose workers are all local
   */
  public static Network thisMachine() {
    return THIS_MACHINE;
  }

  /**
   * Workers may run on other machines; they dial the address the pool finds for this machine (see the
   * class comment).
   *
   * @return the network of a launcher whose workers may be remote
   */
  public static Network routable() {
    return ROUTABLE;
  }

  /**
   * Workers may run on other machines and reach this one at {@code advertisedHost} (a name or an address:
   * a Pod's IP, a Service's name).
   *
   * @param advertisedHost the host workers dial
   * @return the network of a launcher whose workers may be remote
   * @throws IllegalArgumentException if {@code advertisedHost} is blank or holds a port or a space
   */
  public static Network routable(String advertisedHost) {
    requireNonNull(advertisedHost, "advertisedHost");
    String h = advertisedHost.strip();
    // One colon is a port ("host:8080"); an IPv6 address has several.
    boolean hasPort = h.chars().filter(c -> c == ':').count() == 1 || h.contains("]:");
    if (h.isEmpty() || h.chars().anyMatch(Character::isWhitespace) || hasPort) {
      throw new IllegalArgumentException(
          "advertisedHost must be a host name or address without a port, not \"" + advertisedHost + "\"");
    }
    return new Network(true, h);
  }

  /**
   * Whether workers may run on other machines.
   *
   * @return true for {@link #routable()}
   */
  public boolean isRoutable() {
    return routable;
  }

  /**
   * The host given to {@link #routable(String)}, if any.
   *
   * @return the host workers dial, or empty to let the pool find one
   */
  public Optional<String> advertisedHost() {
    return Optional.ofNullable(advertisedHost);
  }

  @Override
  public String toString() {
    return !routable ? "Network[this machine]" : "Network[routable" + (advertisedHost == null ? "" : ", " + advertisedHost) + "]";
  }
}
