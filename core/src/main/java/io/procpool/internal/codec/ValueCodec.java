package io.procpool.internal.codec;

import com.google.protobuf.ByteString;
import com.google.protobuf.Message;
import com.google.protobuf.Parser;
import com.google.protobuf.UnsafeByteOperations;
import io.procpool.proto.v1.Blob;
import io.procpool.proto.v1.Packed;
import io.procpool.proto.v1.ProtoValue;
import io.procpool.proto.v1.Slot;
import io.procpool.proto.v1.Value;
import java.io.IOException;
import java.io.InvalidClassException;
import java.io.NotSerializableException;
import java.io.ObjectInputFilter;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Pattern;

/**
 * Turns Java values into {@link Value} messages and back, choosing the most compact encoding for each type:
 * protobuf messages travel in their own wire format, {@code byte[]}, strings and boxed primitives as
 * protobuf scalars, and any other {@link Serializable} by Java serialization, read back under an {@link
 * ObjectInputFilter}.
 *
 * <p>{@code byte[]} values are wrapped without copying when encoded: the caller must not change an array
 * after handing it to the pool. This class is thread-safe.
 */
public final class ValueCodec {
  /** Thrown when a value cannot be encoded or decoded; the message names the class concerned. */
  public static final class CodecException extends Exception {
    private static final long serialVersionUID = 1L;

    public CodecException(String message, Throwable cause) {
      super(message, cause);
    }
  }

  /**
   * Sees the class of every class descriptor written into a Java-serialized value (the classes of its
   * objects, of {@code Class} objects in it such as a lambda's capturing class, and a proxy's interfaces),
   * and may refuse one by throwing.
   */
  @FunctionalInterface
  public interface ClassWatcher {
    void wrote(Class<?> c) throws IOException;
  }

  private static final Value NULL = Value.newBuilder().setNull(true).build();
  private static final ConcurrentHashMap<String, Parser<?>> PARSERS = new ConcurrentHashMap<>();
  /** Exactly the names {@link #writeBlob} makes: "blob-" and a UUID in {@link UUID#toString} form. */
  private static final Pattern BLOB_NAME =
      Pattern.compile("blob-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");

  /**
   * Arrays at least this long travel out of the stream: in a slot of the codec's write arena when it has
   * one and the array fits, else as files when the codec has a blob directory.
   */
  public static final int BLOB_THRESHOLD = 256 << 10;
  /**
   * Arrays longer than this go as files even when there is an arena: a slot's pages stay in memory for
   * as long as the arena lives, so an arena is for the sizes that come again and again.
   */
  public static final int SLOT_MAX = 64 << 20;

  private final ObjectInputFilter filter;
  private final Path blobDir;
  private final SharedArena writeArena;
  private final SharedArena readArena;

  /** A codec that sends everything inline. */
  public ValueCodec(ObjectInputFilter filter) {
    this(filter, null);
  }

  /** A codec that passes large {@code byte[]} through files in {@code blobDir} (a private directory). */
  public ValueCodec(ObjectInputFilter filter, Path blobDir) {
    this(filter, blobDir, null, null);
  }

  /**
   * A codec that writes large {@code byte[]} into slots of {@code writeArena} (if not null) and reads
   * slots from {@code readArena} (if not null), with files in {@code blobDir} for what does not fit.
   */
  public ValueCodec(ObjectInputFilter filter, Path blobDir, SharedArena writeArena, SharedArena readArena) {
    this.filter = filter;
    this.blobDir = blobDir;
    this.writeArena = writeArena;
    this.readArena = readArena;
  }

  /** This codec reading slots from {@code arena} instead (the parent reading a worker's results). */
  public ValueCodec readingFrom(SharedArena arena) {
    return arena == readArena ? this : new ValueCodec(filter, blobDir, writeArena, arena);
  }

  /** The owner of the slot {@code v} is in frees it: this codec wrote it (a task input that is done). */
  public void freeWritten(Value v) {
    if (v.getKindCase() == Value.KindCase.SLOT && writeArena != null) {
      writeArena.free(v.getSlot());
    }
  }

  /** Gives back the memory of this codec's write arena if it has been idle that long (see {@link SharedArena#trimIfIdle}). */
  public boolean trimIdleArena(long nowNanos, long idleNanos) {
    return writeArena != null && writeArena.trimIfIdle(nowNanos, idleNanos);
  }

  /** Releases the slot {@code v} is in to the side that wrote it, once this side has read it. */
  public void releaseRead(Value v) {
    if (v.getKindCase() == Value.KindCase.SLOT && readArena != null) {
      readArena.release(v.getSlot());
    }
  }

  /**
   * The file behind a blob value, for deleting it once read; null if {@code v} is not a blob or names
   * no file this codec could have written (see {@link #blobFile}), so that a name from the other side
   * can never make the caller delete anything else.
   */
  public Path blobPath(Value v) {
    if (v.getKindCase() != Value.KindCase.BLOB || blobDir == null) {
      return null;
    }
    try {
      return blobFile(v.getBlob().getName());
    } catch (CodecException e) {
      return null;
    }
  }

  /**
   * Where blob {@code name} lives, after checking that the name is one {@link #writeBlob} makes ({@code
   * blob-} and a random UUID, nothing else) and resolves to an entry directly inside the blob directory.
   * The name comes from the other side: without these checks "../x" or an absolute path would reach any
   * file this process can read or delete.
   */
  Path blobFile(String name) throws CodecException {
    if (!BLOB_NAME.matcher(name).matches()) {
      throw new CodecException(
          "blob name \"" + (name.length() > 80 ? name.substring(0, 80) + "..." : name)
              + "\" is not one this pool writes (blob-<uuid>); nothing was read or deleted",
          null);
    }
    Path dir = blobDir.toAbsolutePath().normalize();
    Path file = dir.resolve(name).normalize();
    if (!dir.equals(file.getParent())) {
      throw new CodecException("blob " + name + " resolves to " + file + ", outside " + dir, null);
    }
    return file;
  }

  public ObjectInputFilter filter() {
    return filter;
  }

  /** Encodes {@code value}; throws naming the class that could not be encoded. */
  public Value encode(Object value) throws CodecException {
    return encode(value, null);
  }

  /**
   * Encodes {@code value}, showing {@code watcher} (if not null) each class a Java-serialized value
   * writes; throws naming the class that could not be encoded or that {@code watcher} refused.
   */
  public Value encode(Object value, ClassWatcher watcher) throws CodecException {
    if (value == null) {
      return NULL;
    }
    Value.Builder b = Value.newBuilder();
    if (value instanceof String s && isWellFormed(s)) {
      return b.setString(s).build();
    } else if (value instanceof byte[] bytes) {
      if (bytes.length >= BLOB_THRESHOLD) {
        if (writeArena != null && bytes.length <= SLOT_MAX) {
          Slot slot = writeArena.write(bytes);
          if (slot != null) {
            return b.setSlot(slot).build();
          }
        }
        if (blobDir != null) {
          return b.setBlob(writeBlob(bytes)).build();
        }
      }
      return b.setBytes(UnsafeByteOperations.unsafeWrap(bytes)).build();
    } else if (value instanceof Long l) {
      return b.setLong(l).build();
    } else if (value instanceof Integer i) {
      return b.setInt(i).build();
    } else if (value instanceof Double d) {
      return b.setDouble(d).build();
    } else if (value instanceof Float f) {
      return b.setFloat(f).build();
    } else if (value instanceof Boolean z) {
      return b.setBool(z).build();
    } else if (value instanceof Short s) {
      return b.setShort(s).build();
    } else if (value instanceof Byte y) {
      return b.setByte(y).build();
    } else if (value instanceof Character c) {
      return b.setChar(c).build();
    } else if (value instanceof Message m) {
      return b.setProto(
              ProtoValue.newBuilder().setJavaClass(m.getClass().getName()).setData(m.toByteString()))
          .build();
    } else if (value instanceof Serializable) {
      return b.setJava(serialize(value, watcher)).build();
    }
    throw new CodecException(
        "value of type " + value.getClass().getName() + " is not serializable",
        new NotSerializableException(value.getClass().getName()));
  }

  /** Decodes {@code value}, loading classes through {@code loader}. */
  public Object decode(Value value, ClassLoader loader) throws CodecException {
    return switch (value.getKindCase()) {
      case NULL, KIND_NOT_SET -> null;
      case STRING -> value.getString();
      case BYTES -> value.getBytes().toByteArray();
      case LONG -> value.getLong();
      case INT -> value.getInt();
      case DOUBLE -> value.getDouble();
      case FLOAT -> value.getFloat();
      case BOOL -> value.getBool();
      case SHORT -> (short) value.getShort();
      case BYTE -> (byte) value.getByte();
      case CHAR -> (char) value.getChar();
      case PROTO -> parseProto(value.getProto(), loader);
      case JAVA -> deserialize(value.getJava(), loader);
      case BLOB -> readBlob(value.getBlob());
      case SLOT -> readSlot(value.getSlot());
    };
  }

  private byte[] readSlot(Slot slot) throws CodecException {
    if (readArena == null) {
      throw new CodecException(
          "a slot of " + slot.getLength() + " bytes cannot be read on this side: it has no arena to read from", null);
    }
    return readArena.read(slot);
  }

  private Blob writeBlob(byte[] bytes) throws CodecException {
    String name = "blob-" + UUID.randomUUID();
    // One channel write of the whole array, not Files.write's 8 KiB chunks (128 system calls and copies
    // per MiB).
    try (FileChannel ch =
        FileChannel.open(blobDir.resolve(name), StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
    } catch (IOException e) {
      throw new CodecException("byte[" + bytes.length + "] could not be written to " + blobDir + ": " + e, e);
    }
    return Blob.newBuilder().setName(name).setLength(bytes.length).build();
  }

  /**
   * Reads a blob written by the other side. Links are not followed (a link planted in the directory
   * must not make this side read a file elsewhere), the entry must be a regular file, and its size must be
   * the length the message announced, checked before anything is allocated.
   */
  private byte[] readBlob(Blob blob) throws CodecException {
    if (blobDir == null) {
      throw new CodecException("blob " + blob.getName() + " cannot be read on this side: it has no blob directory", null);
    }
    Path file = blobFile(blob.getName());
    try {
      BasicFileAttributes attrs = Files.readAttributes(file, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!attrs.isRegularFile()) {
        throw new CodecException(
            "blob " + blob.getName() + " is not a regular file (a link, directory or device); it was not read",
            null);
      }
      if (blob.getLength() > Integer.MAX_VALUE - 8) {
        throw new CodecException(
            "blob " + blob.getName() + " announces " + blob.getLength() + " bytes, more than a byte[] holds", null);
      }
      if (attrs.size() != blob.getLength()) {
        throw new CodecException(
            "blob " + blob.getName() + " has " + attrs.size() + " bytes, but " + blob.getLength() + " were sent",
            null);
      }
      byte[] bytes = new byte[(int) blob.getLength()];
      try (SeekableByteChannel ch = Files.newByteChannel(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        while (buf.hasRemaining() && ch.read(buf) >= 0) {
          // Reads until full or end of file.
        }
        if (buf.hasRemaining() || ch.read(ByteBuffer.allocate(1)) >= 0) {
          throw new CodecException(
              "blob " + blob.getName() + " changed size while read; " + blob.getLength() + " bytes were sent",
              null);
        }
      }
      return bytes;
    } catch (IOException e) {
      throw new CodecException("blob " + blob.getName() + " could not be read: " + e, e);
    }
  }

  /**
   * Whether {@code s} survives UTF-8 (every surrogate paired). Protobuf string fields are UTF-8 and would
   * turn a lone surrogate into '?'; such strings go by Java serialization instead.
   */
  static boolean isWellFormed(String s) {
    for (int i = 0, n = s.length(); i < n; i++) {
      char c = s.charAt(i);
      if (Character.isSurrogate(c)) {
        if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
          i++;
        } else {
          return false;
        }
      }
    }
    return true;
  }

  /**
   * Packs {@code values} when all are non-null and of one of the packable types (Long, Integer, Double,
   * well-formed String) and there are at least two; else returns null.
   */
  public static Packed pack(List<?> values) {
    if (values.size() < 2 || values.get(0) == null) {
      return null;
    }
    Class<?> type = values.get(0).getClass();
    Packed.Builder p = Packed.newBuilder();
    if (type == Long.class) {
      for (Object o : values) {
        if (!(o instanceof Long l)) {
          return null;
        }
        p.addLongs(l);
      }
    } else if (type == Integer.class) {
      for (Object o : values) {
        if (!(o instanceof Integer i)) {
          return null;
        }
        p.addInts(i);
      }
    } else if (type == Double.class) {
      for (Object o : values) {
        if (!(o instanceof Double d)) {
          return null;
        }
        p.addDoubles(d);
      }
    } else if (type == String.class) {
      for (Object o : values) {
        if (!(o instanceof String str) || !isWellFormed(str)) {
          return null;
        }
        p.addStrings(str);
      }
    } else {
      return null;
    }
    return p.build();
  }

  /** The values of {@code p}, boxed, in order. */
  public static List<Object> unpack(Packed p) {
    List<Object> out;
    if (p.getLongsCount() > 0) {
      out = new ArrayList<>(p.getLongsCount());
      for (int i = 0; i < p.getLongsCount(); i++) {
        out.add(p.getLongs(i));
      }
    } else if (p.getIntsCount() > 0) {
      out = new ArrayList<>(p.getIntsCount());
      for (int i = 0; i < p.getIntsCount(); i++) {
        out.add(p.getInts(i));
      }
    } else if (p.getDoublesCount() > 0) {
      out = new ArrayList<>(p.getDoublesCount());
      for (int i = 0; i < p.getDoublesCount(); i++) {
        out.add(p.getDoubles(i));
      }
    } else {
      out = new ArrayList<>(p.getStringsList());
    }
    return out;
  }

  /** How many values {@code p} holds. */
  public static int size(Packed p) {
    return p.getLongsCount() + p.getIntsCount() + p.getDoublesCount() + p.getStringsCount();
  }

  /** Java-serializes {@code value}; the message names the class that is not serializable. */
  public static ByteString serialize(Object value) throws CodecException {
    return serialize(value, null);
  }

  /**
   * Java-serializes {@code value}, showing {@code watcher} (if not null) each class written; the message
   * names the class that is not serializable or that {@code watcher} refused.
   */
  public static ByteString serialize(Object value, ClassWatcher watcher) throws CodecException {
    ByteString.Output out = ByteString.newOutput(256);
    try (ObjectOutputStream oos = watcher == null ? new ObjectOutputStream(out) : new WatchedOutput(out, watcher)) {
      oos.writeObject(value);
    } catch (ClassCheck.UnavailableClassException e) {
      throw new CodecException(e.getMessage(), e);
    } catch (NotSerializableException e) {
      throw new CodecException("value of type " + e.getMessage() + " is not serializable", e);
    } catch (InvalidClassException e) {
      throw new CodecException("class " + e.classname + " cannot be serialized: " + e.getMessage(), e);
    } catch (IOException | RuntimeException e) {
      throw new CodecException(
          "value of type " + value.getClass().getName() + " failed to serialize: " + e, e);
    }
    return out.toByteString();
  }

  /** An object stream that shows each class it writes to a {@link ClassWatcher}. */
  private static final class WatchedOutput extends ObjectOutputStream {
    private final ClassWatcher watcher;

    WatchedOutput(java.io.OutputStream out, ClassWatcher watcher) throws IOException {
      super(out);
      this.watcher = watcher;
    }

    @Override
    protected void annotateClass(Class<?> c) throws IOException {
      watcher.wrote(c);
    }

    @Override
    protected void annotateProxyClass(Class<?> c) throws IOException {
      // The proxy class itself is made anew by the reading side, from its interfaces.
      for (Class<?> i : c.getInterfaces()) {
        watcher.wrote(i);
      }
    }
  }

  /**
   * Reads a Java-serialized object under this codec's filter. A failure names the class concerned: the
   * one whose readObject (or readResolve, readExternal, record constructor) threw, the one the filter
   * rejected, or the one not found.
   */
  public Object deserialize(ByteString bytes, ClassLoader loader) throws CodecException {
    ObjectReader in;
    try {
      in = new ObjectReader(bytes.newInput(), loader, filter);
    } catch (IOException | RuntimeException e) {
      throw new CodecException("Java-serialized value could not be read: " + e, e);
    }
    try (in) {
      return in.readObject();
    } catch (ClassNotFoundException e) {
      // A plain loader's message is the name alone; a worker's remote loader says where it looked.
      String m = String.valueOf(e.getMessage());
      throw new CodecException(
          m.indexOf(' ') < 0 ? "class " + m + " was not found on this side" : m, e);
    } catch (IOException | RuntimeException e) {
      throw new CodecException(in.describeFailure(e, String.valueOf(filter)), e);
    }
  }

  /**
   * Parses a protobuf value. The class name comes from the other side, so the class is loaded without
   * being initialized and checked to be a {@link Message} before anything of it runs: a name of any
   * other class must not run that class's static initializer here.
   */
  private static Object parseProto(ProtoValue proto, ClassLoader loader) throws CodecException {
    String name = proto.getJavaClass();
    Parser<?> parser = PARSERS.get(name);
    if (parser == null) {
      Class<?> c;
      try {
        c = Class.forName(name, false, loader);
      } catch (ClassNotFoundException | LinkageError e) {
        throw new CodecException("protobuf class " + name + " could not be loaded on this side", e);
      }
      if (!Message.class.isAssignableFrom(c)) {
        throw new CodecException(
            "class " + name + " was sent as a protobuf message, but it does not implement "
                + Message.class.getName(),
            null);
      }
      try {
        Message defaultInstance = (Message) c.getMethod("getDefaultInstance").invoke(null);
        parser = defaultInstance.getParserForType();
      } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
        throw new CodecException(
            "protobuf class " + name + " could not be loaded on this side: " + e, e);
      }
      PARSERS.putIfAbsent(name, parser);
    }
    try {
      return parser.parseFrom(proto.getData());
    } catch (com.google.protobuf.InvalidProtocolBufferException e) {
      throw new CodecException("protobuf message " + name + " could not be parsed", e);
    }
  }
}
