package io.procpool.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.Pool;
import io.procpool.spi.Network;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workers bootstrapped from a file, as a launcher that cannot feed their stdin (a batch job) starts them:
 * their stdin is closed at once, which for a pool's own children would mean that the parent is gone.
 */
@EnabledOnOs(OS.LINUX)
class FileBootstrapTest {
  @TempDir Path dir;

  static final class FileLauncher implements WorkerLauncher {
    final Path dir;
    final Network network;
    final List<Path> files = new CopyOnWriteArrayList<>();
    final List<Process> processes = new CopyOnWriteArrayList<>();

    FileLauncher(Path dir) {
      this(dir, Network.thisMachine());
    }

    FileLauncher(Path dir, Network network) {
      this.dir = dir;
      this.network = network;
    }

    @Override
    public Network network() {
      return network;
    }

    @Override
    public WorkerHandle launch(WorkerSpec spec) throws IOException {
      Path file = dir.resolve("bootstrap-" + spec.id());
      Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
      Files.write(file, spec.bootstrap());
      files.add(file);
      ProcessBuilder pb =
          new ProcessBuilder(spec.command())
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectError(ProcessBuilder.Redirect.DISCARD);
      pb.environment().putAll(spec.environment());
      pb.environment().put("PROCPOOL_BOOTSTRAP_FILE", file.toString());
      Process p = pb.start();
      p.getOutputStream().close();
      processes.add(p);
      CompletableFuture<Integer> exit = p.onExit().thenApply(Process::exitValue);
      return new WorkerHandle() {
        @Override
        public CompletableFuture<Integer> onExit() {
          return exit;
        }

        @Override
        public void kill() {
          p.destroyForcibly();
        }

        @Override
        public long pid() {
          return p.pid();
        }
      };
    }
  }

  static int twice(int x) {
    return 2 * x;
  }

  @Test
  void worker_bootstrapInAFileAndStdinClosed_runsTasksAndLeavesWithThePool() throws Exception {
    FileLauncher launcher = new FileLauncher(dir);
    try (Pool pool = Pool.builder().workers(2).launcher(launcher).build()) {
      List<Integer> in = new ArrayList<>();
      List<Integer> expected = new ArrayList<>();
      for (int i = 0; i < 100; i++) {
        in.add(i);
        expected.add(2 * i);
      }
      assertEquals(expected, pool.map(FileBootstrapTest::twice, in));
      assertEquals(2, launcher.processes.size(), "no worker died for its closed stdin");
      for (Path f : launcher.files) {
        assertFalse(Files.exists(f), f + " holds the secret: the worker deletes it once read");
      }
    }
    for (Process p : launcher.processes) {
      assertTrue(p.waitFor(30, TimeUnit.SECONDS), "worker " + p.pid() + " still running after close");
    }
  }

  /** A parent of its own: builds a pool of file-bootstrapped workers, prints their pids, then waits. */
  public static final class Parent {
    public static void main(String[] args) throws Exception {
      FileLauncher launcher =
          new FileLauncher(
              Path.of(args[0]), args.length > 1 && args[1].equals("routable") ? Network.routable() : Network.thisMachine());
      Pool pool = Pool.builder().workers(2).launcher(launcher).build();
      assertEquals(42, (int) pool.submit(FileBootstrapTest::twice, 21).get());
      StringBuilder pids = new StringBuilder("pids");
      for (Process p : launcher.processes) {
        pids.append(' ').append(p.pid());
      }
      System.out.println(pids);
      System.out.flush();
      Thread.sleep(600_000);
    }
  }

  @Test
  void worker_bootstrapInAFileParentKilled_exitsWithinSeconds() throws Exception {
    parentGone(false, Duration.ofSeconds(20));
  }

  /**
   * A routable pool's worker, whose parent's machine goes silent without closing anything (here its JVM is
   * stopped: the kernel still holds the connection open, nothing answers on it), leaves by itself: its
   * keepalive ping goes unanswered (10 s of silence, then 10 s for the answer).
   */
  @Test
  void routableWorker_parentStoppedNotClosed_exitsOnUnansweredKeepalive() throws Exception {
    parentGone(true, Duration.ofSeconds(45));
  }

  /**
   * Whether {@code h} still runs: a worker that exited while its parent is stopped stays a zombie (state
   * Z) until the parent reaps it, and {@link ProcessHandle#isAlive} counts that as alive.
   */
  static boolean running(ProcessHandle h) {
    if (!h.isAlive()) {
      return false;
    }
    try {
      String stat = Files.readString(Path.of("/proc/" + h.pid() + "/stat"));
      return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
    } catch (IOException e) {
      return false; // Gone between the two looks.
    }
  }

  private void parentGone(boolean routableAndStopped, Duration within) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> cmd =
        new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"), Parent.class.getName(), dir.toString()));
    if (routableAndStopped) {
      cmd.add("routable");
    }
    Process parent = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
    List<ProcessHandle> workers = new ArrayList<>();
    try {
      BufferedReader out =
          new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = out.readLine()) != null && !line.startsWith("pids")) {
        // Skip anything else the parent prints.
      }
      assertTrue(line != null, "the parent printed no pids (exit " + (parent.isAlive() ? "none yet" : parent.exitValue()) + ")");
      for (String pid : line.substring(4).trim().split(" ")) {
        workers.add(ProcessHandle.of(Long.parseLong(pid)).orElseThrow());
      }
      assertEquals(2, workers.size());
      if (routableAndStopped) {
        // SIGSTOP: the parent's connections stay open, and nothing answers on them.
        Process stop = new ProcessBuilder("kill", "-STOP", Long.toString(parent.pid())).start();
        assertTrue(stop.waitFor(10, TimeUnit.SECONDS) && stop.exitValue() == 0, "kill -STOP failed");
      } else {
        // SIGKILL: no hook of the parent runs, and the workers' stdin was closed from the start.
        parent.destroyForcibly();
        assertTrue(parent.waitFor(30, TimeUnit.SECONDS));
      }
      long deadline = System.nanoTime() + within.toNanos();
      while (workers.stream().anyMatch(FileBootstrapTest::running)) {
        assertTrue(System.nanoTime() < deadline, "a worker outlived its parent by " + within);
        Thread.sleep(50);
      }
    } finally {
      parent.destroyForcibly();
      workers.forEach(ProcessHandle::destroyForcibly);
    }
  }
}
