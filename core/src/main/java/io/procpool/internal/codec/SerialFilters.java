package io.procpool.internal.codec;

import java.io.ObjectInputFilter;
import java.util.ArrayList;
import java.util.List;

/**
 * The one definition of the {@link ObjectInputFilter} that a pool's parent and its workers apply to every
 * Java-serialized value. The parent composes the pattern ({@link #pattern}) and sends it to each worker in
 * its Bootstrap; both sides then build the filter from that same string ({@link #filter}).
 *
 * <p>The default limits bound what a value can make the reader allocate and how deep it can recurse:
 *
 * <ul>
 *   <li>{@code maxdepth=1000}: nesting of objects and arrays. Deeper graphs risk a StackOverflowError in
 *       the reader anyway.
 *   <li>{@code maxrefs=10000000}: objects and back-references in one value (each costs a handle-table
 *       slot besides the object itself).
 *   <li>{@code maxarray=67108864} (64 Mi elements): one array's length, checked before the array is
 *       allocated: a 64 MiB {@code byte[]} inside an object passes; a {@code long[]} that long would be
 *       512 MiB, the most one array can make the reader allocate.
 *   <li>{@code maxbytes=268435456} (256 MiB): the length of one serialized value.
 * </ul>
 *
 * A bare {@code byte[]} task input or result never meets these limits: it travels as protobuf bytes, or
 * as a file from 256 KiB on, not by Java serialization.
 */
public final class SerialFilters {
  /** The limit kinds of the JDK's filter syntax, each with the default a pool applies. */
  private static final String[][] DEFAULT_LIMITS = {
    {"maxdepth", "1000"},
    {"maxrefs", "10000000"},
    {"maxarray", String.valueOf(64 << 20)},
    {"maxbytes", String.valueOf(256 << 20)},
  };

  /** The pattern of a pool whose user set no serial filter. */
  public static final String DEFAULTS = pattern("");

  private SerialFilters() {}

  /**
   * The pattern a pool applies for a user's {@code serialFilter}: the user's pattern unchanged, then, for
   * each limit kind (maxdepth, maxrefs, maxarray, maxbytes) the user did not set, the default.
   *
   * <p>Why per kind rather than appending all defaults: the JDK keeps the last value of a limit that a
   * pattern gives twice, so appended defaults would loosen a user's tighter limit; and prepending them
   * would let a user's looser limit win silently. Per kind, the user's value always decides and each
   * default applies only where the user said nothing.
   */
  public static String pattern(String user) {
    List<String> parts = new ArrayList<>();
    if (user != null && !user.isEmpty()) {
      parts.add(user);
    }
    for (String[] limit : DEFAULT_LIMITS) {
      if (!setsLimit(user, limit[0])) {
        parts.add(limit[0] + "=" + limit[1]);
      }
    }
    return String.join(";", parts);
  }

  /** Whether {@code pattern} sets limit {@code kind}, read as ObjectInputFilter.Config.createFilter reads it. */
  private static boolean setsLimit(String pattern, String kind) {
    if (pattern == null) {
      return false;
    }
    for (String part : pattern.split(";", -1)) {
      if (part.startsWith(kind + "=")) {
        return true;
      }
    }
    return false;
  }

  /**
   * The filter for {@code pattern}, merged with the JVM-wide filter ({@code jdk.serialFilter}, or one set
   * by {@link ObjectInputFilter.Config#setSerialFilter}) when there is one: setting a filter on a stream
   * replaces the JVM-wide one, and a pool must not disable what the application configured. A value is
   * rejected when either filter rejects it. The JVM-wide filter is looked up at each check, so one set
   * after the pool started applies too.
   *
   * @throws IllegalArgumentException if {@code pattern} is malformed
   */
  public static ObjectInputFilter filter(String pattern) {
    ObjectInputFilter own = ObjectInputFilter.Config.createFilter(pattern);
    return new Merged(own != null ? own : info -> ObjectInputFilter.Status.UNDECIDED, pattern);
  }

  private static final class Merged implements ObjectInputFilter {
    private final ObjectInputFilter own;
    private final String pattern;

    Merged(ObjectInputFilter own, String pattern) {
      this.own = own;
      this.pattern = pattern;
    }

    @Override
    public Status checkInput(FilterInfo info) {
      ObjectInputFilter jvmWide = Config.getSerialFilter();
      return jvmWide == null ? own.checkInput(info) : ObjectInputFilter.merge(own, jvmWide).checkInput(info);
    }

    @Override
    public String toString() {
      ObjectInputFilter jvmWide = Config.getSerialFilter();
      return jvmWide == null ? pattern : pattern + " (and the JVM-wide filter " + jvmWide + ")";
    }
  }
}
