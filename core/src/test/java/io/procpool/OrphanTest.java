package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No orphans: when the parent JVM dies, by SIGKILL (no shutdown hook runs) or by SIGTERM, every worker
 * and WorkerProcess child exits by itself within a few seconds.
 */
class OrphanTest {
  private static List<ProcessHandle> startParentAndReadChildren(List<Process> parents) throws Exception {
    return startParentAndReadChildren(parents, null);
  }

  private static List<ProcessHandle> startParentAndReadChildren(List<Process> parents, Path tmpdir)
      throws Exception {
    return startParentAndReadChildren(parents, tmpdir, null);
  }

  /**
   * {@code tmpdir}: the parent's java.io.tmpdir, where its pool's directories go; null for ours.
   * {@code sleepPidFile}: where a task of the parent writes the pid of a process it started; null for none.
   */
  private static List<ProcessHandle> startParentAndReadChildren(
      List<Process> parents, Path tmpdir, Path sleepPidFile) throws Exception {
    String java = ProcessHandle.current().info().command().orElseThrow();
    List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path")));
    if (tmpdir != null) {
      cmd.add("-Djava.io.tmpdir=" + tmpdir);
    }
    cmd.add(OrphanParent.class.getName());
    if (sleepPidFile != null) {
      cmd.add(sleepPidFile.toString());
    }
    Process parent = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
    parents.add(parent);
    BufferedReader out = new BufferedReader(new InputStreamReader(parent.getInputStream(), StandardCharsets.UTF_8));
    String line;
    while ((line = out.readLine()) != null && !line.startsWith("PIDS ")) {
      // Skip anything else the parent printed.
    }
    if (line == null) {
      throw new AssertionError("parent exited with " + parent.waitFor() + " before printing its children");
    }
    List<ProcessHandle> children =
        Arrays.stream(line.substring(5).split(" "))
            .map(Long::parseLong)
            .map(ProcessHandle::of)
            .map(Optional::orElseThrow)
            .collect(Collectors.toList());
    assertEquals(3, children.size());
    for (ProcessHandle c : children) {
      assertEquals(parent.pid(), c.parent().orElseThrow().pid(), "each child's parent is the parent JVM");
    }
    return children;
  }

  private static void assertAllExitWithin(List<ProcessHandle> children, Duration limit) {
    long start = System.nanoTime();
    List<ProcessHandle> alive = new ArrayList<>(children);
    try {
      Conditions.await(
          "every child of the dead parent to exit", limit, () -> alive.stream().noneMatch(ProcessHandle::isAlive));
    } finally {
      // They are no longer our descendants: clean up here whatever happened.
      children.forEach(ProcessHandle::destroyForcibly);
    }
    System.err.println("orphans gone after " + (System.nanoTime() - start) / 1_000_000 + " ms");
  }

  @Test
  void parentSigkilled_everyWorkerExitsWithinSeconds() throws Exception {
    List<Process> parents = new ArrayList<>();
    try {
      List<ProcessHandle> children = startParentAndReadChildren(parents);
      parents.get(0).destroyForcibly().waitFor();
      assertAllExitWithin(children, Duration.ofSeconds(5));
    } finally {
      parents.forEach(Process::destroyForcibly);
    }
  }

  private static List<Path> poolDirectories(Path tmpdir) throws Exception {
    try (Stream<Path> files = Files.list(tmpdir)) {
      return files.filter(p -> p.getFileName().toString().startsWith("procpool-")).collect(Collectors.toList());
    }
  }

  @Test
  void parentSigkilled_nextPoolRemovesItsDirectories(@TempDir Path tmpdir) throws Exception {
    List<Process> parents = new ArrayList<>();
    try {
      List<ProcessHandle> children = startParentAndReadChildren(parents, tmpdir);
      assertEquals(2, poolDirectories(tmpdir).size(), "the pool's and the WorkerProcess's: " + poolDirectories(tmpdir));
      parents.get(0).destroyForcibly().waitFor();
      assertAllExitWithin(children, Duration.ofSeconds(5));
      assertEquals(2, poolDirectories(tmpdir).size(), "no hook ran: " + poolDirectories(tmpdir));
    } finally {
      parents.forEach(Process::destroyForcibly);
    }
    String before = System.getProperty("java.io.tmpdir");
    System.setProperty("java.io.tmpdir", tmpdir.toString());
    try (Pool next = Pool.builder().workers(1).launcher(new ThreadLauncher()).build()) {
      List<Path> left = poolDirectories(tmpdir);
      assertEquals(1, left.size(), "only the next pool's own directory is left: " + left);
      assertTrue(left.get(0).toString().contains("procpool-"), next + " made " + left);
    } finally {
      System.setProperty("java.io.tmpdir", before);
    }
    assertEquals(List.of(), poolDirectories(tmpdir), "the next pool's directory is gone after close()");
  }

  @Test
  void parentSigtermedWithoutClose_itsDirectoriesAreRemovedAtExit(@TempDir Path tmpdir) throws Exception {
    List<Process> parents = new ArrayList<>();
    try {
      List<ProcessHandle> children = startParentAndReadChildren(parents, tmpdir);
      assertEquals(2, poolDirectories(tmpdir).size(), poolDirectories(tmpdir).toString());
      parents.get(0).destroy();
      assertTrue(parents.get(0).waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
      // Its exit hook killed the workers, then removed the pool's and the WorkerProcess's directories.
      assertEquals(List.of(), poolDirectories(tmpdir), "left behind by a parent that exited without close()");
      assertAllExitWithin(children, Duration.ofSeconds(5));
    } finally {
      parents.forEach(Process::destroyForcibly);
    }
  }

  @Test
  void parentSigkilled_processStartedByATaskDiesWithTheWorkers(@TempDir Path tmp) throws Exception {
    Path pidFile = tmp.resolve("sleep.pid");
    List<Process> parents = new ArrayList<>();
    long sleep = -1;
    try {
      List<ProcessHandle> children = startParentAndReadChildren(parents, null, pidFile);
      Conditions.await("the task to start sleep", Duration.ofSeconds(30), () -> Files.exists(pidFile));
      sleep = Long.parseLong(Files.readString(pidFile).trim());
      parents.get(0).destroyForcibly().waitFor();
      assertAllExitWithin(children, Duration.ofSeconds(5));
      long pid = sleep;
      Conditions.await(
          "sleep (pid " + pid + "), started by a task, to die with its worker after the parent's SIGKILL",
          Duration.ofSeconds(5),
          () -> ProcessHandle.of(pid).map(h -> !h.isAlive()).orElse(true));
    } finally {
      parents.forEach(Process::destroyForcibly);
      if (sleep > 0) {
        ProcessHandle.of(sleep).ifPresent(ProcessHandle::destroyForcibly);
      }
    }
  }

  @Test
  void parentSigtermed_everyWorkerExits() throws Exception {
    List<Process> parents = new ArrayList<>();
    try {
      List<ProcessHandle> children = startParentAndReadChildren(parents);
      parents.get(0).destroy();
      assertTrue(parents.get(0).waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
      assertAllExitWithin(children, Duration.ofSeconds(5));
    } finally {
      parents.forEach(Process::destroyForcibly);
    }
  }

  @Test
  void parentSigint_everyWorkerExits() throws Exception {
    List<Process> parents = new ArrayList<>();
    try {
      List<ProcessHandle> children = startParentAndReadChildren(parents);
      new ProcessBuilder("kill", "-INT", Long.toString(parents.get(0).pid())).start().waitFor();
      assertTrue(parents.get(0).waitFor(30, java.util.concurrent.TimeUnit.SECONDS));
      assertAllExitWithin(children, Duration.ofSeconds(5));
    } finally {
      parents.forEach(Process::destroyForcibly);
    }
  }
}
