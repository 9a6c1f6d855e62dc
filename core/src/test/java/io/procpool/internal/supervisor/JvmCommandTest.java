package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JvmCommandTest {
  private static final String NETTY_JFR_OFF = "-D" + JvmCommand.NETTY_JFR_PROPERTY + "=false";

  @TempDir Path dir;

  @Test
  void toCommand_noUserOptions_turnsNettyJfrEventsOffBeforeTheMainClass() throws Exception {
    List<String> cmd = new JvmCommand(Path.of("java"), List.of(), "cp", Map.of(), null).toCommand(dir, "Main");

    assertTrue(cmd.contains(NETTY_JFR_OFF), cmd.toString());
    assertTrue(cmd.indexOf(NETTY_JFR_OFF) < cmd.indexOf("Main"), cmd.toString());
  }

  @Test
  void toCommand_userTurnsNettyJfrEventsOn_userOptionComesLaterAndWins() throws Exception {
    String on = "-D" + JvmCommand.NETTY_JFR_PROPERTY + "=true";

    List<String> cmd = new JvmCommand(Path.of("java"), List.of(on), "cp", Map.of(), null).toCommand(dir, "Main");

    assertTrue(cmd.indexOf(NETTY_JFR_OFF) < cmd.indexOf(on), cmd.toString());
    assertEquals(1, cmd.stream().filter(on::equals).count());
  }

  @Test
  void featureVersion_thisJava_isThisRuntimesFeatureVersion() {
    assertEquals(Runtime.version().feature(), JvmCommand.featureVersion(JvmCommand.currentJava()));
  }

  @Test
  void featureVersion_installationWithReleaseFile_readsIt() throws Exception {
    Path bin = Files.createDirectories(dir.resolve("jdk/bin"));
    Path java = Files.createFile(bin.resolve("java"));
    Files.writeString(dir.resolve("jdk/release"), "IMPLEMENTOR=\"x\"\nJAVA_VERSION=\"25.0.3\"\n");

    assertEquals(25, JvmCommand.featureVersion(java));
  }

  @Test
  void featureVersion_unknownJava_isZeroAndNoNativeAccessOptionIsAdded() throws Exception {
    Path java = dir.resolve("no-such-java");

    List<String> cmd = new JvmCommand(java, List.of(), "cp", Map.of(), null).toCommand(dir, "Main");

    assertEquals(0, JvmCommand.featureVersion(java));
    assertTrue(cmd.stream().noneMatch(o -> o.startsWith("--enable-native-access")), cmd.toString());
  }
}
