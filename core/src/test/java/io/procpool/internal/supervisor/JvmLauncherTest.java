package io.procpool.internal.supervisor;

import io.procpool.spi.WorkerHandle;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.Conditions;
import io.procpool.internal.worker.WorkerRuntime;
import io.procpool.proto.v1.Bootstrap;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Worker JVMs started ahead of time: real JVMs of this test's class path, which wait on their stdin. */
class JvmLauncherTest {
  private static final Duration WAIT = Duration.ofSeconds(30);

  @TempDir Path dir;
  private JvmLauncher launcher;

  private JvmLauncher launcher() {
    JvmCommand command =
        new JvmCommand(JvmCommand.currentJava(), List.of(), System.getProperty("java.class.path"), Map.of(), null);
    launcher = new JvmLauncher(command, dir, JvmLauncher.OutputMode.DISCARD, "test");
    return launcher;
  }

  /** This JVM's children that a pool started (their command line says so). */
  private static List<ProcessHandle> spares() {
    return ProcessHandle.current()
        .children()
        .filter(p -> p.info().arguments().map(a -> List.of(a).contains("-D" + JvmLauncher.STARTED_BY_POOL + "=true")).orElse(false))
        .toList();
  }

  @AfterEach
  void killLeftovers() {
    if (launcher != null) {
      launcher.close();
    }
    spares().forEach(ProcessHandle::destroyForcibly);
  }

  private static io.procpool.spi.WorkerSpec spec(Bootstrap b) throws java.io.IOException {
    java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
    b.writeDelimitedTo(out);
    return new io.procpool.spi.WorkerSpec(0, 1, "test", out.toByteArray(), "unix:/nowhere", List.of(),
        java.util.Map.of(), null);
  }

  @Test
  void close_sparesNeverLaunched_killsEveryOne() throws Exception {
    JvmLauncher l = launcher();
    l.prestart(2);
    List<ProcessHandle> started = spares();
    assertEquals(2, started.size(), started.toString());

    l.close();

    Conditions.await("both spares to exit", WAIT, () -> started.stream().noneMatch(ProcessHandle::isAlive));
  }

  @Test
  void launch_afterPrestart_handsOutTheSpareInsteadOfStartingAJvm() throws Exception {
    JvmLauncher l = launcher();
    l.prestart(1);
    long spare = spares().get(0).pid();

    WorkerHandle w = l.launch(spec(Bootstrap.newBuilder().setPoolName("test").build()));
    try {
      assertEquals(spare, w.pid());
      assertEquals(1, spares().size());
    } finally {
      w.kill();
    }
  }

  @Test
  void launch_withoutPrestart_startsAJvm() throws Exception {
    JvmLauncher l = launcher();

    WorkerHandle w = l.launch(spec(Bootstrap.newBuilder().setPoolName("test").build()));
    try {
      assertEquals(List.of(w.pid()), spares().stream().map(ProcessHandle::pid).toList());
    } finally {
      w.kill();
    }
  }

  @Test
  void prestart_afterClose_leavesNothingRunning() throws Exception {
    JvmLauncher l = launcher();
    l.close();

    l.prestart(1);

    Conditions.await("the late spare to be killed", WAIT, () -> spares().isEmpty());
  }

  @Test
  void workerMain_startedByPoolAndStdinClosedBeforeBootstrap_exitsQuietlyAsParentGone() throws Exception {
    Process p =
        new ProcessBuilder(
                JvmCommand.currentJava().toString(),
                "-D" + JvmLauncher.STARTED_BY_POOL + "=true",
                "-cp",
                System.getProperty("java.class.path"),
                JvmLauncher.MAIN_CLASS)
            .redirectErrorStream(true)
            .start();
    try {
      p.getOutputStream().close();
      assertTrue(p.waitFor(WAIT.toSeconds(), TimeUnit.SECONDS), "the worker JVM did not exit");
      String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertEquals(WorkerRuntime.EXIT_PARENT_GONE, p.exitValue(), out);
      assertEquals("", out);
    } finally {
      p.destroyForcibly();
    }
  }
}
