package io.procpool.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.Pool;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Pools whose workers are jobs of a real single-node Slurm cluster, brought up on this machine by
 * {@code scripts/slurm-cluster.sh up} (root, Linux; CI runs as root).
 */
class SlurmClusterTest {
  private static final Path SCRIPT = Path.of("..", "scripts", "slurm-cluster.sh");

  @BeforeAll
  static void cluster() throws Exception {
    Assumptions.assumeTrue(System.getProperty("os.name").startsWith("Linux"), "Slurm tests run on Linux");
    Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
        "the Slurm tests bring a cluster up with scripts/slurm-cluster.sh, which needs root");
    Process up = new ProcessBuilder("bash", SCRIPT.toString(), "up").redirectErrorStream(true).start();
    String out = new String(up.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertTrue(up.waitFor(300, TimeUnit.SECONDS), "slurm-cluster.sh up did not finish");
    assertEquals(0, up.exitValue(), out);
  }

  /** Our jobs (names starting procpool-) in squeue, as "name state". */
  static List<String> ourJobs() throws IOException, InterruptedException {
    Process q = new ProcessBuilder("squeue", "-h", "-o", "%j %T").redirectErrorStream(true).start();
    String out = new String(q.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    q.waitFor(30, TimeUnit.SECONDS);
    List<String> jobs = new ArrayList<>();
    for (String line : out.split("\n")) {
      if (line.startsWith("procpool-")) {
        jobs.add(line.trim());
      }
    }
    return jobs;
  }

  static void await(Duration within, String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline, "not within " + within + ": " + what);
      Thread.sleep(100);
    }
  }

  static boolean noJobs() {
    try {
      return ourJobs().isEmpty();
    } catch (IOException | InterruptedException e) {
      return false;
    }
  }

  static SlurmLauncher launcher() {
    return SlurmLauncher.builder().output(ProcessBuilder.Redirect.DISCARD).build();
  }

  /** Twice {@code x}; fails where it is not run by Slurm. */
  static long doubledInSlurm(Integer x) {
    if (System.getenv("SLURM_JOB_ID") == null) {
      throw new IllegalStateException("not run by Slurm");
    }
    return 2L * x;
  }

  static String jobId(Integer ignored) {
    return System.getenv("SLURM_JOB_ID");
  }

  static int napDouble(int x) throws InterruptedException {
    Thread.sleep(2_000);
    return 2 * x;
  }

  @AfterEach
  void nothingLeft() throws Exception {
    await(Duration.ofSeconds(30), "no procpool job left in Slurm", SlurmClusterTest::noJobs);
  }

  @Test
  void pool_workersAsSlurmJobs_runAMapAndCloseLeavesNoJob() throws Exception {
    try (Pool pool = Pool.builder().workers(2).launcher(launcher()).build()) {
      List<Integer> in = new ArrayList<>();
      List<Long> expected = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        in.add(i);
        expected.add(2L * i);
      }
      assertEquals(expected, pool.map(SlurmClusterTest::doubledInSlurm, in));
      List<String> jobs = ourJobs();
      assertEquals(2, jobs.size(), "two worker jobs: " + jobs);
      jobs.forEach(j -> assertTrue(j.endsWith("RUNNING"), j));
      List<String> ids = pool.map(SlurmClusterTest::jobId, List.of(1, 2, 3, 4, 5, 6));
      ids.forEach(id -> assertTrue(id != null && id.matches("[0-9]+"), "a task ran outside a Slurm job: " + id));
    }
    assertTrue(noJobs() || ourJobs().stream().allMatch(j -> j.endsWith("COMPLETING")), "close() left jobs running");
  }

  @Test
  void pool_workerJobScancelled_taskRetriedAndAReplacementJobServes() throws Exception {
    try (Pool pool = Pool.builder().workers(1).maxRetries(1).launcher(launcher()).build()) {
      List<String> before = ourJobs();
      assertEquals(1, before.size(), before.toString());
      String name = before.get(0).split(" ")[0];
      var task = pool.submit(SlurmClusterTest::napDouble, 21);
      await(Duration.ofSeconds(20), "the task to start", () -> pool.stats().workers().get(0).currentTask() != null);
      Process cancel = new ProcessBuilder("scancel", "--name=" + name).start();
      assertTrue(cancel.waitFor(30, TimeUnit.SECONDS));
      assertEquals(42, task.get(120, TimeUnit.SECONDS), "retried on the replacement");
      assertEquals(1, pool.stats().retried());
      List<String> after = ourJobs();
      assertEquals(1, after.size(), after.toString());
      assertTrue(!after.get(0).startsWith(name + " "), "a new job replaced " + name + ": " + after);
      assertEquals(8, pool.submit(SlurmClusterTest::napDouble, 4).get(60, TimeUnit.SECONDS));
    }
  }

  @Test
  void pool_shutdownNow_cancelsEveryWorkerJob() throws Exception {
    Pool pool = Pool.builder().workers(2).launcher(launcher()).build();
    try {
      var running = pool.submit(SlurmClusterTest::napDouble, 1);
      await(Duration.ofSeconds(20), "a task to start",
          () -> pool.stats().workers().stream().anyMatch(w -> w.currentTask() != null));
      assertEquals(2, ourJobs().size());
      pool.shutdownNow();
      assertTrue(running.isCancelled());
      assertTrue(pool.awaitTermination(Duration.ofSeconds(60)));
    } finally {
      pool.close();
    }
    await(Duration.ofSeconds(30), "no worker job after shutdownNow()", SlurmClusterTest::noJobs);
  }

  /** A parent of its own, to be SIGKILLed: builds a Slurm pool, says so, then waits. */
  public static final class Parent {
    public static void main(String[] args) throws Exception {
      Pool pool = Pool.builder().workers(2).launcher(launcher()).build();
      assertEquals(42L, (long) pool.submit(SlurmClusterTest::doubledInSlurm, 21).get());
      System.out.println("ready");
      System.out.flush();
      Thread.sleep(600_000);
    }
  }

  @Test
  void parentKilled_workerJobsEndBySelf() throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Process parent =
        new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"), Parent.class.getName())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      BufferedReader out = new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8));
      String line;
      while ((line = out.readLine()) != null && !line.equals("ready")) {
        // Skip anything else.
      }
      assertEquals("ready", line, "the parent did not start its pool");
      assertEquals(2, ourJobs().size(), ourJobs().toString());
      parent.destroyForcibly();
      assertTrue(parent.waitFor(30, TimeUnit.SECONDS));
      await(Duration.ofSeconds(30), "the workers' jobs to end after their parent's SIGKILL", SlurmClusterTest::noJobs);
    } finally {
      parent.destroyForcibly();
    }
  }

  /** "job.step" of the Slurm step this task runs in. */
  static String jobAndStep(Integer ignored) {
    return System.getenv("SLURM_JOB_ID") + "." + System.getenv("SLURM_STEP_ID");
  }

  /**
   * A parent run by {@code salloc}, inside the allocation: its pool's workers must be steps of that
   * allocation's job. Prints its own job id, then each task's "job.step", then "done".
   */
  public static final class AllocationParent {
    public static void main(String[] args) throws Exception {
      System.out.println("allocation " + System.getenv("SLURM_JOB_ID"));
      try (Pool pool = Pool.builder().workers(2).launcher(launcher()).build()) {
        for (String s : pool.map(SlurmClusterTest::jobAndStep, List.of(1, 2, 3, 4, 5, 6, 7, 8))) {
          System.out.println("task " + s);
        }
      }
      System.out.println("done");
    }
  }

  @Test
  void pool_insideAnAllocation_workersAreStepsOfItsJob() throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    Process salloc =
        new ProcessBuilder(
                "salloc", "--quiet", "--job-name=procpool-allocation-test", "--nodes=1", "--ntasks=1",
                "--cpus-per-task=4", java, "-cp", System.getProperty("java.class.path"),
                AllocationParent.class.getName())
            .redirectError(ProcessBuilder.Redirect.DISCARD)
            .start();
    try {
      String out = new String(salloc.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertTrue(salloc.waitFor(120, TimeUnit.SECONDS), "salloc did not end");
      assertEquals(0, salloc.exitValue(), out);
      List<String> lines = List.of(out.split("\n"));
      assertTrue(lines.contains("done"), out);
      String job = lines.get(0).substring("allocation ".length());
      assertTrue(job.matches("[0-9]+"), "salloc gave no job id: " + out);
      java.util.Set<String> steps = new java.util.HashSet<>();
      for (String l : lines) {
        if (l.startsWith("task ")) {
          String[] js = l.substring(5).split("\\.");
          assertEquals(job, js[0], "a task ran outside the allocation's job: " + l);
          assertTrue(js[1].matches("[0-9]+"), "a task ran outside a step: " + l);
          steps.add(js[1]);
        }
      }
      assertEquals(2, steps.size(), "two workers, two steps: " + out);
    } finally {
      salloc.destroyForcibly();
    }
  }
}
