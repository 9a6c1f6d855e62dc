package com.example.launcher;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.Pool;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * A launcher written against the public SPI alone, outside procpool's packages: it runs the pool's own
 * worker command under {@code nice -n 5}, as a user who wants workers at a lower priority would.
 */
@EnabledOnOs(OS.LINUX)
class NiceLauncherTest {
  static final class NiceLauncher implements WorkerLauncher {
    final List<WorkerSpec> specs = new CopyOnWriteArrayList<>();
    final List<Handle> handles = new CopyOnWriteArrayList<>();
    volatile boolean closed;

    @Override
    public WorkerHandle launch(WorkerSpec spec) throws IOException {
      specs.add(spec);
      List<String> command = new ArrayList<>(List.of("nice", "-n", "5"));
      command.addAll(spec.command());
      ProcessBuilder pb =
          new ProcessBuilder(command)
              // Not the test JVM's own stdout: surefire reads its fork's stdout as its channel.
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectError(ProcessBuilder.Redirect.DISCARD);
      pb.environment().putAll(spec.environment());
      spec.workingDirectory().ifPresent(d -> pb.directory(d.toFile()));
      Process p = pb.start();
      OutputStream stdin = p.getOutputStream();
      stdin.write(spec.bootstrap());
      stdin.flush();
      Handle h = new Handle(p, stdin);
      handles.add(h);
      return h;
    }

    @Override
    public void close() {
      closed = true;
    }
  }

  static final class Handle implements WorkerHandle {
    final Process process;
    private final OutputStream stdin;
    private final CompletableFuture<Integer> exit;

    Handle(Process process, OutputStream stdin) {
      this.process = process;
      this.stdin = stdin;
      this.exit = process.onExit().thenApply(Process::exitValue);
    }

    @Override
    public CompletableFuture<Integer> onExit() {
      return exit;
    }

    @Override
    public void kill() {
      process.destroyForcibly();
    }

    @Override
    public long pid() {
      return process.pid();
    }

    @Override
    public String description() {
      return "niced pid " + process.pid();
    }

    @Override
    public void streamEnded() {
      try {
        stdin.close();
      } catch (IOException e) {
        // Gone already.
      }
    }
  }

  /** This worker's pid and nice value (field 19 of /proc/self/stat). */
  static long[] pidAndNice(Integer ignored) throws IOException {
    String stat = Files.readString(Path.of("/proc/self/stat"));
    String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return new long[] {ProcessHandle.current().pid(), Long.parseLong(fields[16])};
  }

  static int napSquare(int x) throws InterruptedException {
    Thread.sleep(1_500);
    return x * x;
  }

  static void await(Duration within, String what, java.util.function.BooleanSupplier condition)
      throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "not within " + within + ": " + what);
      Thread.sleep(20);
    }
  }

  @Test
  void launcher_ownCommandPrefix_tasksRunInItsWorkersAndCloseEndsThem() throws Exception {
    NiceLauncher launcher = new NiceLauncher();
    try (Pool pool = Pool.builder().workers(2).launcher(launcher).build()) {
      List<Integer> inputs = new ArrayList<>();
      for (int i = 0; i < 40; i++) {
        inputs.add(i);
      }
      Set<Long> pids = new HashSet<>();
      for (long[] r : pool.map(NiceLauncherTest::pidAndNice, inputs)) {
        assertEquals(5, r[1], "a task ran outside the niced workers");
        pids.add(r[0]);
      }
      Set<Long> launched = new HashSet<>();
      launcher.handles.forEach(h -> launched.add(h.pid()));
      assertTrue(launched.containsAll(pids), pids + " not among " + launched);
      assertEquals(2, launcher.specs.size());
      assertEquals(Set.of(0, 1), Set.of(launcher.specs.get(0).index(), launcher.specs.get(1).index()));
      assertFalse(launcher.specs.get(0).command().isEmpty());
    }
    for (Handle h : launcher.handles) {
      assertTrue(h.process.waitFor(30, TimeUnit.SECONDS), "worker " + h.pid() + " still running after close");
    }
    assertTrue(launcher.closed, "the pool closes its launcher");
  }

  @Test
  void launcher_workerKilledThroughItsHandle_taskRetriedOnAReplacementFromANewSpec() throws Exception {
    NiceLauncher launcher = new NiceLauncher();
    try (Pool pool = Pool.builder().workers(1).maxRetries(1).launcher(launcher).build()) {
      var task = pool.submit(NiceLauncherTest::napSquare, 5);
      await(Duration.ofSeconds(20), "the task to start",
          () -> pool.stats().workers().get(0).currentTask() != null);
      launcher.handles.get(0).kill();
      assertEquals(25, task.get(60, TimeUnit.SECONDS), "retried on the replacement");
      assertEquals(2, launcher.specs.size());
      WorkerSpec first = launcher.specs.get(0);
      WorkerSpec second = launcher.specs.get(1);
      assertEquals(first.index(), second.index(), "the replacement takes the slot");
      assertTrue(second.id() != first.id(), "each start has its own id");
      assertEquals(1, pool.stats().retried());
    }
  }
}
