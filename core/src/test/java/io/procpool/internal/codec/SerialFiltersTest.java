package io.procpool.internal.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.proto.v1.Value;
import java.io.ObjectInputFilter;
import java.io.ObjectInputFilter.Status;
import java.io.Serializable;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

class SerialFiltersTest {
  private final ClassLoader loader = getClass().getClassLoader();

  record Box(Object value) implements Serializable {}

  /** Rejected by the JVM-wide filter that one test installs; used nowhere else. */
  record JvmWideForbidden(int x) implements Serializable {}

  /** A filter check as ObjectInputStream would make it. */
  private static ObjectInputFilter.FilterInfo info(Class<?> c, long arrayLength, long depth, long refs, long bytes) {
    return new ObjectInputFilter.FilterInfo() {
      @Override
      public Class<?> serialClass() {
        return c;
      }

      @Override
      public long arrayLength() {
        return arrayLength;
      }

      @Override
      public long depth() {
        return depth;
      }

      @Override
      public long references() {
        return refs;
      }

      @Override
      public long streamBytes() {
        return bytes;
      }
    };
  }

  @Test
  void defaults_hugeArrayDepthRefsOrBytes_rejected() {
    ObjectInputFilter f = SerialFilters.filter(SerialFilters.DEFAULTS);
    assertEquals(Status.UNDECIDED, f.checkInput(info(long[].class, 1_000_000, 3, 10, 8_000_100)));
    assertEquals(Status.REJECTED, f.checkInput(info(long[].class, 2147483639L, 1, 1, 100)), "maxarray");
    assertEquals(Status.REJECTED, f.checkInput(info(Box.class, -1, 1, 1, 1L << 30)), "maxbytes");
    assertEquals(Status.REJECTED, f.checkInput(info(Box.class, -1, 5_000, 1, 100)), "maxdepth");
    assertEquals(Status.REJECTED, f.checkInput(info(Box.class, -1, 1, 100_000_000, 100)), "maxrefs");
  }

  @Test
  void pattern_userSetsMaxarray_userValueKeptAndDefaultNotAppended() {
    String p = SerialFilters.pattern("maxarray=1000");
    assertEquals("maxarray=1000;maxdepth=1000;maxrefs=10000000;maxbytes=268435456", p);
  }

  @Test
  void serialFilterMaxarray_overriddenByDefaults_regression() throws Exception {
    // Regression: the user's pattern used to be followed by "maxarray=2147483639", and the JDK keeps the
    // last value of a limit, so serialFilter("maxarray=1000") let a 5000-element array through.
    ValueCodec codec = new ValueCodec(SerialFilters.filter(SerialFilters.pattern("maxarray=1000")));
    ValueCodec.CodecException e =
        assertThrows(ValueCodec.CodecException.class, () -> codec.decode(codec.encode(new Box(new int[5000])), loader));
    assertTrue(e.getMessage().contains("class int[], array length 5000"), e.getMessage());
  }

  @Test
  void pattern_userLooserLimit_userValueDecides() throws Exception {
    String p = SerialFilters.pattern("com.example.**;maxdepth=5000");
    assertEquals("com.example.**;maxdepth=5000;maxrefs=10000000;maxarray=67108864;maxbytes=268435456", p);
    assertEquals(Status.UNDECIDED, SerialFilters.filter(p).checkInput(info(Box.class, -1, 4_000, 1, 100)));
  }

  @Test
  void pattern_userClassPatterns_comeFirst() {
    ObjectInputFilter f = SerialFilters.filter(SerialFilters.pattern("!" + Box.class.getName()));
    assertEquals(Status.REJECTED, f.checkInput(info(Box.class, -1, 1, 1, 10)));
  }

  @Test
  void filter_jvmWideFilterRejects_stillRejected() throws Exception {
    // Regression: a stream filter replaces the JVM-wide one, so jdk.serialFilter stopped applying.
    // The JVM-wide filter can be set once per JVM; this one rejects only a class nothing else uses.
    if (ObjectInputFilter.Config.getSerialFilter() == null) {
      ObjectInputFilter.Config.setSerialFilter(
          ObjectInputFilter.Config.createFilter("!" + JvmWideForbidden.class.getName()));
    }
    Assumptions.assumeTrue(
        String.valueOf(ObjectInputFilter.Config.getSerialFilter()).contains(JvmWideForbidden.class.getName()),
        "another JVM-wide filter is set: " + ObjectInputFilter.Config.getSerialFilter());
    ValueCodec codec = new ValueCodec(SerialFilters.filter(SerialFilters.pattern("io.procpool.**")));
    Value allowedByPool = codec.encode(new Box(new JvmWideForbidden(1)));
    ValueCodec.CodecException e =
        assertThrows(ValueCodec.CodecException.class, () -> codec.decode(allowedByPool, loader));
    assertTrue(e.getMessage().contains("class " + JvmWideForbidden.class.getName()), e.getMessage());
    assertEquals(new Box(7), codec.decode(codec.encode(new Box(7)), loader));
  }

  @Test
  void filter_malformedPattern_throwsIllegalArgument() {
    assertThrows(IllegalArgumentException.class, () -> SerialFilters.filter("maxdepth=x"));
    assertFalse(SerialFilters.DEFAULTS.isEmpty());
  }
}
