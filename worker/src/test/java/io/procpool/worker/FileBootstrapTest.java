package io.procpool.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.Pool;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
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

  final class FileLauncher implements WorkerLauncher {
    final List<Path> files = new CopyOnWriteArrayList<>();
    final List<Process> processes = new CopyOnWriteArrayList<>();

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
    FileLauncher launcher = new FileLauncher();
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
}
