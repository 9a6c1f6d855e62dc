package io.procpool.internal.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.proto.v1.Heartbeat;
import io.procpool.proto.v1.Value;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ValueCodecTest {
  private final ValueCodec codec = new ValueCodec(SerialFilters.filter("maxdepth=20;maxarray=1000"));
  private final ClassLoader loader = getClass().getClassLoader();

  record Box(Object value) implements Serializable {}

  @Test
  void encode_scalars_useCompactKinds() throws Exception {
    assertEquals(Value.KindCase.STRING, codec.encode("s").getKindCase());
    assertEquals(Value.KindCase.LONG, codec.encode(1L).getKindCase());
    assertEquals(Value.KindCase.INT, codec.encode(1).getKindCase());
    assertEquals(Value.KindCase.BYTES, codec.encode(new byte[1]).getKindCase());
    assertEquals(Value.KindCase.NULL, codec.encode(null).getKindCase());
    assertEquals(Value.KindCase.PROTO, codec.encode(Heartbeat.getDefaultInstance()).getKindCase());
    assertEquals(Value.KindCase.JAVA, codec.encode(new Box(1)).getKindCase());
  }

  @Test
  void roundTrip_everyKind_equalValue() throws Exception {
    for (Object v : new Object[] {"s", 1L, 2, 3.0, 4f, true, (short) 5, (byte) 6, 'x', null, new Box("b"),
        Heartbeat.newBuilder().setRssBytes(7).build()}) {
      assertEquals(v, codec.decode(codec.encode(v), loader));
    }
    assertArrayEquals(new byte[] {1, 2}, (byte[]) codec.decode(codec.encode(new byte[] {1, 2}), loader));
  }

  @Test
  void protoMessage_travelsAsProtobufNotJavaSerialization() throws Exception {
    Value v = codec.encode(Heartbeat.newBuilder().setGcMillis(3).build());
    assertEquals(Heartbeat.class.getName(), v.getProto().getJavaClass());
    assertEquals(Heartbeat.newBuilder().setGcMillis(3).build().toByteString(), v.getProto().getData());
  }

  @Test
  void encode_notSerializable_namesTheClass() {
    ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> codec.encode(new Object()));
    assertEquals("value of type java.lang.Object is not serializable", e.getMessage());
    ValueCodec.CodecException nested =
        assertThrows(ValueCodec.CodecException.class, () -> codec.encode(new Box(new Thread())));
    assertEquals("value of type java.lang.Thread is not serializable", nested.getMessage());
  }

  @Test
  void decode_overFilterLimits_isRejected() throws Exception {
    Value big = codec.encode(new Box(new int[5000]));
    ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> codec.decode(big, loader));
    assertTrue(e.getMessage().startsWith("value rejected by the serialization filter"), e.getMessage());
    Object deep = null;
    for (int i = 0; i < 100; i++) {
      List<Object> l = new ArrayList<>();
      l.add(deep);
      deep = l;
    }
    Value deepValue = codec.encode(deep);
    assertThrows(ValueCodec.CodecException.class, () -> codec.decode(deepValue, loader));
  }

  @Test
  void decode_classPatternDenied_isRejected() throws Exception {
    ValueCodec strict = new ValueCodec(SerialFilters.filter("!" + Box.class.getName()));
    Value v = strict.encode(new Box(1));
    assertThrows(ValueCodec.CodecException.class, () -> strict.decode(v, loader));
  }

  @Test
  void decode_unknownProtoClass_namesIt() {
    Value v =
        Value.newBuilder()
            .setProto(io.procpool.proto.v1.ProtoValue.newBuilder().setJavaClass("com.example.Missing"))
            .build();
    ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> codec.decode(v, loader));
    assertEquals("protobuf class com.example.Missing could not be loaded on this side", e.getMessage());
  }

  @Test
  void pack_scalarsOfOneType_roundTrip() {
    for (List<?> values :
        List.of(List.of(1L, -2L), List.of(1, 2, 3), List.of(0.5, -1.5), List.of("a", "\uD83D\uDE00", ""))) {
      assertEquals(values, ValueCodec.unpack(ValueCodec.pack(values)));
      assertEquals(values.size(), ValueCodec.size(ValueCodec.pack(values)));
    }
  }

  @Test
  void pack_mixedNullOrUnpackable_returnsNull() {
    assertEquals(null, ValueCodec.pack(List.of(1, 2L)));
    assertEquals(null, ValueCodec.pack(java.util.Arrays.asList(1, null)));
    assertEquals(null, ValueCodec.pack(List.of(new Box(1), new Box(2))));
    assertEquals(null, ValueCodec.pack(List.of("ok", "lone \uD800 surrogate")));
    assertEquals(null, ValueCodec.pack(List.of(1)));
  }

  @Test
  void encode_stringWithLoneSurrogate_survivesExactly() throws Exception {
    String s = "x\uDC00y\uD800";
    Value v = codec.encode(s);
    assertEquals(Value.KindCase.JAVA, v.getKindCase());
    assertEquals(s, codec.decode(v, loader));
  }

  /** Throws when read, as a value can that is fine where it was made. */
  static final class ThrowsOnRead implements Serializable {
    private static final long serialVersionUID = 1L;
    final Box inner = new Box("read before the throw");

    private void readObject(java.io.ObjectInputStream in) throws java.io.IOException, ClassNotFoundException {
      in.defaultReadObject();
      throw new IllegalStateException("refuses to be read");
    }
  }

  @Test
  void decodeFailure_readObjectThrows_messageNamesTheClass() throws Exception {
    // Regression: the message said only "Java-serialized value could not be read: ..." without the class.
    Value v = codec.encode(new Box(new ThrowsOnRead()));
    ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> codec.decode(v, loader));
    assertEquals(
        "class " + ThrowsOnRead.class.getName() + " (in a value of class " + Box.class.getName()
            + ") could not be deserialized: java.lang.IllegalStateException: refuses to be read",
        e.getMessage());
  }

  @Test
  void decodeFailure_filterRejects_messageNamesTheClassAndFilter() throws Exception {
    Value v = codec.encode(new Box(new int[5000]));
    ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> codec.decode(v, loader));
    // The filter's description may add a JVM-wide filter that another test in this JVM installed.
    assertTrue(
        e.getMessage().startsWith("value rejected by the serialization filter \"maxdepth=20;maxarray=1000"),
        e.getMessage());
    assertTrue(e.getMessage().contains(" at class int[], array length 5000, depth 2,"), e.getMessage());
    assertTrue(e.getMessage().endsWith("(in a value of class " + Box.class.getName() + ")"), e.getMessage());
  }

  /** Not a protobuf message; records whether its static initializer ran. */
  static final class NotAMessage {
    static final java.util.concurrent.atomic.AtomicBoolean INITIALIZED = Flag.INITIALIZED;

    static {
      Flag.INITIALIZED.set(true);
    }
  }

  static final class Flag {
    static final java.util.concurrent.atomic.AtomicBoolean INITIALIZED = new java.util.concurrent.atomic.AtomicBoolean();
  }

  @Test
  void protoClassNamedByPeer_notAMessage_refusedWithoutInitializingIt() {
    // Regression: decoding called Class.forName(name, true, ...) on any name the other side sent,
    // running that class's static initializer before finding it was no protobuf message.
    Value v =
        Value.newBuilder()
            .setProto(io.procpool.proto.v1.ProtoValue.newBuilder().setJavaClass(NotAMessage.class.getName()))
            .build();
    ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> codec.decode(v, loader));
    assertEquals(
        "class " + NotAMessage.class.getName()
            + " was sent as a protobuf message, but it does not implement com.google.protobuf.Message",
        e.getMessage());
    assertFalse(Flag.INITIALIZED.get(), "the named class must not be initialized");
  }

  private static Value blob(String name, long length) {
    return Value.newBuilder().setBlob(io.procpool.proto.v1.Blob.newBuilder().setName(name).setLength(length)).build();
  }

  @Test
  void blob_largeByteArray_roundTripsThroughAFile(@TempDir Path dir) throws Exception {
    ValueCodec files = new ValueCodec(SerialFilters.filter(SerialFilters.DEFAULTS), dir);
    byte[] big = new byte[ValueCodec.BLOB_THRESHOLD + 1];
    big[big.length - 1] = 7;
    Value v = files.encode(big);
    assertEquals(Value.KindCase.BLOB, v.getKindCase());
    assertArrayEquals(big, (byte[]) files.decode(v, loader));
    assertEquals(dir.resolve(v.getBlob().getName()), files.blobPath(v));
  }

  @Test
  void blobName_pathOutsidePoolDirectory_failsAndDeletesNothing(@TempDir Path tmp) throws Exception {
    // Regression: a blob name from the other side was resolved unchecked, and the parent deleted the
    // file it named: "../x" or an absolute path reached any file the parent could delete.
    Path dir = Files.createDirectory(tmp.resolve("pool"));
    Path victim = Files.write(tmp.resolve("victim"), new byte[] {1, 2, 3});
    ValueCodec files = new ValueCodec(SerialFilters.filter(SerialFilters.DEFAULTS), dir);
    for (String name : new String[] {"../victim", victim.toString(), "blob-../../victim", "blob-x"}) {
      Value v = blob(name, 3);
      ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> files.decode(v, loader));
      assertTrue(e.getMessage().contains("is not one this pool writes (blob-<uuid>)"), e.getMessage());
      assertNull(files.blobPath(v), "blobPath of " + name + " must not name a file to delete");
    }
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(victim));
  }

  @Test
  void blobName_symbolicLinkInPoolDirectory_notFollowed(@TempDir Path tmp) throws Exception {
    // Regression: blob reads followed links, so a link planted in the pool's directory read any file.
    Path dir = Files.createDirectory(tmp.resolve("pool"));
    Path secret = Files.write(tmp.resolve("secret"), new byte[] {4, 5, 6});
    String name = "blob-" + java.util.UUID.randomUUID();
    Files.createSymbolicLink(dir.resolve(name), secret);
    ValueCodec files = new ValueCodec(SerialFilters.filter(SerialFilters.DEFAULTS), dir);
    ValueCodec.CodecException e =
        assertThrows(ValueCodec.CodecException.class, () -> files.decode(blob(name, 3), loader));
    assertEquals("blob " + name + " is not a regular file (a link, directory or device); it was not read", e.getMessage());
  }

  @Test
  void blob_lengthDiffersFromFile_failsBeforeReading(@TempDir Path dir) throws Exception {
    String name = "blob-" + java.util.UUID.randomUUID();
    Files.write(dir.resolve(name), new byte[10]);
    ValueCodec files = new ValueCodec(SerialFilters.filter(SerialFilters.DEFAULTS), dir);
    ValueCodec.CodecException e =
        assertThrows(ValueCodec.CodecException.class, () -> files.decode(blob(name, 11), loader));
    assertEquals("blob " + name + " has 10 bytes, but 11 were sent", e.getMessage());
    ValueCodec.CodecException huge =
        assertThrows(ValueCodec.CodecException.class, () -> files.decode(blob(name, 1L << 40), loader));
    assertEquals("blob " + name + " announces 1099511627776 bytes, more than a byte[] holds", huge.getMessage());
  }
}
