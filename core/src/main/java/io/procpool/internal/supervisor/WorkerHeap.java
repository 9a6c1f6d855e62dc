package io.procpool.internal.supervisor;

import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The workers' default maximum heap, chosen so that a pool fits in the machine (or container) it runs on.
 *
 * <p>Left alone, every JVM may grow its heap to a quarter of physical memory: eight workers and their
 * parent could ask for more than twice what there is, and the kernel's OOM killer then ends the whole job
 * rather than one task. So unless the user names a heap limit, each worker gets {@code -Xmx} = (physical
 * memory - the parent's maximum heap - {@value #NON_HEAP_MIB} MiB of non-heap memory (metaspace, code
 * cache, thread stacks) for the parent and for each worker) / workers, never more than the JVM's own
 * default (a quarter of physical memory) and never less than {@value #MIN_HEAP_MIB} MiB, below which a
 * worker cannot do useful work (on such a small machine the sum may then exceed memory: there is no
 * better choice). Physical memory is {@code OperatingSystemMXBean.getTotalMemorySize()}, which on JDK 17
 * reports a container's limit inside one.
 */
public final class WorkerHeap {
  /** Memory a JVM uses besides its heap, as budgeted here: metaspace, code cache, stacks, GC structures. */
  static final long NON_HEAP_MIB = 128;
  /** The smallest default heap given to a worker. */
  static final long MIN_HEAP_MIB = 64;

  private static final long MIB = 1L << 20;

  /** Options (and their JAVA_TOOL_OPTIONS equivalents) that set or bound the maximum heap. */
  private static final Pattern HEAP_LIMIT =
      Pattern.compile("-Xmx.*|-XX:MaxHeapSize=.*|-XX:MaxRAM=.*|-XX:(Max|Min)RAM(Percentage|Fraction)=.*");

  private static final Pattern SIZE = Pattern.compile("(\\d+)([kKmMgGtT]?)");

  /** Environment variables the JVM reads options from. */
  private static final List<String> OPTION_VARIABLES = List.of("JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS");

  private WorkerHeap() {}

  /**
   * The default maximum heap of one worker, in bytes (a whole number of MiB), or 0 when physical memory is
   * unknown (then the JVM's own default stands).
   *
   * @param physicalMemory the machine's or container's memory in bytes; 0 or less if unknown
   * @param workers the pool's number of workers, at least 1
   * @param parentMaxHeap the parent's maximum heap ({@code Runtime.maxMemory()}); values above physical
   *     memory (no limit) count as the JVM's default, a quarter of it
   */
  public static long defaultMaxHeapBytes(long physicalMemory, int workers, long parentMaxHeap) {
    if (physicalMemory <= 0 || workers < 1) {
      return 0;
    }
    long jvmDefault = physicalMemory / 4;
    long parent = parentMaxHeap > 0 && parentMaxHeap <= physicalMemory ? parentMaxHeap : jvmDefault;
    long left = physicalMemory - parent - (workers + 1L) * NON_HEAP_MIB * MIB;
    long each = Math.min(left / workers, jvmDefault);
    each = Math.max(each, MIN_HEAP_MIB * MIB);
    return each / MIB * MIB;
  }

  /** Whether {@code options} hold an option that sets or bounds the maximum heap. */
  public static boolean setsMaxHeap(List<String> options) {
    return options.stream().anyMatch(o -> HEAP_LIMIT.matcher(o).matches());
  }

  /**
   * {@code options} with a default {@code -Xmx} in front, for a pool of {@code workers} on this machine;
   * {@code options} unchanged when they, or the JVM option variables of the workers' environment
   * ({@code JAVA_TOOL_OPTIONS}, {@code JDK_JAVA_OPTIONS}, {@code _JAVA_OPTIONS}, from {@code environment}
   * or else inherited), already limit the heap.
   */
  public static List<String> withDefaultMaxHeap(
      List<String> options, Map<String, String> environment, int workers) {
    if (setsMaxHeap(options)) {
      return options;
    }
    for (String variable : OPTION_VARIABLES) {
      String value = environment.containsKey(variable) ? environment.get(variable) : System.getenv(variable);
      if (value != null && setsMaxHeap(List.of(value.trim().split("\\s+")))) {
        return options;
      }
    }
    long bytes = defaultMaxHeapBytes(physicalMemory(), workers, Runtime.getRuntime().maxMemory());
    if (bytes == 0) {
      return options;
    }
    List<String> out = new ArrayList<>(options.size() + 1);
    out.add("-Xmx" + bytes / MIB + "m");
    out.addAll(options);
    return List.copyOf(out);
  }

  /**
   * The last explicit {@code -Xmx} or {@code -XX:MaxHeapSize} in {@code options}, in bytes, or -1 if none
   * (or unparseable).
   */
  public static long explicitMaxHeapBytes(List<String> options) {
    long found = -1;
    for (String o : options) {
      String size =
          o.startsWith("-Xmx") ? o.substring(4) : o.startsWith("-XX:MaxHeapSize=") ? o.substring(16) : null;
      if (size != null) {
        long b = parseSize(size);
        if (b >= 0) {
          found = b;
        }
      }
    }
    return found;
  }

  /** A JVM size such as {@code 512m}, {@code 2G} or {@code 1048576} in bytes; -1 if it is not one. */
  static long parseSize(String s) {
    Matcher m = SIZE.matcher(s);
    if (!m.matches()) {
      return -1;
    }
    try {
      long n = Long.parseLong(m.group(1));
      int shift =
          switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
          };
      return n > (Long.MAX_VALUE >> shift) ? Long.MAX_VALUE : n << shift;
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  /** Physical memory of the machine or container, or 0 if the platform does not say. */
  static long physicalMemory() {
    try {
      if (ManagementFactory.getOperatingSystemMXBean()
          instanceof com.sun.management.OperatingSystemMXBean os) {
        return os.getTotalMemorySize();
      }
    } catch (RuntimeException | LinkageError e) {
      // No jdk.management module in this runtime: keep the JVM's default.
    }
    return 0;
  }
}
