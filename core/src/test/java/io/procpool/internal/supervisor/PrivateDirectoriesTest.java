package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.jimfs.Configuration;
import com.google.common.jimfs.Jimfs;
import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.AclEntry;
import java.nio.file.attribute.AclEntryPermission;
import java.nio.file.attribute.AclEntryType;
import java.nio.file.attribute.AclFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Private directories on file systems other than this machine's: an in-memory one with access-control
 * lists and no POSIX permissions (as Windows has), and one with neither.
 */
class PrivateDirectoriesTest {
  @TempDir Path tmp;

  private static FileSystem fileSystemWith(String view, String... more) {
    return Jimfs.newFileSystem(Configuration.unix().toBuilder().setAttributeViews(view, more).build());
  }

  @Test
  void createTemp_posixFileSystem_isRwxForTheOwnerOnly() throws IOException {
    Path dir = PrivateDirectories.createTemp(tmp, "procpool-test-");
    assertEquals("rwx------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir)));
  }

  @Test
  void createTemp_aclFileSystemWithoutPosix_grantsTheOwnerAloneEverythingInherited() throws IOException {
    try (FileSystem fs = fileSystemWith("basic", "owner", "acl")) {
      Path parent = Files.createDirectories(fs.getPath("/tmp"));
      Path dir = PrivateDirectories.createTemp(parent, "procpool-test-");
      AclFileAttributeView view = Files.getFileAttributeView(dir, AclFileAttributeView.class);
      List<AclEntry> acl = view.getAcl();
      assertEquals(1, acl.size(), acl.toString());
      AclEntry only = acl.get(0);
      assertEquals(AclEntryType.ALLOW, only.type());
      assertEquals(view.getOwner(), only.principal());
      assertEquals(EnumSet.allOf(AclEntryPermission.class), only.permissions());
      assertTrue(only.flags().containsAll(
          EnumSet.of(java.nio.file.attribute.AclEntryFlag.FILE_INHERIT, java.nio.file.attribute.AclEntryFlag.DIRECTORY_INHERIT)));
    }
  }

  @Test
  void createTemp_fileSystemWithoutPosixOrAcl_failsSayingSoAndLeavesNothing() throws IOException {
    try (FileSystem fs = fileSystemWith("basic")) {
      Path parent = Files.createDirectories(fs.getPath("/tmp"));
      IOException e = assertThrows(IOException.class, () -> PrivateDirectories.createTemp(parent, "procpool-test-"));
      assertEquals("Cannot make a directory private to its owner in /tmp: its file system has neither POSIX "
          + "permissions nor access-control lists (it offers [basic]), so other users could read the pool's "
          + "files. Point java.io.tmpdir at a file system that has one of them.", e.getMessage());
      try (Stream<Path> left = Files.list(parent)) {
        assertFalse(left.findAny().isPresent(), "no directory left behind");
      }
    }
  }

  @Test
  void poolDirectory_aclFileSystem_isCreatedMarkedAndSweptWhenItsOwnerIsGone() throws IOException {
    try (FileSystem fs = fileSystemWith("basic", "owner", "acl")) {
      Path parent = Files.createDirectories(fs.getPath("/tmp"));
      PoolDirectory d = PoolDirectory.create(parent, "procpool-", new PoolDirectory.Owner(PoolDirectoryTest.DEAD_PID, java.util.Optional.of(java.time.Instant.parse("2026-01-01T00:00:00Z"))));
      assertTrue(Files.isRegularFile(d.path().resolve(PoolDirectory.MARKER)));
      assertEquals(1, PoolDirectory.sweepStale(parent, Files.getOwner(d.path()), null));
      assertFalse(Files.exists(d.path()));
    }
  }
}
