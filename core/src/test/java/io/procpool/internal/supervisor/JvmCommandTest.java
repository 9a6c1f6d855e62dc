package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
}
