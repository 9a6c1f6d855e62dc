package io.procpool.internal.supervisor;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.UserPrincipal;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * The private directory of a pool or a {@code WorkerProcess} in {@code java.io.tmpdir}: status files,
 * blobs of up to 2 GiB, captured output, the classpath argfile. It must not outlive its owner, however
 * the owner ends:
 *
 * <ul>
 *   <li>{@link #delete()} on close;
 *   <li>at JVM exit without close, by {@link ExitHook}, after it has killed the workers (which could
 *       otherwise still be writing into it);
 *   <li>after a SIGKILL (no hook runs), by the next pool or {@code WorkerProcess} started on the machine:
 *       each directory holds a marker naming its owner's pid and start time, and {@link #create} sweeps
 *       {@code procpool-*} directories of this user whose owner is gone. The start time guards against a
 *       recycled pid; a directory without a marker is left alone, since it may be one that is being
 *       created right now (the marker is moved in atomically) or belong to an older version.
 * </ul>
 *
 * <p>Deletion never follows symbolic links: a link inside the directory is removed, not its target.
 * This class is thread-safe.
 */
public final class PoolDirectory {
  /** The marker file: {@code pid=N} and {@code start=INSTANT} lines. */
  static final String MARKER = ".owner";
  /** Start times closer than this are the same process (they are read from /proc in clock ticks). */
  private static final Duration SAME_START = Duration.ofSeconds(1);

  private static final System.Logger LOG = System.getLogger("io.procpool.Pool");

  private final Path path;
  private final AtomicBoolean deleted = new AtomicBoolean();

  private PoolDirectory(Path path) {
    this.path = path;
  }

  /**
   * Creates a private ({@code rwx------}, or an owner-only ACL where there are no POSIX permissions) directory {@code prefix*} in {@code java.io.tmpdir}, marks it
   * as this process's, has it deleted at JVM exit, and removes stale ones that dead processes left.
   */
  public static PoolDirectory create(String prefix) throws IOException {
    return create(Path.of(System.getProperty("java.io.tmpdir")), prefix);
  }

  /** As {@link #create(String)}, in {@code parent} (such as {@code /dev/shm}) instead of the temp directory. */
  public static PoolDirectory create(Path parent, String prefix) throws IOException {
    PoolDirectory d = create(parent, prefix, Owner.current());
    ExitHook.register(d);
    try {
      int swept = sweepStale(parent, Files.getOwner(d.path), d.path);
      if (swept > 0) {
        LOG.log(System.Logger.Level.DEBUG, "removed {0} directories of dead procpool processes from {1}", swept, parent);
      }
    } catch (IOException | RuntimeException e) {
      // Best effort: a stale directory costs disk space, and the next start tries again.
    }
    return d;
  }

  /** Creates the directory under {@code parent} with {@code owner}'s marker (not registered for exit). */
  static PoolDirectory create(Path parent, String prefix, Owner owner) throws IOException {
    Path dir = PrivateDirectories.createTemp(parent, prefix);
    try {
      Path tmp = dir.resolve(MARKER + ".tmp");
      Files.writeString(tmp, owner.toMarker(), StandardCharsets.UTF_8);
      Files.move(tmp, dir.resolve(MARKER), StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      deleteRecursively(dir);
      throw e;
    }
    return new PoolDirectory(dir);
  }

  public Path path() {
    return path;
  }

  /** Deletes the directory and everything in it, links not followed; idempotent, best effort. */
  public void delete() {
    if (deleted.compareAndSet(false, true)) {
      ExitHook.unregister(this);
      deleteRecursively(path);
    }
  }

  /**
   * Deletes the directories {@code procpool-*} in {@code parent} that belong to {@code user} and whose
   * marker names a process that is gone, except {@code keep}. Returns how many it deleted.
   */
  static int sweepStale(Path parent, UserPrincipal user, Path keep) throws IOException {
    int swept = 0;
    try (DirectoryStream<Path> dirs = Files.newDirectoryStream(parent, "procpool-*")) {
      for (Path dir : dirs) {
        if (dir.equals(keep) || !isStale(dir, user)) {
          continue;
        }
        deleteRecursively(dir);
        swept++;
      }
    }
    return swept;
  }

  /** Whether {@code dir} is a real directory of {@code user} whose marker names a dead owner. */
  static boolean isStale(Path dir, UserPrincipal user) {
    try {
      BasicFileAttributes attrs = Files.readAttributes(dir, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
      if (!attrs.isDirectory() || !Files.getOwner(dir, LinkOption.NOFOLLOW_LINKS).equals(user)) {
        return false;
      }
      Path marker = dir.resolve(MARKER);
      if (!Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS)) {
        return false;
      }
      Optional<Owner> owner = Owner.parse(Files.readString(marker, StandardCharsets.UTF_8));
      return owner.isPresent() && owner.get().isGone();
    } catch (IOException | UnsupportedOperationException e) {
      return false;
    }
  }

  /** Deletes {@code root} and its contents; a symbolic link is deleted, never followed. */
  static void deleteRecursively(Path root) {
    try {
      Files.walkFileTree(
          root,
          new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
              deleteQuietly(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) {
              deleteQuietly(file);
              return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) {
              deleteQuietly(dir);
              return FileVisitResult.CONTINUE;
            }
          });
    } catch (NoSuchFileException e) {
      // Gone already.
    } catch (IOException e) {
      // Best effort; a directory left behind is swept by a later start once we are gone.
    }
  }

  private static void deleteQuietly(Path p) {
    try {
      Files.deleteIfExists(p);
    } catch (IOException e) {
      // Best effort, as above.
    }
  }

  @Override
  public String toString() {
    return "PoolDirectory[" + path + (deleted.get() ? ", deleted" : "") + "]";
  }

  /** The process that owns a directory: its pid and, where the platform says, its start time. */
  record Owner(long pid, Optional<Instant> start) {
    static Owner current() {
      ProcessHandle me = ProcessHandle.current();
      return new Owner(me.pid(), me.info().startInstant());
    }

    String toMarker() {
      return "pid=" + pid + "\nstart=" + start.map(Instant::toString).orElse("") + "\n";
    }

    static Optional<Owner> parse(String marker) {
      long pid = -1;
      Optional<Instant> start = Optional.empty();
      for (String line : marker.split("\n", -1)) {
        try {
          if (line.startsWith("pid=")) {
            pid = Long.parseLong(line.substring(4).trim());
          } else if (line.startsWith("start=") && !line.substring(6).isBlank()) {
            start = Optional.of(Instant.parse(line.substring(6).trim()));
          }
        } catch (RuntimeException e) {
          return Optional.empty();
        }
      }
      return pid > 0 ? Optional.of(new Owner(pid, start)) : Optional.empty();
    }

    /**
     * Whether this process has ended: no live process has its pid, or the one that has it started at
     * another time (the pid was reused). Unknown start times count as the same process.
     */
    boolean isGone() {
      Optional<ProcessHandle> p = ProcessHandle.of(pid);
      if (p.isEmpty() || !p.get().isAlive()) {
        return true;
      }
      Optional<Instant> actual = p.get().info().startInstant();
      if (start.isEmpty() || actual.isEmpty()) {
        return false;
      }
      return Duration.between(start.get(), actual.get()).abs().compareTo(SAME_START) > 0;
    }
  }
}
