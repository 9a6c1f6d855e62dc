package io.procpool.internal.supervisor;

import java.io.IOException;
import java.nio.file.FileSystem;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.AclEntry;
import java.nio.file.attribute.AclEntryFlag;
import java.nio.file.attribute.AclEntryPermission;
import java.nio.file.attribute.AclEntryType;
import java.nio.file.attribute.AclFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.util.EnumSet;
import java.util.List;

/**
 * Makes directories that only their owner can use, with the protection the file system has: POSIX
 * permissions {@code rwx------} (Linux, macOS), else an access-control list granting the owner alone
 * (Windows, NTFS). A file system with neither is refused with a message that says so, since the pool's
 * files (status, blobs of task data, the archive) would be open to other users.
 */
final class PrivateDirectories {
  private PrivateDirectories() {}

  /** {@link Files#createTempDirectory} under {@code parent}, private to its owner. */
  static Path createTemp(Path parent, String prefix) throws IOException {
    FileSystem fs = parent.getFileSystem();
    if (fs.supportedFileAttributeViews().contains("posix")) {
      return Files.createTempDirectory(
          parent, prefix, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }
    requireAcl(parent);
    Path dir = Files.createTempDirectory(parent, prefix);
    restrictToOwner(dir);
    return dir;
  }

  /** {@link Files#createDirectories}, the last one private to its owner when it is made here. */
  static void createAll(Path dir) throws IOException {
    FileSystem fs = dir.getFileSystem();
    if (fs.supportedFileAttributeViews().contains("posix")) {
      Files.createDirectories(
          dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
      return;
    }
    requireAcl(dir);
    Files.createDirectories(dir);
    restrictToOwner(dir);
  }

  private static void requireAcl(Path where) throws IOException {
    if (!where.getFileSystem().supportedFileAttributeViews().contains("acl")) {
      throw new IOException("Cannot make a directory private to its owner in " + where + ": its file system "
          + "has neither POSIX permissions nor access-control lists (it offers "
          + where.getFileSystem().supportedFileAttributeViews() + "), so other users could read the pool's "
          + "files. Point java.io.tmpdir at a file system that has one of them.");
    }
  }

  /**
   * Replaces {@code dir}'s access-control list with one entry: its owner may do everything, and what is
   * made inside inherits that. Deletes {@code dir} and throws if that cannot be done.
   */
  private static void restrictToOwner(Path dir) throws IOException {
    try {
      AclFileAttributeView view = Files.getFileAttributeView(dir, AclFileAttributeView.class);
      UserPrincipal owner = view.getOwner();
      AclEntry ownerOnly =
          AclEntry.newBuilder()
              .setType(AclEntryType.ALLOW)
              .setPrincipal(owner)
              .setPermissions(EnumSet.allOf(AclEntryPermission.class))
              .setFlags(AclEntryFlag.FILE_INHERIT, AclEntryFlag.DIRECTORY_INHERIT)
              .build();
      view.setAcl(List.of(ownerOnly));
    } catch (IOException | RuntimeException e) {
      PoolDirectory.deleteRecursively(dir);
      throw new IOException("Cannot restrict " + dir + " to its owner with an access-control list: " + e, e);
    }
  }
}
