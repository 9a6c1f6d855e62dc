package io.procpool.worker;

import io.procpool.internal.worker.WorkerMain;

/**
 * Main class of the worker agent jar. It speaks exactly the protocol a pool's own workers speak: it reads
 * a length-delimited {@code procpool.v1.Bootstrap} from stdin, connects to the parent it names,
 * authenticates with the pool's secret and runs tasks until told to stop or until its stdin closes. Task
 * classes must be on its classpath ({@code java -cp agent.jar:tasks.jar io.procpool.worker.WorkerAgent}).
 */
public final class WorkerAgent {
  private WorkerAgent() {}

  /**
   * Runs the worker.
   *
   * @param args ignored: everything the worker needs comes on stdin
   */
  public static void main(String[] args) {
    WorkerMain.main(args);
  }
}
