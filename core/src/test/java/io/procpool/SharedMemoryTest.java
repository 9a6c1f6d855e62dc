package io.procpool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/** Large arrays through the shared-memory arenas in /dev/shm, with real workers. */
@EnabledOnOs(OS.LINUX)
class SharedMemoryTest {
  private static final int MIB = 1 << 20;
  private static final Path SHM = Path.of("/dev/shm");

  static byte[] pattern(int seed) {
    byte[] b = new byte[MIB];
    for (int i = 0; i < b.length; i++) {
      b[i] = (byte) (i * 7 + seed);
    }
    return b;
  }

  static Object same(Object x) {
    return x;
  }

  static byte[] reversed(byte[] in) {
    byte[] out = new byte[in.length];
    for (int i = 0; i < in.length; i++) {
      out[i] = in[in.length - 1 - i];
    }
    return out;
  }

  static byte[] resultThenHalt(int seed) {
    new Thread(() -> {
      try {
        Thread.sleep(200);
      } catch (InterruptedException e) {
        // Halt anyway.
      }
      Runtime.getRuntime().halt(43);
    }).start();
    return pattern(seed);
  }

  /** This JVM's arena directories in /dev/shm (each holds the marker naming its owner's pid). */
  static Set<Path> ownArenaDirectories() throws IOException {
    Set<Path> own = new TreeSet<>();
    try (Stream<Path> dirs = Files.list(SHM)) {
      for (Path d : (Iterable<Path>) dirs::iterator) {
        Path marker = d.resolve(".owner");
        if (d.getFileName().toString().startsWith("procpool-") && Files.isRegularFile(marker)
            && Files.readString(marker, StandardCharsets.UTF_8).contains("pid=" + ProcessHandle.current().pid() + "\n")) {
          own.add(d);
        }
      }
    }
    return own;
  }

  static List<String> names(Path dir) throws IOException {
    List<String> names = new ArrayList<>();
    try (Stream<Path> files = Files.list(dir)) {
      files.forEach(f -> names.add(f.getFileName().toString()));
    }
    names.sort(null);
    return names;
  }

  static void await(BooleanSupplier condition, Duration within, String what) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new AssertionError("not within " + within + ": " + what);
      }
      Thread.sleep(20);
    }
  }

  @Test
  void map_megabyteInputsAndResults_travelThroughArenasAndNothingIsLeftAfterClose() throws Exception {
    Set<Path> before = ownArenaDirectories();
    List<byte[]> inputs = new ArrayList<>();
    for (int i = 0; i < 40; i++) {
      inputs.add(pattern(i));
    }
    Path arenaDir;
    try (Pool pool = Pool.builder().workers(2).build()) {
      Set<Path> during = ownArenaDirectories();
      during.removeAll(before);
      assertEquals(1, during.size(), "one arena directory for the pool: " + during);
      arenaDir = during.iterator().next();
      List<String> files = names(arenaDir);
      assertTrue(files.contains("in"), files.toString());
      assertEquals(2, files.stream().filter(n -> n.startsWith("out-")).count(), "one output arena per worker: " + files);

      for (int round = 0; round < 3; round++) {
        List<byte[]> out = pool.map(SharedMemoryTest::reversed, inputs);
        for (int i = 0; i < inputs.size(); i++) {
          assertArrayEquals(reversed(inputs.get(i)), out.get(i), "round " + round + ", result " + i);
        }
      }
    }
    assertTrue(Files.notExists(arenaDir), arenaDir + " must go with close()");
    assertEquals(before, ownArenaDirectories());
  }

  @Test
  void submit_workerDiesAfterSendingLargeResult_resultArrivesAndItsArenaFileGoes() throws Exception {
    Set<Path> before = ownArenaDirectories();
    try (Pool pool = Pool.builder().workers(1).build()) {
      Set<Path> during = ownArenaDirectories();
      during.removeAll(before);
      Path arenaDir = during.iterator().next();
      List<String> first = names(arenaDir);

      // The result was sent before the worker halted; it is read from the dead worker's arena.
      assertArrayEquals(pattern(5), pool.submit(SharedMemoryTest::resultThenHalt, 5).get());
      await(() -> {
        try {
          List<String> now = names(arenaDir);
          return now.stream().filter(n -> n.startsWith("out-")).count() == 1 && !now.equals(first);
        } catch (IOException e) {
          return false;
        }
      }, Duration.ofSeconds(30), "the dead worker's output arena replaced by its successor's");
      assertArrayEquals(reversed(pattern(6)), pool.submit(SharedMemoryTest::reversed, pattern(6)).get());
    }
  }

  @Test
  void submit_inputsOverTheSlotLimitAndTheArena_stillTravelAsFiles() throws Exception {
    try (Pool pool = Pool.builder().workers(1).build()) {
      byte[] big = new byte[80 * MIB];
      big[big.length - 1] = 4;
      byte[] back = pool.submit((byte[] b) -> b, big).get();
      assertEquals(big.length, back.length);
      assertEquals(4, back[back.length - 1]);
    }
  }

  @Test
  void builder_sharedMemoryOff_largeArraysStillRoundTrip() throws Exception {
    String was = System.getProperty("procpool.sharedMemory");
    System.setProperty("procpool.sharedMemory", "off");
    Set<Path> before = ownArenaDirectories();
    try (Pool pool = Pool.builder().workers(1).build()) {
      assertEquals(before, ownArenaDirectories(), "no arena directory when shared memory is off");
      assertArrayEquals(reversed(pattern(3)), pool.submit(SharedMemoryTest::reversed, pattern(3)).get());
    } finally {
      if (was == null) {
        System.clearProperty("procpool.sharedMemory");
      } else {
        System.setProperty("procpool.sharedMemory", was);
      }
    }
  }

  /** Bytes the file holds in memory (not its size): a leaked slot keeps its pages. */
  static long allocatedBytes(Path p) throws Exception {
    Process stat = new ProcessBuilder("stat", "--format=%b", p.toString()).redirectErrorStream(true).start();
    String out = new String(stat.getInputStream().readAllBytes()).trim();
    assertEquals(0, stat.waitFor(), out);
    return Long.parseLong(out) * 512;
  }

  @Test
  void map_inputFailsToEncodeAfterALargeOne_theLargeOnesSlotIsGivenBack() throws Exception {
    Set<Path> before = ownArenaDirectories();
    try (Pool pool = Pool.builder().workers(1).build()) {
      Set<Path> during = ownArenaDirectories();
      during.removeAll(before);
      Path in = during.iterator().next().resolve("in");
      // Once the function is measured as fast, a map of two inputs goes as one chunk of two.
      List<Object> small = new ArrayList<>();
      for (int i = 0; i < 2_000; i++) {
        small.add(i);
      }
      assertEquals(small, pool.map(SharedMemoryTest::same, small));
      for (int i = 0; i < 40; i++) {
        // Chunks of two: the second one is a large array and an input that cannot be encoded.
        List<Object> inputs = List.of(pattern(i), pattern(i), pattern(i), new Object(),
            pattern(i), pattern(i), pattern(i), pattern(i));
        java.util.concurrent.ExecutionException e =
            assertThrows(java.util.concurrent.ExecutionException.class, () -> pool.map(SharedMemoryTest::same, inputs));
        assertTrue(e.getCause() instanceof TaskCodecException, String.valueOf(e.getCause()));
      }
      // Each refused map's 1 MiB slot was freed and the next one reused it; 40 leaked ones would hold 40 MiB.
      assertTrue(allocatedBytes(in) < 8 * MIB, in + " holds " + allocatedBytes(in) + " bytes");
      assertArrayEquals(reversed(pattern(1)), pool.submit(SharedMemoryTest::reversed, pattern(1)).get());
    }
  }
}
