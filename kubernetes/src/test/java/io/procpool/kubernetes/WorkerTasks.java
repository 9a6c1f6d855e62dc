package io.procpool.kubernetes;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Tasks that the tests' workers run: in a class of their own, so that a worker loads no more than them
 * (the test class's static setup, and the fabric8 classes it refers to, stay in the test JVM).
 */
final class WorkerTasks {
  private WorkerTasks() {}

  /** Where a task ran: the worker's pid, its Pod (downward API) and a variable the launcher set. */
  static String whereAmI(Integer ignored) {
    return ProcessHandle.current().pid() + " " + System.getenv("POD_NAME") + " " + System.getenv("GREETING") + " "
        + System.getProperty("procpool.test.option");
  }

  /** The first run makes the marker file and then works for a minute; a run that finds it returns at once. */
  static String slowFirstTime(String marker) throws Exception {
    Path m = Path.of(marker);
    if (Files.exists(m)) {
      return System.getenv("POD_NAME");
    }
    Files.createFile(m);
    Thread.sleep(60_000);
    return "the first run was not stopped";
  }
}
