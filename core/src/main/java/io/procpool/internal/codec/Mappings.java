package io.procpool.internal.codec;

import java.nio.MappedByteBuffer;

/** Releasing a memory mapping before the collector does. */
public final class Mappings {
  private Mappings() {}

  /**
   * Releases the mapping now rather than when the buffer is collected, which may be never in a long-lived
   * parent that replaces thousands of workers. The caller makes sure nothing touches {@code buffer}
   * afterwards: a read or write of an unmapped buffer crashes the JVM. Best effort: without
   * jdk.unsupported the mapping is left to the collector, and so it is from JDK 24 on, where {@code
   * sun.misc.Unsafe}'s memory methods print a deprecation warning on the user's console (JEP 498) from
   * the parent and from every worker.
   */
  public static void unmap(MappedByteBuffer buffer) {
    if (Runtime.version().feature() >= 24) {
      return;
    }
    try {
      Class<?> unsafeClass = Class.forName("sun.misc.Unsafe");
      java.lang.reflect.Field f = unsafeClass.getDeclaredField("theUnsafe");
      f.setAccessible(true);
      Object unsafe = f.get(null);
      unsafeClass.getMethod("invokeCleaner", java.nio.ByteBuffer.class).invoke(unsafe, buffer);
    } catch (ReflectiveOperationException | RuntimeException e) {
      // Left to the garbage collector.
    }
  }
}
