package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.WorkerProcess;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The archive cache with a fake trainer (no JVM is trained) in a {@code @TempDir}. */
class ArchiveCacheTest {
  static final String KEY = "workers-0123456789abcdef01234567";
  static final Instant NOW = Instant.parse("2026-06-01T12:00:00Z");

  @TempDir Path tmp;
  Path dir;
  UserPrincipal me;
  final AtomicInteger builds = new AtomicInteger();
  final List<Path> builtInto = Collections.synchronizedList(new ArrayList<>());

  /** Writes a fake archive, as -Xshare:dump would. */
  final ArchiveCache.Trainer trainer =
      file -> {
        builds.incrementAndGet();
        builtInto.add(file);
        assertTrue(Files.exists(file), "the temporary file exists before the dump: it was created exclusively");
        Files.writeString(file, "archive #" + builds.get());
      };

  @BeforeEach
  void setUp() throws IOException {
    dir = tmp.resolve("cds");
    me = Files.getOwner(tmp);
  }

  private ArchiveCache cache(Instant now) {
    return new ArchiveCache(dir, me, Clock.fixed(now, ZoneOffset.UTC), Duration.ofSeconds(30));
  }

  @Test
  void archive_missingDirectory_createdPrivateAndArchiveBuiltWithChecksum() throws Exception {
    Optional<Path> a = cache(NOW).archive(KEY, trainer, "test");
    assertEquals(Optional.of(dir.resolve(KEY + ".jsa")), a);
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
    List<String> sum = Files.readAllLines(dir.resolve(KEY + ".jsa.sha256"));
    assertEquals(ArchiveCache.sha256(a.get()), sum.get(0));
    assertEquals(Files.size(a.get()) + ":" + Files.getLastModifiedTime(a.get()).toMillis(), sum.get(1));
    assertEquals(1, builds.get());
  }

  @Test
  void verified_sizeAndTimeAsBuilt_trustedWithoutHashing() throws Exception {
    Path a = cache(NOW).archive(KEY, trainer, "test").orElseThrow();
    Path sum = dir.resolve(KEY + ".jsa.sha256");
    List<String> lines = Files.readAllLines(sum);
    // A wrong hash with the right stamp: only a check that skips hashing accepts it.
    Files.write(sum, List.of("0".repeat(64), lines.get(1)));
    ArchiveCache.forgetVerified();

    assertTrue(cache(NOW).verified(a));
  }

  @Test
  void verified_timeChangedSinceBuilt_hashedAndRefusedOnMismatch() throws Exception {
    Path a = cache(NOW).archive(KEY, trainer, "test").orElseThrow();
    Path sum = dir.resolve(KEY + ".jsa.sha256");
    List<String> lines = Files.readAllLines(sum);
    Files.write(sum, List.of("0".repeat(64), lines.get(1)));
    Files.setLastModifiedTime(a, FileTime.from(NOW.plusSeconds(5)));
    ArchiveCache.forgetVerified();

    assertFalse(cache(NOW).verified(a));
  }

  @Test
  void archive_builtBefore_usedWithoutRebuilding() throws Exception {
    cache(NOW).archive(KEY, trainer, "test");
    assertEquals(Optional.of(dir.resolve(KEY + ".jsa")), cache(NOW).archive(KEY, trainer, "test"));
    assertEquals(1, builds.get());
  }

  @Test
  void archive_corruptedAfterBuild_rebuiltInsteadOfUsed() throws Exception {
    Path a = cache(NOW).archive(KEY, trainer, "test").orElseThrow();
    Files.writeString(a, "tampered!!");
    Files.setLastModifiedTime(a, FileTime.from(NOW.plusSeconds(5)));
    assertEquals(Optional.of(a), cache(NOW).archive(KEY, trainer, "test"));
    assertEquals(2, builds.get());
    assertEquals("archive #2", Files.readString(a));
  }

  @Test
  void archive_plantedWithoutChecksum_rebuiltInsteadOfUsed() throws Exception {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Files.writeString(dir.resolve(KEY + ".jsa"), "planted");
    Path a = cache(NOW).archive(KEY, trainer, "test").orElseThrow();
    assertEquals(1, builds.get());
    assertEquals("archive #1", Files.readString(a));
  }

  @Test
  void archive_directoryWritableByOthers_refusedAndNothingBuiltOrUsed() throws Exception {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    ArchiveCache cache = cache(NOW);
    assertTrue(cache.refusal().startsWith("it is writable by other users (rwxrwxrwx)"), cache.refusal());
    assertEquals(Optional.empty(), cache.archive(KEY, trainer, "test"));
    assertEquals(0, builds.get());
  }

  @Test
  void archive_directoryOfAnotherUser_refused() throws Exception {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    UserPrincipal other = () -> "mallory";
    ArchiveCache cache = new ArchiveCache(dir, other, Clock.systemUTC(), Duration.ofSeconds(1));
    assertEquals("it belongs to " + me.getName() + ", not to mallory", cache.refusal());
    assertEquals(Optional.empty(), cache.archive(KEY, trainer, "test"));
    assertEquals(0, builds.get());
  }

  @Test
  void archive_temporaryFile_randomNameInTheCacheDirectory() throws Exception {
    cache(NOW).archive(KEY, trainer, "test");
    Files.delete(dir.resolve(KEY + ".jsa"));
    cache(NOW).archive(KEY, trainer, "test");
    assertEquals(2, builtInto.size());
    for (Path p : builtInto) {
      assertEquals(dir, p.getParent());
      assertTrue(p.getFileName().toString().startsWith(KEY + "-"), p.toString());
      assertFalse(p.getFileName().toString().contains(Long.toString(ProcessHandle.current().pid())), p.toString());
      assertFalse(Files.exists(p), "the temporary file is gone: " + p);
    }
    assertNotEquals(builtInto.get(0), builtInto.get(1));
  }

  @Test
  void archive_trainingTimedOutOnce_retriedAfterAnHourNotForeverDisabled() throws Exception {
    ArchiveCache.Trainer timesOut =
        file -> {
          builds.incrementAndGet();
          throw new IOException("the training run timed out after 120 s");
        };
    assertEquals(Optional.empty(), cache(NOW).archive(KEY, timesOut, "test"));
    assertEquals(Optional.empty(), cache(NOW.plus(Duration.ofMinutes(59))).archive(KEY, timesOut, "test"));
    assertEquals(1, builds.get(), "not retried within the hour");
    assertTrue(Files.readString(dir.resolve(KEY + ".failed")).startsWith("attempts=1\n"));
    Optional<Path> a = cache(NOW.plus(Duration.ofMinutes(61))).archive(KEY, trainer, "test");
    assertTrue(a.isPresent());
    assertFalse(Files.exists(dir.resolve(KEY + ".failed")), "a success forgets the failures");
  }

  @Test
  void archive_failedTwice_waitsTwoHours() throws Exception {
    ArchiveCache.Trainer fails =
        file -> {
          builds.incrementAndGet();
          throw new IOException("the dump exited with code 1");
        };
    cache(NOW).archive(KEY, fails, "test");
    cache(NOW.plus(Duration.ofMinutes(61))).archive(KEY, fails, "test");
    assertEquals(2, builds.get());
    assertTrue(Files.readString(dir.resolve(KEY + ".failed"), StandardCharsets.UTF_8).startsWith("attempts=2\n"));
    // The marker's time is the second failure's: a second attempt is remembered for two hours from it.
    cache(NOW.plus(Duration.ofHours(3))).archive(KEY, fails, "test");
    assertEquals(2, builds.get());
    cache(NOW.plus(Duration.ofMinutes(61 + 121))).archive(KEY, fails, "test");
    assertEquals(3, builds.get());
  }

  @Test
  void backoff_doublesPerAttemptUpToADay() {
    assertEquals(Duration.ofHours(1), ArchiveCache.backoff(1));
    assertEquals(Duration.ofHours(2), ArchiveCache.backoff(2));
    assertEquals(Duration.ofHours(16), ArchiveCache.backoff(5));
    assertEquals(Duration.ofDays(1), ArchiveCache.backoff(6));
    assertEquals(Duration.ofDays(1), ArchiveCache.backoff(1_000));
  }

  @Test
  void archive_twoStartsAtOnce_buildOnceAndBothUseIt() throws Exception {
    CountDownLatch building = new CountDownLatch(1);
    CountDownLatch finish = new CountDownLatch(1);
    ArchiveCache.Trainer slow =
        file -> {
          building.countDown();
          finish.await();
          trainer.build(file);
        };
    ExecutorService two = Executors.newFixedThreadPool(2);
    try {
      Future<Optional<Path>> first = two.submit(() -> cache(NOW).archive(KEY, slow, "first"));
      assertTrue(building.await(30, TimeUnit.SECONDS));
      Future<Optional<Path>> second = two.submit(() -> cache(NOW).archive(KEY, slow, "second"));
      finish.countDown();
      assertEquals(Optional.of(dir.resolve(KEY + ".jsa")), first.get(30, TimeUnit.SECONDS));
      assertEquals(Optional.of(dir.resolve(KEY + ".jsa")), second.get(30, TimeUnit.SECONDS));
      assertEquals(1, builds.get());
    } finally {
      finish.countDown();
      two.shutdownNow();
    }
  }

  /** Holds an exclusive lock on {@code args[0]}, creates {@code args[1]}, and waits to be killed. */
  static void holdLock(String[] args) throws Exception {
    try (FileChannel c = FileChannel.open(Path.of(args[0]), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      c.lock();
      Files.createFile(Path.of(args[1]));
      Thread.sleep(Long.MAX_VALUE); // The task's own work: hold the lock until killed.
    }
  }

  @Test
  void archive_anotherProcessBuilding_waitsBoundedThenGoesWithout() throws Exception {
    Files.createDirectories(dir);
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
    Path held = tmp.resolve("held");
    WorkerProcess other =
        WorkerProcess.start(
            ArchiveCacheTest::holdLock, new String[] {dir.resolve(KEY + ".lock").toString(), held.toString()});
    try {
      io.procpool.Conditions.await("the other process to hold the lock", Duration.ofSeconds(30), () -> Files.exists(held));
      ArchiveCache cache = new ArchiveCache(dir, me, Clock.systemUTC(), Duration.ofMillis(300));
      long start = System.nanoTime();
      assertEquals(Optional.empty(), cache.archive(KEY, trainer, "test"));
      long waitedMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
      assertEquals(0, builds.get());
      assertTrue(waitedMillis >= 250 && waitedMillis < 10_000, "waited " + waitedMillis + " ms");
    } finally {
      other.kill();
      other.join();
    }
  }
}
