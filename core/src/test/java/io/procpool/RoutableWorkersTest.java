package io.procpool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.spi.Network;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

/**
 * Workers that may run on other machines ({@link Network#routable()}), here started on this one by a
 * launcher that hands each its bootstrap in its environment, as a scheduler or a Pod would: the pool
 * listens on every interface with TLS, workers pin its certificate and prove their slot, report what they
 * begin on their stream, and get large arrays inline.
 */
@EnabledOnOs(OS.LINUX)
class RoutableWorkersTest {
  /** Starts the pool's worker command with the bootstrap in PROCPOOL_BOOTSTRAP and nothing on stdin. */
  static final class EnvLauncher implements WorkerLauncher {
    final List<WorkerSpec> specs = new CopyOnWriteArrayList<>();
    final List<Process> processes = new CopyOnWriteArrayList<>();

    @Override
    public WorkerHandle launch(WorkerSpec spec) throws IOException {
      specs.add(spec);
      ProcessBuilder pb =
          new ProcessBuilder(spec.command())
              .redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null")))
              .redirectOutput(ProcessBuilder.Redirect.DISCARD)
              .redirectError(ProcessBuilder.Redirect.DISCARD);
      pb.environment().putAll(spec.environment());
      pb.environment().put("PROCPOOL_BOOTSTRAP", Base64.getEncoder().encodeToString(spec.bootstrap()));
      Process p = pb.start();
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
      };
    }

    @Override
    public Network network() {
      return Network.routable();
    }

    void killAll() throws InterruptedException {
      for (Process p : processes) {
        p.destroyForcibly();
        p.waitFor(30, TimeUnit.SECONDS);
      }
    }
  }

  private final EnvLauncher launcher = new EnvLauncher();

  @AfterEach
  void noWorkerLeft() throws InterruptedException {
    for (Process p : launcher.processes) {
      boolean exited = p.waitFor(30, TimeUnit.SECONDS);
      if (!exited) {
        launcher.killAll();
      }
      assertTrue(exited, "worker " + p.pid() + " still running after its pool closed");
    }
  }

  static Bootstrap bootstrapOf(WorkerSpec spec) throws IOException {
    return Bootstrap.parseDelimitedFrom(new ByteArrayInputStream(spec.bootstrap()));
  }

  static byte[] reversed(byte[] b) {
    byte[] r = new byte[b.length];
    for (int i = 0; i < b.length; i++) {
      r[i] = b[b.length - 1 - i];
    }
    return r;
  }

  static long pidTimes(int x) {
    return ProcessHandle.current().pid() * 1000 + x;
  }

  @Test
  void pool_routableLauncher_mapsOverTlsWithNothingSharedButTheNetwork() throws Exception {
    try (Pool pool = Pool.builder().workers(2).jvmOptions("-Dprocpool.test.routable=1").launcher(launcher).build()) {
      // The builder's JVM options, without the maximum heap the pool sizes for this machine's memory.
      assertEquals(List.of("-Dprocpool.test.routable=1"), launcher.specs.get(0).jvmOptions());
      // The listener: every interface, and workers dial a host that is not loopback.
      InetSocketAddress listening = (InetSocketAddress) pool.serverAddress();
      assertTrue(listening.getAddress().isAnyLocalAddress(), "listens on " + listening);
      WorkerSpec spec = launcher.specs.get(0);
      String host = spec.target().substring(0, spec.target().lastIndexOf(':'));
      assertFalse(InetAddress.getByName(host).isLoopbackAddress(), "workers dial " + spec.target());
      // Each worker's bootstrap: the certificate's pin, its own secret, and no path on this machine.
      Bootstrap b0 = bootstrapOf(launcher.specs.get(0));
      Bootstrap b1 = bootstrapOf(launcher.specs.get(1));
      assertEquals(32, b0.getTlsCertificateSha256().size());
      assertTrue(b0.getReportBegun());
      assertEquals("", b0.getStatusFile());
      assertEquals("", b0.getBlobDir());
      assertEquals("", b0.getInputArena());
      assertEquals("", b0.getOutputArena());
      assertEquals(32, b0.getWorkerSecret().size());
      assertFalse(b0.getWorkerSecret().equals(b1.getWorkerSecret()), "each worker has a secret of its own");
      assertEquals(b0.getSecret(), b1.getSecret());

      List<Integer> inputs = new ArrayList<>();
      for (int i = 0; i < 500; i++) {
        inputs.add(i);
      }
      List<Long> out = pool.map(RoutableWorkersTest::pidTimes, inputs);
      for (int i = 0; i < inputs.size(); i++) {
        assertEquals(i, out.get(i) % 1000);
        assertTrue(out.get(i) / 1000 != ProcessHandle.current().pid(), "ran in the parent");
      }
      // Large arrays go inline, both ways, above the sizes that would otherwise take shared memory or a file.
      for (int size : new int[] {300 << 10, 3 << 20}) {
        byte[] in = new byte[size];
        new java.util.Random(size).nextBytes(in);
        assertArrayEquals(reversed(in), pool.submit(RoutableWorkersTest::reversed, in).get(60, TimeUnit.SECONDS));
      }
    }
  }

  @Test
  void pool_routableWorkerHalts_runningTaskFailsAndTasksBehindItRunElsewhere() throws Exception {
    try (Pool pool = Pool.builder().workers(1).maxRetries(0).launcher(launcher).build()) {
      ListenableFuture<Long> slow = pool.submit(Workers::sleep, 300L);
      ListenableFuture<Integer> crash = pool.submit(Workers::halt, 3);
      List<ListenableFuture<Integer>> behind = new ArrayList<>();
      for (int i = 0; i < 20; i++) {
        behind.add(pool.submit(Workers::identity, i));
      }
      assertEquals(300L, slow.get(60, TimeUnit.SECONDS));
      ExecutionException e = assertThrows(ExecutionException.class, () -> crash.get(60, TimeUnit.SECONDS));
      assertInstanceOf(WorkerCrashedException.class, e.getCause(), e.toString());
      for (int i = 0; i < behind.size(); i++) {
        assertEquals(i, behind.get(i).get(60, TimeUnit.SECONDS), "a task queued behind the crash");
      }
      assertTrue(launcher.specs.size() >= 2, "the worker was replaced");
    }
  }

  @Test
  void pool_routableTaskOverItsTimeout_failsAndWorkerReplaced() throws Exception {
    try (Pool pool =
        Pool.builder().workers(1).launcher(launcher).taskTimeout(Duration.ofMillis(500)).build()) {
      ListenableFuture<Long> slow = pool.submit(Workers::spinIgnoringInterrupts, 60_000L);
      ExecutionException e = assertThrows(ExecutionException.class, () -> slow.get(60, TimeUnit.SECONDS));
      assertInstanceOf(TaskTimeoutException.class, e.getCause(), e.toString());
      assertEquals(7, pool.submit(Workers::identity, 7).get(60, TimeUnit.SECONDS));
    }
  }
}
