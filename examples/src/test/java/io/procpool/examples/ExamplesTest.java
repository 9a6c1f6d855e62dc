package io.procpool.examples;

import static java.nio.charset.StandardCharsets.UTF_8;
import static java.util.stream.Collectors.toList;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.examples.hello.HelloProcess;
import io.procpool.examples.pie.PiAndE;
import io.procpool.examples.plugin.PluginHost;
import io.procpool.examples.primes.PrimesMap;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Runs every example, at a small size, so that none can rot. */
class ExamplesTest {
  /** The plugin example's plug-in, compiled apart into target/plugin-classes. */
  private static final String PLUGIN = "io.procpool.examples.plugin.letters.LetterCounts";

  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, UTF_8);

  @AfterEach
  void everyChildProcess_afterExample_hasExited() throws InterruptedException {
    // Training JVMs of a class-data-sharing archive built in the background end by themselves.
    io.procpool.internal.supervisor.ClassDataSharing.awaitBackgroundBuilds(java.time.Duration.ofMinutes(4));
    // The examples wait for their workers' exit (Pool.close, WorkerProcess.join), so a live child
    // here is a leak. It is killed so that it cannot spill into the next test.
    List<ProcessHandle> alive =
        ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).collect(toList());
    alive.forEach(ProcessHandle::destroyForcibly);
    assertEquals(List.of(), alive.stream().map(ProcessHandle::pid).collect(toList()), "leaked");
  }

  @Test
  void helloProcess_run_childIsAnotherProcessThatExitsWithZero() throws Exception {
    HelloProcess.Child child = HelloProcess.run(out);

    assertEquals(0, child.exitCode());
    assertNotEquals(ProcessHandle.current().pid(), child.pid());
    List<String> lines = bytes.toString(UTF_8).lines().collect(toList());
    assertEquals("main line", lines.get(0));
    assertTrue(lines.contains("process id: " + ProcessHandle.current().pid()), lines::toString);
    assertEquals(
        "joined: process " + child.pid() + " exited with code 0", lines.get(lines.size() - 1));
  }

  @Test
  void piAndE_twoThousandDigits_checksAndTimesBoth() throws Exception {
    boolean ok = PiAndE.run(2_000, out);

    String printed = bytes.toString(UTF_8);
    assertTrue(ok, printed);
    assertTrue(printed.contains("pi = 3.1415926535..."), printed);
    assertTrue(printed.contains("e  = 2.7182818284..."), printed);
    assertTrue(printed.contains("2 worker JVMs at once: "), printed);
    assertTrue(printed.contains("one after the other in this JVM: "), printed);
  }

  @Test
  void piAndE_fewerThanTenDigits_throwsIllegalArgument() {
    IllegalArgumentException thrown =
        assertThrows(IllegalArgumentException.class, () -> PiAndE.run(9, out));
    assertEquals("digits is 9, but must be at least 10", thrown.getMessage());
  }

  @Test
  void slurmPrimes_onTheTestCluster_countsEveryPrimeInSlurmJobs() throws Exception {
    org.junit.jupiter.api.Assumptions.assumeTrue(
        System.getProperty("os.name").startsWith("Linux") && "root".equals(System.getProperty("user.name")),
        "the Slurm example runs on the cluster scripts/slurm-cluster.sh brings up, which needs root on Linux");
    Process up = new ProcessBuilder("bash", "../scripts/slurm-cluster.sh", "up").redirectErrorStream(true).start();
    String log = new String(up.getInputStream().readAllBytes(), UTF_8);
    assertEquals(0, up.waitFor(), log);

    long count = io.procpool.examples.slurm.SlurmPrimes.run(2, 100_000, 8, out, ProcessBuilder.Redirect.DISCARD);

    assertEquals(9_592, count);
    String printed = bytes.toString(UTF_8);
    assertTrue(printed.contains("\n  Slurm job ") || printed.contains("  Slurm job "), printed);
    assertFalse(printed.contains("Slurm job null"), "a range was counted outside Slurm: " + printed);
  }

  @Test
  void primesMap_smallRange_countsEveryPrimeOnWorkerPids() throws Exception {
    long count = PrimesMap.run(2, 100_000, 16, out);

    assertEquals(9_592, count);
    String printed = bytes.toString(UTF_8);
    // Numbers are printed in the default locale's format, so only the words are pinned here.
    // The progress listener's final line comes before map() returns, so before the results.
    int progress = printed.indexOf("primes: 16/16 (100%) in ");
    assertTrue(progress >= 0 && progress < printed.indexOf("primes below "), printed);
    assertTrue(printed.contains("\nprimes below "), printed);
    assertTrue(printed.contains("  worker pid "), printed);
    assertFalse(printed.contains("worker pid " + ProcessHandle.current().pid() + " "), printed);
    assertTrue(printed.contains("speed-up: "), printed);
  }

  @Test
  void pluginHost_pluginInItsOwnUrlClassLoader_mapsOverWorkersWithNoSettings() throws Exception {
    // The plug-in is compiled into target/plugin-classes, which is not on this JVM's class path.
    Path plugin = Path.of("target", "plugin-classes");
    assertThrows(ClassNotFoundException.class, () -> Class.forName(PLUGIN, false, getClass().getClassLoader()));

    List<String> lines = PluginHost.run(plugin, PLUGIN, out);

    assertEquals(
        List.of(
            "process: 7 letters (in a worker)",
            "pool: 4 letters (in a worker)",
            "Worker: 6 letters (in a worker)",
            "class-loader: 11 letters (in a worker)",
            "plug-in: 6 letters (in a worker)",
            "total: 34 letters"),
        lines);
    assertTrue(
        bytes.toString(UTF_8).startsWith("plug-in " + PLUGIN + " loaded by class loader 'plugin'"),
        bytes.toString(UTF_8));
  }
}
