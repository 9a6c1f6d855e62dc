package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassDataSharingTest {
  @TempDir Path tmp;

  @Test
  void apply_cacheDirectoryWritableByOthers_plantedArchiveIsNotUsed() throws Exception {
    List<Path> jars = ClassDataSharing.runtimeJars();
    assumeFalse(jars.isEmpty(), "no runtime jar on this classpath: nothing would be archived");
    Path dir = Files.createDirectories(tmp.resolve("cds"));
    Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxrwxrwx"));
    JvmCommand command = new JvmCommand(JvmCommand.currentJava(), List.of(), "app.jar", Map.of(), null);
    Files.writeString(dir.resolve(ClassDataSharing.key(command.java(), jars) + ".jsa"), "planted by someone else");
    Path scratch = Files.createDirectories(tmp.resolve("pool"));
    String before = System.getProperty("procpool.cds.dir");
    System.setProperty("procpool.cds.dir", dir.toString());
    try {
      assertSame(command, ClassDataSharing.apply(command, scratch, "test"));
    } finally {
      if (before == null) {
        System.clearProperty("procpool.cds.dir");
      } else {
        System.setProperty("procpool.cds.dir", before);
      }
    }
  }

  @Test
  void apply_noArchiveYet_returnsAtOnceWithoutOneAndBuildsItInTheBackgroundForTheNextPool() throws Exception {
    List<Path> jars = ClassDataSharing.runtimeJars();
    assumeFalse(jars.isEmpty(), "no runtime jar on this classpath: nothing would be archived");
    Path dir = tmp.resolve("cds");
    Path scratch = Files.createDirectories(tmp.resolve("pool"));
    JvmCommand command =
        new JvmCommand(JvmCommand.currentJava(), List.of(), System.getProperty("java.class.path"), Map.of(), null);
    String before = System.getProperty("procpool.cds.dir");
    System.setProperty("procpool.cds.dir", dir.toString());
    try {
      assertSame(command, ClassDataSharing.apply(command, scratch, "test"), "the first pool does not wait");
      assertTrue(ClassDataSharing.awaitBackgroundBuilds(java.time.Duration.ofMinutes(4)));
      Path archive = dir.resolve(ClassDataSharing.key(command.java(), jars) + ".jsa");
      assertTrue(Files.isRegularFile(archive), "built in the background: " + archive);
      JvmCommand next = ClassDataSharing.apply(command, scratch, "test");
      assertTrue(next.jvmOptions().contains("-XX:SharedArchiveFile=" + archive), next.jvmOptions().toString());
    } finally {
      if (before == null) {
        System.clearProperty("procpool.cds.dir");
      } else {
        System.setProperty("procpool.cds.dir", before);
      }
    }
  }
}
