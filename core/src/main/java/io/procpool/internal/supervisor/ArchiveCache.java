package io.procpool.internal.supervisor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * The on-disk cache of class-data-sharing archives ({@link ClassDataSharing}): one archive per key, built
 * at most once at a time across every JVM of the user, and used only after it has been verified.
 *
 * <p>A worker JVM maps an archive into its memory and trusts what it finds there, so the cache is careful
 * about what it hands out:
 *
 * <ol>
 *   <li>The directory must belong to this user and be writable by nobody else (else another user could
 *       plant or swap an archive). A directory that fails this is refused: workers run without an
 *       archive, and the reason is logged once per directory and JVM. A missing directory is created
 *       {@code rwx------}.
 *   <li>Each archive {@code KEY.jsa} has its SHA-256 in {@code KEY.jsa.sha256}, written before the archive
 *       is moved into place; an archive is used only if it matches (a truncated, corrupt or foreign file
 *       is rebuilt). The checksum file also records the archive's size and modification time as it was
 *       moved into place; while they still match, the archive is used without being hashed again (hashing
 *       33 MiB cost the first pool of every JVM 100-200 ms of CPU and a C2 compilation, at the moment its
 *       workers start). A changed size or time, as any rewrite leaves, means hashing it; an archive that
 *       then verifies is remembered by size and time for the rest of this JVM.
 *   <li>An archive is built into a temporary file created exclusively, with a random name, in the cache
 *       directory, then moved into place atomically.
 *   <li>A failed build leaves {@code KEY.failed} (attempt count and reason), so a machine that cannot
 *       build does not pay for a training run at every start; it expires after an hour, doubling with
 *       each failed attempt up to a day, so one timeout on a busy machine does not disable the cache for
 *       good.
 *   <li>Builds hold an exclusive {@link FileChannel#lock() file lock} on {@code KEY.lock} (and, since file
 *       locks are per JVM, an in-JVM lock too): when several JVMs start together, one builds and the others
 *       wait up to a bounded time, then use its archive or start without one.
 * </ol>
 *
 * <p>This class is thread-safe.
 */
final class ArchiveCache {
  /** Builds an archive into the given (existing, empty) file; throws with a reason when it cannot. */
  interface Trainer {
    void build(Path archive) throws IOException, InterruptedException;
  }

  private static final System.Logger LOG = System.getLogger("io.procpool.Pool");
  /** Archives kept in the directory. */
  static final int KEEP = 4;
  /** How long a failure is remembered after the first failed attempt; doubles with each further one. */
  static final Duration FIRST_BACKOFF = Duration.ofHours(1);
  /** The longest a failure is remembered. */
  static final Duration MAX_BACKOFF = Duration.ofDays(1);

  /** Directories whose refusal has been logged in this JVM. */
  private static final Set<Path> REFUSAL_LOGGED = ConcurrentHashMap.newKeySet();
  /** File locks are held per JVM, not per thread: this orders the threads of one JVM. */
  private static final ConcurrentHashMap<Path, ReentrantLock> JVM_LOCKS = new ConcurrentHashMap<>();
  /** Archives verified in this JVM: path to "size:modified". */
  private static final ConcurrentHashMap<Path, String> VERIFIED = new ConcurrentHashMap<>();

  private final Path dir;
  private final UserPrincipal owner;
  private final Clock clock;
  private final Duration lockWait;

  /**
   * @param dir the cache directory
   * @param owner the user the directory must belong to (this JVM's user)
   * @param clock for the expiry of failure markers
   * @param lockWait how long to wait for another JVM's build before going without
   */
  ArchiveCache(Path dir, UserPrincipal owner, Clock clock, Duration lockWait) {
    this.dir = dir;
    this.owner = owner;
    this.clock = clock;
    this.lockWait = lockWait;
  }

  Path dir() {
    return dir;
  }

  /**
   * The verified archive for {@code key} if there is one now; never builds. Empty also when the directory
   * is refused (logged once per directory and JVM).
   */
  Optional<Path> ready(String key, String pool) throws IOException {
    if (refused(pool)) {
      return Optional.empty();
    }
    Path archive = dir.resolve(key + ".jsa");
    return verified(archive) ? Optional.of(archive) : Optional.empty();
  }

  private boolean refused(String pool) throws IOException {
    String refusal = refusal();
    if (refusal != null && REFUSAL_LOGGED.add(dir.toAbsolutePath())) {
      LOG.log(
          System.Logger.Level.WARNING,
          "{0}: not using the class-data-sharing cache {1}: {2}; workers start without an archive",
          pool, dir, refusal);
    }
    return refusal != null;
  }

  /**
   * The verified archive for {@code key}, built with {@code trainer} if there is none; empty when there is
   * none to be had (refused directory, recent failure, another JVM still building).
   */
  Optional<Path> archive(String key, Trainer trainer, String pool) throws IOException {
    if (refused(pool)) {
      return Optional.empty();
    }
    Path archive = dir.resolve(key + ".jsa");
    if (verified(archive)) {
      return Optional.of(archive);
    }
    if (failedRecently(key)) {
      return Optional.empty();
    }
    Path lockFile = dir.resolve(key + ".lock");
    ReentrantLock jvmLock = JVM_LOCKS.computeIfAbsent(lockFile, k -> new ReentrantLock());
    long deadline = System.nanoTime() + lockWait.toNanos();
    try {
      if (!jvmLock.tryLock(lockWait.toNanos(), TimeUnit.NANOSECONDS)) {
        return loser(archive, pool);
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    }
    try (FileChannel channel =
        FileChannel.open(
            lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
      FileLock lock = lockBy(channel, deadline);
      if (lock == null) {
        return loser(archive, pool);
      }
      try {
        // Whoever held the lock before us may have built it, or failed.
        if (verified(archive)) {
          return Optional.of(archive);
        }
        if (failedRecently(key)) {
          return Optional.empty();
        }
        return build(key, archive, trainer, pool);
      } finally {
        lock.release();
      }
    } finally {
      jvmLock.unlock();
    }
  }

  /** Why the directory must not be used, or null if it may; creates it when missing. */
  String refusal() throws IOException {
    if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
      PrivateDirectories.createAll(dir);
    }
    if (!Files.isDirectory(dir)) {
      return "it is not a directory";
    }
    UserPrincipal actual = Files.getOwner(dir);
    if (!actual.equals(owner)) {
      return "it belongs to " + actual.getName() + ", not to " + owner.getName();
    }
    PosixFileAttributeView view = Files.getFileAttributeView(dir, PosixFileAttributeView.class);
    if (view != null) {
      PosixFileAttributes attrs = view.readAttributes();
      Set<PosixFilePermission> perms = attrs.permissions();
      if (perms.contains(PosixFilePermission.GROUP_WRITE) || perms.contains(PosixFilePermission.OTHERS_WRITE)) {
        return "it is writable by other users (" + PosixFilePermissions.toString(perms)
            + "); make it rwx------ or point -Dprocpool.cds.dir elsewhere";
      }
    }
    return null;
  }

  /** Whether {@code archive} exists and matches the SHA-256 stored beside it. */
  boolean verified(Path archive) throws IOException {
    if (!Files.isRegularFile(archive, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    String stamp = stamp(archive);
    if (stamp.equals(VERIFIED.get(archive))) {
      return true;
    }
    Path sum = checksumFile(archive);
    if (!Files.isRegularFile(sum, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    List<String> lines = Files.readAllLines(sum, StandardCharsets.US_ASCII);
    if (lines.isEmpty()) {
      return false;
    }
    boolean unchangedSinceBuilt = lines.size() > 1 && lines.get(1).trim().equals(stamp);
    if (!unchangedSinceBuilt && !lines.get(0).trim().equals(sha256(archive))) {
      return false;
    }
    VERIFIED.put(archive, stamp);
    return true;
  }

  /** Whether a build of {@code key} failed recently enough not to be tried again yet. */
  boolean failedRecently(String key) throws IOException {
    Path marker = dir.resolve(key + ".failed");
    if (!Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS)) {
      return false;
    }
    Instant failedAt = Files.getLastModifiedTime(marker).toInstant();
    return clock.instant().isBefore(failedAt.plus(backoff(attempts(marker))));
  }

  /** How long a failure is remembered after {@code attempts} failed attempts. */
  static Duration backoff(int attempts) {
    int doublings = Math.min(Math.max(attempts, 1) - 1, 10);
    Duration d = FIRST_BACKOFF.multipliedBy(1L << doublings);
    return d.compareTo(MAX_BACKOFF) > 0 ? MAX_BACKOFF : d;
  }

  private static int attempts(Path marker) {
    try {
      String first = Files.readString(marker, StandardCharsets.UTF_8).lines().findFirst().orElse("");
      return Integer.parseInt(first.replaceAll("^attempts=", "").trim());
    } catch (IOException | NumberFormatException e) {
      return 1;
    }
  }

  /** Waits for the lock until {@code deadline}; null if another JVM still holds it then. */
  private static FileLock lockBy(FileChannel channel, long deadline) throws IOException {
    while (true) {
      FileLock lock = channel.tryLock();
      if (lock != null) {
        return lock;
      }
      if (System.nanoTime() - deadline > 0) {
        return null;
      }
      // Polled rather than lock(), which cannot time out; the build it waits for takes seconds.
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(50));
      if (Thread.currentThread().isInterrupted()) {
        return null;
      }
    }
  }

  private Optional<Path> loser(Path archive, String pool) throws IOException {
    if (verified(archive)) {
      return Optional.of(archive);
    }
    LOG.log(
        System.Logger.Level.DEBUG,
        "{0}: another process is still building {1} after {2,number,#} ms; workers start without it",
        pool, archive, lockWait.toMillis());
    return Optional.empty();
  }

  /** Builds, verifies and installs the archive; the caller holds the key's lock. */
  private Optional<Path> build(String key, Path archive, Trainer trainer, String pool) throws IOException {
    long start = System.nanoTime();
    // Whatever is there did not verify: it goes.
    Files.deleteIfExists(archive);
    Files.deleteIfExists(checksumFile(archive));
    VERIFIED.remove(archive);
    // Exclusive, with a random name: nothing can be there before us, and nobody can guess it.
    Path tmp = Files.createTempFile(dir, key + "-", ".jsa.tmp");
    String reason;
    try {
      trainer.build(tmp);
      if (Files.size(tmp) == 0) {
        throw new IOException("the dump wrote no archive");
      }
      String sum = sha256(tmp) + "\n" + stamp(tmp);
      // The checksum goes first: an archive in place without its checksum would be deleted as foreign.
      Path sumTmp = Files.createTempFile(dir, key + "-", ".sha256.tmp");
      try {
        Files.writeString(sumTmp, sum + "\n", StandardCharsets.US_ASCII);
        Files.move(sumTmp, checksumFile(archive), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(sumTmp);
      }
      Files.move(tmp, archive, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      Files.deleteIfExists(dir.resolve(key + ".failed"));
      prune(archive);
      LOG.log(
          System.Logger.Level.INFO,
          "{0}: built a class-data-sharing archive for worker JVMs in {1,number,#} ms: {2}",
          pool, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start), archive);
      return verified(archive) ? Optional.of(archive) : Optional.empty();
    } catch (IOException e) {
      reason = e.getMessage() != null ? e.getMessage() : e.toString();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } finally {
      Files.deleteIfExists(tmp);
    }
    recordFailure(key, reason);
    LOG.log(System.Logger.Level.DEBUG, "{0}: no class-data-sharing archive for workers: {1}", pool, reason);
    return Optional.empty();
  }

  private void recordFailure(String key, String reason) {
    Path marker = dir.resolve(key + ".failed");
    int attempts = Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS) ? attempts(marker) + 1 : 1;
    try {
      Path tmp = Files.createTempFile(dir, key + "-", ".failed.tmp");
      try {
        Files.writeString(tmp, "attempts=" + attempts + "\n" + reason + "\n", StandardCharsets.UTF_8);
        Files.setLastModifiedTime(tmp, FileTime.from(clock.instant()));
        Files.move(tmp, marker, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
      } finally {
        Files.deleteIfExists(tmp);
      }
    } catch (IOException e) {
      // Then the next start tries again.
    }
  }

  /**
   * Keeps the cache from growing without bound: every rebuild of an application's jars makes a new key,
   * and an archive is tens of MiB. Keeps the {@link #KEEP} most recently modified archives, with their
   * checksum and lock files, and removes temporary files a killed build left behind a day ago or more.
   */
  private void prune(Path keep) {
    try (Stream<Path> files = Files.list(dir)) {
      List<Path> all = files.collect(Collectors.toList());
      List<Path> archives = new ArrayList<>();
      Instant dayAgo = clock.instant().minus(Duration.ofDays(1));
      for (Path p : all) {
        String n = p.getFileName().toString();
        if (n.endsWith(".jsa") && !p.equals(keep)) {
          archives.add(p);
        } else if (n.endsWith(".tmp") && modified(p).isBefore(dayAgo)) {
          Files.deleteIfExists(p);
        }
      }
      archives.sort(Comparator.comparing(ArchiveCache::modified).reversed());
      for (Path old : archives.subList(Math.min(archives.size(), KEEP - 1), archives.size())) {
        String base = old.getFileName().toString();
        Files.deleteIfExists(old);
        Files.deleteIfExists(checksumFile(old));
        Files.deleteIfExists(old.resolveSibling(base.substring(0, base.length() - 4) + ".lock"));
        VERIFIED.remove(old);
      }
    } catch (IOException | RuntimeException e) {
      // An old archive left behind costs disk space only.
    }
  }

  private static Instant modified(Path p) {
    try {
      return Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS).toInstant();
    } catch (IOException e) {
      return Instant.EPOCH;
    }
  }

  /** Forgets which archives this JVM has verified (for tests). */
  static void forgetVerified() {
    VERIFIED.clear();
  }

  /** Size and modification time: what any rewrite of the file changes. */
  private static String stamp(Path file) throws IOException {
    return Files.size(file) + ":" + Files.getLastModifiedTime(file, LinkOption.NOFOLLOW_LINKS).toMillis();
  }

  static Path checksumFile(Path archive) {
    return archive.resolveSibling(archive.getFileName() + ".sha256");
  }

  static String sha256(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      byte[] buf = new byte[1 << 16];
      int n;
      while ((n = in.read(buf)) > 0) {
        md.update(buf, 0, n);
      }
      return HexFormat.of().formatHex(md.digest());
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("Every JDK has SHA-256", e);
    }
  }
}
