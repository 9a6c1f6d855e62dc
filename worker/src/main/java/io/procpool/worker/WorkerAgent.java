package io.procpool.worker;

import io.procpool.internal.worker.WorkerMain;

/**
 * Main class of the worker agent jar. It speaks exactly the protocol a pool's own workers speak: it reads
 * a length-delimited {@code procpool.v1.Bootstrap}, connects to the parent it names, authenticates with
 * the pool's secret and runs tasks until told to stop or until its parent is gone. Task classes must be on
 * its classpath ({@code java -cp agent.jar:tasks.jar io.procpool.worker.WorkerAgent}).
 *
 * <p>The bootstrap comes from the file named by {@code PROCPOOL_BOOTSTRAP_FILE} (deleted once read), else
 * from {@code PROCPOOL_BOOTSTRAP} (base64), else from stdin, never from the command line. From stdin, the
 * end of stdin also means the parent is gone; otherwise the end of its stream does.
 */
public final class WorkerAgent {
  private WorkerAgent() {}

  /**
   * Runs the worker.
   *
   * @param args ignored: everything the worker needs comes in its bootstrap
   */
  public static void main(String[] args) {
    WorkerMain.main(args);
  }
}
