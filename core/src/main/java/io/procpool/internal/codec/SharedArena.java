package io.procpool.internal.codec;

import io.procpool.proto.v1.Slot;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A file in shared memory, mapped once by each side and cut into slots that large {@code byte[]} values
 * travel in (see the {@code Slot} message). One side writes into an arena (its <em>owner</em>, the only one
 * that allocates); the other reads, and either the owner frees a slot ({@link #free}: the parent's input
 * arena, freed when the task is done) or the reader releases it ({@link #release}: a worker's output
 * arena, released by the parent once read, and taken back by the worker at its next write).
 *
 * <p>Layout: slots start at multiples of {@value #ALIGN} bytes; each has a {@value #HEADER}-byte header
 * (long at 0: the generation, -1 while the owner copies in, 0 once freed or released; long at 8: the
 * length), then the bytes. A
 * reader checks the generation before and after copying, so a slot freed and reused meanwhile is refused
 * instead of read torn.
 *
 * <p>The mapping is reference counted: {@link #close} drops the holder's reference, and each write or
 * read holds one while it copies, so the file is unmapped (and its memory given back) only once nothing
 * can touch it any more; a read or write of an unmapped buffer would crash the JVM. Pages the arena has
 * touched stay in memory while it is mapped, so its high-water mark is what it costs while it is busy;
 * the allocator takes the lowest offset that fits, to reuse the same pages, and an arena left with no
 * live slot for a while gives its pages back ({@link #trimIfIdle}).
 *
 * <p>This class is thread-safe.
 */
public final class SharedArena {
  static final int HEADER = 64;
  static final int ALIGN = 64;
  /** The generation of a slot whose bytes are being copied in; never one a reader is sent. */
  private static final long WRITING = -1;
  private static final VarHandle LONGS =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

  private final Path path;
  /** Open for the owner, which trims the file (see {@link #trimIfIdle}); null for the reader. */
  private final FileChannel channel;
  private final MappedByteBuffer buffer;
  private final int capacity;
  private final boolean owner;
  private final AtomicInteger refs = new AtomicInteger(1);

  // Owner only, guarded by this: free ranges (offset to size, coalesced) and live slots (offset to
  // size), the latter to find what the reader released.
  private final TreeMap<Integer, Integer> free = new TreeMap<>();
  private final Map<Integer, Integer> live = new HashMap<>();
  private long nextGeneration = 1;
  /** Whether a slot was written since the file was last trimmed (its pages hold memory). */
  private boolean touched;
  /** When the last live slot was given back (0 while some are live, or nothing to trim). */
  private long emptySinceNanos;

  private SharedArena(Path path, FileChannel channel, MappedByteBuffer buffer, boolean owner) {
    this.path = path;
    this.channel = channel;
    this.buffer = buffer;
    this.capacity = buffer.capacity();
    this.owner = owner;
    if (owner) {
      free.put(0, capacity);
    }
  }

  /**
   * Creates the file {@code path} (which must not exist) of {@code capacity} bytes (sparse: memory is used
   * only as slots touch it) and maps it; {@code owner} says whether this side allocates in it.
   */
  public static SharedArena create(Path path, int capacity, boolean owner) throws IOException {
    if (capacity < HEADER + ALIGN || capacity % ALIGN != 0) {
      throw new IllegalArgumentException(
          "arena capacity must be a multiple of " + ALIGN + " of at least " + (HEADER + ALIGN) + ", not " + capacity);
    }
    FileChannel ch =
        FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
    try {
      extend(ch, capacity);
      return new SharedArena(path, owner ? ch : null, ch.map(FileChannel.MapMode.READ_WRITE, 0, capacity), owner);
    } catch (IOException | RuntimeException e) {
      ch.close();
      Files.deleteIfExists(path);
      throw e;
    } finally {
      if (!owner) {
        ch.close();
      }
    }
  }

  /**
   * Maps the existing arena {@code path}, made by the other side: as its owner (a worker's output arena)
   * or to read from it (the input arena, mapped read-only).
   */
  public static SharedArena open(Path path, boolean owner) throws IOException {
    FileChannel ch =
        owner
            ? FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE)
            : FileChannel.open(path, StandardOpenOption.READ);
    try {
      long size = ch.size();
      if (size < HEADER + ALIGN || size > Integer.MAX_VALUE || size % ALIGN != 0) {
        throw new IOException("arena " + path + " has " + size + " bytes: not an arena this pool made");
      }
      MappedByteBuffer b =
          ch.map(owner ? FileChannel.MapMode.READ_WRITE : FileChannel.MapMode.READ_ONLY, 0, size);
      return new SharedArena(path, owner ? ch : null, b, owner);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    } finally {
      if (!owner) {
        ch.close();
      }
    }
  }

  /** Sets the file's size without touching its pages (sparse: writing the last byte). */
  private static void extend(FileChannel ch, int capacity) throws IOException {
    ch.write(java.nio.ByteBuffer.wrap(new byte[1]), capacity - 1L);
  }

  public Path path() {
    return path;
  }

  public int capacity() {
    return capacity;
  }

  /**
   * Copies {@code bytes} into a free slot and returns it, or null if no slot is free that large (or the
   * arena is closed): the caller then sends the array some other way.
   */
  public Slot write(byte[] bytes) {
    if (!owner) {
      throw new IllegalStateException("arena " + path + " is written by the other side");
    }
    long need = align((long) HEADER + bytes.length);
    if (need > capacity || !retain()) {
      return null;
    }
    try {
      int offset;
      long generation;
      synchronized (this) {
        reclaimReleased();
        offset = take((int) need);
        if (offset < 0) {
          return null;
        }
        generation = nextGeneration++;
        touched = true;
        emptySinceNanos = 0;
        // Not 0 while the bytes are copied: 0 would read as released, and be taken back meanwhile.
        LONGS.setVolatile(buffer, offset, WRITING);
      }
      buffer.put(offset + HEADER, bytes, 0, bytes.length);
      LONGS.setRelease(buffer, offset + 8, (long) bytes.length);
      // The generation last: a reader that sees it sees the bytes.
      LONGS.setVolatile(buffer, offset, generation);
      return Slot.newBuilder().setOffset(offset).setLength(bytes.length).setGeneration(generation).build();
    } finally {
      unretain();
    }
  }

  /** Copies the bytes of {@code slot} out; throws if it lies outside the arena or was reused meanwhile. */
  public byte[] read(Slot slot) throws ValueCodec.CodecException {
    long offset = slot.getOffset();
    long length = slot.getLength();
    if (offset < 0 || offset % ALIGN != 0 || length < 0 || offset + HEADER + length > capacity) {
      throw new ValueCodec.CodecException(
          "slot at " + offset + " of " + length + " bytes lies outside arena " + path + " of " + capacity + " bytes",
          null);
    }
    if (!retain()) {
      throw new ValueCodec.CodecException("arena " + path + " is closed; the slot at " + offset + " cannot be read", null);
    }
    try {
      int at = (int) offset;
      checkGeneration(slot, at, "before");
      long written = (long) LONGS.getAcquire(buffer, at + 8);
      if (written != length) {
        throw new ValueCodec.CodecException(
            "slot at " + offset + " of arena " + path + " holds " + written + " bytes, but " + length + " were sent",
            null);
      }
      byte[] bytes = new byte[(int) length];
      buffer.get(at + HEADER, bytes, 0, bytes.length);
      VarHandle.acquireFence();
      checkGeneration(slot, at, "while");
      return bytes;
    } catch (InternalError e) {
      // The owner trimmed the file under a slot that was freed meanwhile: the JVM turns the fault of
      // reading past its end into this error.
      throw new ValueCodec.CodecException(
          "slot at " + offset + " of arena " + path + " was freed and its memory given back while it was read: "
              + "the task it belonged to is over", e);
    } finally {
      unretain();
    }
  }

  private void checkGeneration(Slot slot, int at, String when) throws ValueCodec.CodecException {
    long g = (long) LONGS.getVolatile(buffer, at);
    if (g != slot.getGeneration()) {
      throw new ValueCodec.CodecException(
          "slot at " + slot.getOffset() + " of arena " + path + " was freed or reused " + when
              + " it was read (generation " + g + ", expected " + slot.getGeneration()
              + "): the task it belonged to is over",
          null);
    }
  }

  /** The owner frees {@code slot} now (a no-op for a slot already freed or not this arena's). */
  public void free(Slot slot) {
    if (!owner) {
      throw new IllegalStateException("arena " + path + " is freed by the other side; release() instead");
    }
    if (!retain()) {
      return;
    }
    try {
      synchronized (this) {
        int at = (int) slot.getOffset();
        Integer size = live.get(at);
        if (size == null || (long) LONGS.getVolatile(buffer, at) != slot.getGeneration()) {
          return;
        }
        // Zero first: a reader still copying sees the change and refuses what it read.
        LONGS.setVolatile(buffer, at, 0L);
        live.remove(at);
        give(at, size);
      }
      noteIfEmpty(System.nanoTime());
    } finally {
      unretain();
    }
  }

  /**
   * The reader is done with {@code slot}: marks it released, for the owner to take back at its next
   * write. Only a slot still of {@code slot}'s generation is marked, so a stale or repeated release does
   * nothing.
   */
  public void release(Slot slot) {
    long offset = slot.getOffset();
    if (owner || offset < 0 || offset % ALIGN != 0 || offset + HEADER > capacity || !retain()) {
      return;
    }
    try {
      var unused = LONGS.compareAndSet(buffer, (int) offset, slot.getGeneration(), 0L);
    } catch (InternalError e) {
      // Trimmed away: nothing left to release.
    } finally {
      unretain();
    }
  }

  /**
   * The owner gives the arena's memory back if no slot has been live for {@code idleNanos}: the file is
   * cut to nothing and set to its size again, which frees its pages (the mappings stay, and read zeros
   * after). A busy arena keeps its pages, so a stream of large arrays reuses them; one left idle costs
   * nothing. Returns whether it trimmed. Call it now and then (a timer); it is cheap when nothing is due.
   */
  public boolean trimIfIdle(long nowNanos, long idleNanos) {
    if (!owner || !retain()) {
      return false;
    }
    try {
      synchronized (this) {
        reclaimReleased();
        noteIfEmpty(nowNanos);
        if (emptySinceNanos == 0 || nowNanos - emptySinceNanos < idleNanos) {
          return false;
        }
        channel.truncate(0);
        extend(channel, capacity);
        touched = false;
        emptySinceNanos = 0;
        return true;
      }
    } catch (IOException e) {
      return false;
    } finally {
      unretain();
    }
  }

  /** Starts the idle clock when the last live slot has gone and the pages hold something. */
  private synchronized void noteIfEmpty(long nowNanos) {
    if (!live.isEmpty()) {
      emptySinceNanos = 0;
    } else if (touched && emptySinceNanos == 0) {
      emptySinceNanos = nowNanos == 0 ? 1 : nowNanos;
    }
  }

  /** Slots the owner holds now (for tests and stats). */
  public synchronized int liveSlots() {
    reclaimReleased();
    return live.size();
  }

  /**
   * Drops the holder's reference: the file is deleted now (the memory stays while it is mapped) and
   * unmapped once no read or write is copying. Idempotent per holder only: call it once.
   */
  public void close() {
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      // The directory it is in goes with the pool.
    }
    unretain();
  }

  private void closeChannel() {
    if (channel != null) {
      try {
        channel.close();
      } catch (IOException e) {
        // Nothing more to do: the file is deleted.
      }
    }
  }

  /** Holds the mapping while the caller uses it; false once it is closed. Pair with {@link #unretain}. */
  public boolean retain() {
    for (;;) {
      int n = refs.get();
      if (n <= 0) {
        return false;
      }
      if (refs.compareAndSet(n, n + 1)) {
        return true;
      }
    }
  }

  /** Gives back what {@link #retain} took; the last one unmaps. */
  public void unretain() {
    if (refs.decrementAndGet() == 0) {
      closeChannel();
      Mappings.unmap(buffer);
    }
  }

  private void reclaimReleased() {
    assert Thread.holdsLock(this);
    if (live.isEmpty()) {
      return;
    }
    List<Integer> released = null;
    for (Iterator<Map.Entry<Integer, Integer>> it = live.entrySet().iterator(); it.hasNext(); ) {
      Map.Entry<Integer, Integer> e = it.next();
      if ((long) LONGS.getVolatile(buffer, e.getKey()) == 0L) {
        if (released == null) {
          released = new ArrayList<>();
        }
        released.add(e.getKey());
        released.add(e.getValue());
        it.remove();
      }
    }
    if (released != null) {
      for (int i = 0; i < released.size(); i += 2) {
        give(released.get(i), released.get(i + 1));
      }
    }
  }

  /** First fit from the lowest offset; -1 if nothing fits. */
  private int take(int need) {
    for (Map.Entry<Integer, Integer> e : free.entrySet()) {
      int size = e.getValue();
      if (size >= need) {
        int at = e.getKey();
        free.remove(at);
        if (size > need) {
          free.put(at + need, size - need);
        }
        live.put(at, need);
        return at;
      }
    }
    return -1;
  }

  /** Returns a range to the free list, merged with its neighbours. */
  private void give(int at, int size) {
    Map.Entry<Integer, Integer> before = free.floorEntry(at);
    if (before != null && before.getKey() + before.getValue() == at) {
      at = before.getKey();
      size += before.getValue();
      free.remove(at);
    }
    Integer after = free.get(at + size);
    if (after != null) {
      free.remove(at + size);
      size += after;
    }
    free.put(at, size);
  }

  private static long align(long n) {
    return (n + ALIGN - 1) / ALIGN * ALIGN;
  }

  @Override
  public String toString() {
    return "SharedArena[" + path + ", " + capacity + " bytes" + (owner ? ", owner" : "") + "]";
  }
}
