package io.procpool.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** A worker's process exited and the pool has settled its tasks. */
@Name("io.procpool.WorkerExit")
@Label("Worker Exit")
@Category("procpool")
@Description("A worker JVM exited; expected when the pool told it to exit or killed it on purpose")
@StackTrace(false)
final class WorkerExitEvent extends jdk.jfr.Event {
  @Label("Pool")
  String pool;

  @Label("Worker Index")
  int workerIndex;

  @Label("Worker Pid")
  long pid;

  @Label("Exit Code")
  @Description("As Process.exitValue() reports it: 128 + n after signal n")
  int exitCode;

  @Label("Expected")
  @Description("True when the pool told the worker to exit or killed it (shutdown, recycling, timeout)")
  boolean expected;

  @Label("Tasks Completed")
  @Description("Task inputs the worker finished")
  long tasksCompleted;

  @Label("Uptime")
  @Timespan(Timespan.NANOSECONDS)
  long uptime;
}
