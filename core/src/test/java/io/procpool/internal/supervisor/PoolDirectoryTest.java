package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.internal.supervisor.PoolDirectory.Owner;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.time.Instant;
import java.util.Optional;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Pool directories in a {@code @TempDir} standing in for {@code java.io.tmpdir}; owners are fakes. */
class PoolDirectoryTest {
  /** Above any Linux pid_max (at most 2^22): no process has it. */
  static final long DEAD_PID = Integer.MAX_VALUE;

  @TempDir Path tmpdir;
  UserPrincipal me;

  @BeforeEach
  void setUp() throws Exception {
    me = Files.getOwner(tmpdir);
  }

  private static Owner dead() {
    return new Owner(DEAD_PID, Optional.of(Instant.parse("2026-01-01T00:00:00Z")));
  }

  @Test
  void create_privateDirectoryWithOwnerMarker() throws Exception {
    PoolDirectory d = PoolDirectory.create(tmpdir, "procpool-", Owner.current());
    assertTrue(d.path().getFileName().toString().startsWith("procpool-"));
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(d.path())));
    String marker = Files.readString(d.path().resolve(PoolDirectory.MARKER));
    assertEquals(Optional.of(Owner.current()), Owner.parse(marker));
    assertTrue(marker.startsWith("pid=" + ProcessHandle.current().pid() + "\n"), marker);
    d.delete();
  }

  @Test
  void delete_nestedFilesAndLinks_removesAllWithoutFollowingLinks() throws Exception {
    Path outside = Files.createDirectories(tmpdir.resolve("outside"));
    Path precious = Files.writeString(outside.resolve("precious.txt"), "keep me");
    PoolDirectory d = PoolDirectory.create(tmpdir, "procpool-", Owner.current());
    Files.writeString(Files.createDirectories(d.path().resolve("a/b")).resolve("blob"), "x");
    Files.createSymbolicLink(d.path().resolve("link-to-dir"), outside);
    Files.createSymbolicLink(d.path().resolve("link-to-file"), precious);
    d.delete();
    assertFalse(Files.exists(d.path()), d.path() + " still exists");
    assertEquals("keep me", Files.readString(precious));
    d.delete(); // Idempotent.
  }

  @Test
  void sweepStale_ownerDead_directoryRemoved() throws Exception {
    PoolDirectory stale = PoolDirectory.create(tmpdir, "procpool-", dead());
    Files.writeString(stale.path().resolve("worker-1.status"), "left over");
    assertEquals(1, PoolDirectory.sweepStale(tmpdir, me, null));
    assertFalse(Files.exists(stale.path()));
  }

  @Test
  void sweepStale_ownerAlive_directoryKept() throws Exception {
    PoolDirectory live = PoolDirectory.create(tmpdir, "procpool-", Owner.current());
    assertEquals(0, PoolDirectory.sweepStale(tmpdir, me, null));
    assertTrue(Files.isDirectory(live.path()));
    live.delete();
  }

  @Test
  void sweepStale_pidReusedByAnotherProcess_directoryRemoved() throws Exception {
    // Our pid, but a start time that is not ours: its owner died and the pid went to us.
    Owner before = new Owner(ProcessHandle.current().pid(), Optional.of(Instant.parse("2000-01-01T00:00:00Z")));
    PoolDirectory stale = PoolDirectory.create(tmpdir, "procpool-", before);
    assertEquals(1, PoolDirectory.sweepStale(tmpdir, me, null));
    assertFalse(Files.exists(stale.path()));
  }

  @Test
  void sweepStale_withoutMarker_keptAsItMayBeBeingCreated() throws Exception {
    Path bare = Files.createDirectory(tmpdir.resolve("procpool-12345"));
    assertEquals(0, PoolDirectory.sweepStale(tmpdir, me, null));
    assertTrue(Files.isDirectory(bare));
  }

  @Test
  void sweepStale_anotherUsersDirectory_kept() throws Exception {
    PoolDirectory stale = PoolDirectory.create(tmpdir, "procpool-", dead());
    UserPrincipal other = () -> "mallory";
    assertEquals(0, PoolDirectory.sweepStale(tmpdir, other, null));
    assertTrue(Files.isDirectory(stale.path()));
    stale.delete();
  }

  @Test
  void sweepStale_linkNamedLikeAPoolDirectory_notFollowed() throws Exception {
    Path elsewhere = Files.createDirectories(tmpdir.resolve("elsewhere"));
    PoolDirectory target = PoolDirectory.create(elsewhere, "procpool-", dead());
    Path link = Files.createSymbolicLink(tmpdir.resolve("procpool-link"), target.path());
    assertEquals(0, PoolDirectory.sweepStale(tmpdir, me, null));
    assertTrue(Files.isDirectory(target.path()));
    assertTrue(Files.isSymbolicLink(link));
  }

  @Test
  void sweepStale_otherNames_untouched() throws Exception {
    Path other = Files.createDirectory(tmpdir.resolve("someone-else"));
    Files.writeString(other.resolve(PoolDirectory.MARKER), "pid=" + DEAD_PID + "\n");
    assertEquals(0, PoolDirectory.sweepStale(tmpdir, me, null));
    assertTrue(Files.isDirectory(other));
  }

  @Test
  void parse_garbage_empty() {
    assertEquals(Optional.empty(), Owner.parse("pid=abc\n"));
    assertEquals(Optional.empty(), Owner.parse(""));
    assertEquals(Optional.of(new Owner(42, Optional.empty())), Owner.parse("pid=42\nstart=\n"));
  }
}
