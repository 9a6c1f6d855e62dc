package io.procpool.internal.transport;

import io.procpool.spi.Network;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The host a routable pool tells its workers to dial, found as {@link Network}'s class comment says: the
 * launcher's choice, then {@value #PROPERTY}, then {@value #VARIABLE}, then this machine's host name if it
 * resolves to an address that is not loopback, then the first address (IPv4 first) of an interface that
 * is up and neither loopback nor point-to-point.
 */
public final class AdvertisedHost {
  static final String PROPERTY = "procpool.advertisedHost";
  static final String VARIABLE = "PROCPOOL_ADVERTISED_HOST";

  private AdvertisedHost() {}

  /** The host for {@code network}, or an IOException that says where it looked. */
  public static String of(Network network) throws IOException {
    return of(network, System.getProperty(PROPERTY), System.getenv());
  }

  static String of(Network network, String property, Map<String, String> env) throws IOException {
    Optional<String> given = network.advertisedHost();
    if (given.isPresent()) {
      return given.get();
    }
    if (property != null && !property.isBlank()) {
      return property.strip();
    }
    String variable = env.get(VARIABLE);
    if (variable != null && !variable.isBlank()) {
      return variable.strip();
    }
    try {
      InetAddress local = InetAddress.getLocalHost();
      if (!local.isLoopbackAddress()) {
        return local.getHostName();
      }
    } catch (UnknownHostException e) {
      // Then an interface's address.
    }
    List<InetAddress> found = interfaceAddresses();
    if (found.isEmpty()) {
      throw new IOException(
          "Cannot find an address of this machine that workers on other machines can dial: its host name"
              + " resolves to loopback (or not at all) and no interface that is up has an address other than"
              + " loopback. Set -D" + PROPERTY + "=<host>, " + VARIABLE + ", or Network.routable(host).");
    }
    return found.get(0).getHostAddress();
  }

  /** Addresses of interfaces that are up, not loopback, not point-to-point; IPv4 first, link-local last. */
  static List<InetAddress> interfaceAddresses() throws SocketException {
    List<InetAddress> v4 = new ArrayList<>();
    List<InetAddress> other = new ArrayList<>();
    for (NetworkInterface i : Collections.list(NetworkInterface.getNetworkInterfaces())) {
      if (!i.isUp() || i.isLoopback() || i.isPointToPoint()) {
        continue;
      }
      for (InetAddress a : Collections.list(i.getInetAddresses())) {
        if (a.isLoopbackAddress() || a.isAnyLocalAddress()) {
          continue;
        }
        (a instanceof Inet4Address && !a.isLinkLocalAddress() ? v4 : other).add(a);
      }
    }
    other.sort((a, b) -> Boolean.compare(a.isLinkLocalAddress(), b.isLinkLocalAddress()));
    v4.addAll(other);
    return v4;
  }
}
