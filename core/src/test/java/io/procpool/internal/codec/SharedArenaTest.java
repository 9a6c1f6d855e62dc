package io.procpool.internal.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.proto.v1.Slot;
import io.procpool.proto.v1.Value;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Both sides of an arena in one JVM: two mappings of one file, as parent and worker have. */
class SharedArenaTest {
  private static final int MIB = 1 << 20;

  @TempDir Path dir;

  private static byte[] filled(int n, int seed) {
    byte[] b = new byte[n];
    for (int i = 0; i < n; i++) {
      b[i] = (byte) (i * 31 + seed);
    }
    return b;
  }

  @Test
  void write_readFromOtherMapping_sameBytes() throws Exception {
    SharedArena owner = SharedArena.create(dir.resolve("in"), 4 * MIB, true);
    SharedArena reader = SharedArena.open(dir.resolve("in"), false);
    byte[] a = filled(300_000, 1);
    byte[] b = filled(123_457, 2);
    Slot sa = owner.write(a);
    Slot sb = owner.write(b);
    assertArrayEquals(a, reader.read(sa));
    assertArrayEquals(b, reader.read(sb));
    assertEquals(0, sa.getOffset() % SharedArena.ALIGN);
    assertEquals(0, sb.getOffset() % SharedArena.ALIGN);
    assertTrue(sb.getOffset() >= sa.getOffset() + SharedArena.HEADER + a.length, "slots must not overlap");
  }

  @Test
  void free_thenReadOfTheOldSlot_refusedAsReused() throws Exception {
    SharedArena owner = SharedArena.create(dir.resolve("in"), 4 * MIB, true);
    SharedArena reader = SharedArena.open(dir.resolve("in"), false);
    Slot old = owner.write(filled(MIB, 1));
    owner.free(old);
    Slot reused = owner.write(filled(MIB, 2));
    assertEquals(old.getOffset(), reused.getOffset(), "the lowest free offset is taken again");
    ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> reader.read(old));
    assertTrue(e.getMessage().contains("was freed or reused before it was read"), e.getMessage());
    assertArrayEquals(filled(MIB, 2), reader.read(reused));
  }

  @Test
  void write_full_returnsNullAndFreeingMakesRoom() throws Exception {
    SharedArena owner = SharedArena.create(dir.resolve("in"), 3 * MIB, true);
    Slot a = owner.write(new byte[MIB]);
    Slot b = owner.write(new byte[MIB]);
    assertNotNull(a);
    assertNotNull(b);
    assertNull(owner.write(new byte[MIB]), "a third MiB and its headers do not fit in 3 MiB");
    assertNull(owner.write(new byte[4 * MIB]), "larger than the arena");
    owner.free(a);
    owner.free(b);
    Slot big = owner.write(new byte[2 * MIB]);
    assertNotNull(big, "freed neighbours are merged into one range");
    assertEquals(0, big.getOffset());
  }

  @Test
  void release_byReader_ownerTakesTheSlotBackAtItsNextWrite() throws Exception {
    SharedArena owner = SharedArena.create(dir.resolve("out"), 4 * MIB, false);
    SharedArena worker = SharedArena.open(dir.resolve("out"), true);
    Slot first = worker.write(filled(MIB, 1));
    assertEquals(1, worker.liveSlots());
    assertArrayEquals(filled(MIB, 1), owner.read(first));
    owner.release(first);
    owner.release(first);
    assertEquals(0, worker.liveSlots());
    Slot second = worker.write(filled(MIB, 2));
    assertEquals(first.getOffset(), second.getOffset());
    assertTrue(second.getGeneration() > first.getGeneration());
    // A stale release (of the first generation) leaves the new slot alone.
    owner.release(first);
    assertEquals(1, worker.liveSlots());
    assertArrayEquals(filled(MIB, 2), owner.read(second));
  }

  @Test
  void read_slotOutsideTheArenaOrLengthNotWritten_refused() throws Exception {
    SharedArena owner = SharedArena.create(dir.resolve("in"), MIB, true);
    SharedArena reader = SharedArena.open(dir.resolve("in"), false);
    Slot s = owner.write(new byte[1000]);
    for (Slot bad : new Slot[] {
        s.toBuilder().setOffset(MIB).build(),
        s.toBuilder().setOffset(-64).build(),
        s.toBuilder().setOffset(3).build(),
        s.toBuilder().setLength(MIB).build(),
        s.toBuilder().setLength(-1).build()}) {
      ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> reader.read(bad));
      assertTrue(e.getMessage().contains("lies outside arena"), e.getMessage());
    }
    ValueCodec.CodecException e =
        assertThrows(ValueCodec.CodecException.class, () -> reader.read(s.toBuilder().setLength(999).build()));
    assertTrue(e.getMessage().contains("holds 1000 bytes, but 999 were sent"), e.getMessage());
  }

  @Test
  void close_deletesTheFileAndLaterUseIsRefusedNotACrash() throws Exception {
    SharedArena owner = SharedArena.create(dir.resolve("in"), MIB, true);
    Slot s = owner.write(new byte[1000]);
    assertTrue(owner.retain(), "a reader in progress holds the mapping");
    owner.close();
    assertFalse(Files.exists(dir.resolve("in")));
    // Still mapped for the holder that retained it.
    assertEquals(1000, owner.read(s).length);
    owner.unretain();
    assertNull(owner.write(new byte[10]));
    ValueCodec.CodecException e = assertThrows(ValueCodec.CodecException.class, () -> owner.read(s));
    assertTrue(e.getMessage().contains("is closed"), e.getMessage());
    owner.free(s);
    assertFalse(owner.retain());
  }

  @Test
  void open_fileOfAnotherSize_refused() throws Exception {
    Path p = Files.write(dir.resolve("in"), new byte[100]);
    java.io.IOException e = assertThrows(java.io.IOException.class, () -> SharedArena.open(p, false));
    assertTrue(e.getMessage().contains("not an arena this pool made"), e.getMessage());
  }

  @Test
  void codec_largeArray_travelsInASlotAndLargerOnesAsFiles() throws Exception {
    SharedArena in = SharedArena.create(dir.resolve("in"), 8 * MIB, true);
    SharedArena mapped = SharedArena.open(dir.resolve("in"), false);
    ValueCodec parent = new ValueCodec(SerialFilters.filter(SerialFilters.DEFAULTS), dir, in, null);
    ValueCodec worker = new ValueCodec(SerialFilters.filter(SerialFilters.DEFAULTS), dir, null, mapped);
    byte[] big = filled(ValueCodec.BLOB_THRESHOLD, 5);
    Value v = parent.encode(big);
    assertEquals(Value.KindCase.SLOT, v.getKindCase());
    assertArrayEquals(big, (byte[]) worker.decode(v, getClass().getClassLoader()));
    // Below the threshold: inline.
    assertEquals(Value.KindCase.BYTES, parent.encode(new byte[ValueCodec.BLOB_THRESHOLD - 1]).getKindCase());
    // Does not fit what is left: a file.
    Value spill = parent.encode(new byte[8 * MIB]);
    assertEquals(Value.KindCase.BLOB, spill.getKindCase());
    assertEquals(8 * MIB, ((byte[]) worker.decode(spill, getClass().getClassLoader())).length);
    // Freed by its writer once the task is done; the reader then refuses it.
    parent.freeWritten(v);
    assertThrows(ValueCodec.CodecException.class, () -> worker.decode(v, getClass().getClassLoader()));
  }

  @Test
  void codec_slotWithoutAnArenaToReadFrom_failsNamingIt() throws Exception {
    SharedArena in = SharedArena.create(dir.resolve("in"), 2 * MIB, true);
    Value v = new ValueCodec(SerialFilters.filter(SerialFilters.DEFAULTS), null, in, null).encode(new byte[MIB]);
    ValueCodec plain = new ValueCodec(SerialFilters.filter(SerialFilters.DEFAULTS));
    ValueCodec.CodecException e =
        assertThrows(ValueCodec.CodecException.class, () -> plain.decode(v, getClass().getClassLoader()));
    assertEquals(
        "a slot of 1048576 bytes cannot be read on this side: it has no arena to read from", e.getMessage());
  }

  @Test
  void manyWritersAndFrees_concurrently_everyReadIsWhatWasWritten() throws Exception {
    SharedArena owner = SharedArena.create(dir.resolve("in"), 16 * MIB, true);
    SharedArena reader = SharedArena.open(dir.resolve("in"), false);
    Thread[] threads = new Thread[4];
    Throwable[] failure = new Throwable[1];
    for (int t = 0; t < threads.length; t++) {
      int seed = t;
      threads[t] = new Thread(() -> {
        try {
          for (int i = 0; i < 200; i++) {
            byte[] b = filled(256 * 1024 + i * 64, seed + i);
            Slot s = owner.write(b);
            if (s != null) {
              assertTrue(Arrays.equals(b, reader.read(s)));
              owner.free(s);
            }
          }
        } catch (Throwable e) {
          synchronized (failure) {
            failure[0] = e;
          }
        }
      });
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join(60_000);
      assertFalse(t.isAlive());
    }
    assertNull(failure[0]);
    assertEquals(0, owner.liveSlots());
    assertNotNull(owner.write(new byte[16 * MIB - SharedArena.HEADER]), "everything was merged back");
  }

  /** Blocks of 512 bytes the file holds in memory or on disk (not its size). */
  private static long allocatedBlocks(Path p) throws Exception {
    Process stat = new ProcessBuilder("stat", "--format=%b", p.toString()).redirectErrorStream(true).start();
    String out = new String(stat.getInputStream().readAllBytes()).trim();
    assertEquals(0, stat.waitFor(), out);
    return Long.parseLong(out);
  }

  @Test
  void trimIfIdle_noLiveSlotForTheIdleTime_givesPagesBackAndArenaStillWorks() throws Exception {
    SharedArena owner = SharedArena.create(dir.resolve("in"), 16 * MIB, true);
    SharedArena reader = SharedArena.open(dir.resolve("in"), false);
    assertTrue(allocatedBlocks(owner.path()) < 64, "a new arena is sparse");
    Slot s = owner.write(filled(8 * MIB, 1));
    assertTrue(allocatedBlocks(owner.path()) >= 8 * MIB / 512, "the written pages hold memory");
    long idle = 2_000_000_000L;
    assertFalse(owner.trimIfIdle(System.nanoTime() + idle, idle), "a live slot keeps the pages");
    owner.free(s);
    assertFalse(owner.trimIfIdle(System.nanoTime(), idle), "not idle long enough yet");
    assertTrue(owner.trimIfIdle(System.nanoTime() + idle, idle));
    assertTrue(allocatedBlocks(owner.path()) < 64, "the pages were given back");
    assertFalse(owner.trimIfIdle(System.nanoTime() + 2 * idle, idle), "nothing left to trim");
    ValueCodec.CodecException stale = assertThrows(ValueCodec.CodecException.class, () -> reader.read(s));
    assertTrue(stale.getMessage().contains("freed"), stale.getMessage());
    Slot again = owner.write(filled(MIB, 2));
    assertArrayEquals(filled(MIB, 2), reader.read(again));
  }

  @Test
  void trimIfIdle_outputArenaReleasedByReader_trimsOnTheOwnersSide() throws Exception {
    SharedArena parent = SharedArena.create(dir.resolve("out"), 8 * MIB, false);
    SharedArena worker = SharedArena.open(dir.resolve("out"), true);
    Slot s = worker.write(filled(4 * MIB, 3));
    assertArrayEquals(filled(4 * MIB, 3), parent.read(s));
    long idle = 1_000_000_000L;
    assertFalse(worker.trimIfIdle(System.nanoTime() + idle, idle), "not released yet");
    parent.release(s);
    assertFalse(worker.trimIfIdle(System.nanoTime(), idle), "the idle clock starts when it sees the release");
    assertTrue(worker.trimIfIdle(System.nanoTime() + idle, idle));
    assertTrue(allocatedBlocks(worker.path()) < 64);
    assertFalse(parent.trimIfIdle(System.nanoTime() + idle, idle), "only the owner trims");
  }
}
