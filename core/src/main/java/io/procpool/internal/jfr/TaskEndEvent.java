package io.procpool.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** A task finished on a worker: it returned, threw, was cancelled, crashed its worker or timed out. */
@Name("io.procpool.TaskEnd")
@Label("Task End")
@Category("procpool")
@Description("A task finished on a worker: SUCCEEDED, FAILED, CANCELLED, CRASHED or TIMED_OUT")
@StackTrace(false)
final class TaskEndEvent extends jdk.jfr.Event {
  @Label("Pool")
  String pool;

  @Label("Task Id")
  long taskId;

  @Label("Task")
  String task;

  @Label("Inputs")
  int inputs;

  @Label("Worker Index")
  int workerIndex;

  @Label("Worker Pid")
  long pid;

  @Label("Outcome")
  @Description("SUCCEEDED, FAILED (threw or could not be encoded), CANCELLED, CRASHED or TIMED_OUT")
  String outcome;

  @Label("Run Time")
  @Description("Time the task ran on its worker (its wait in the queue excluded)")
  @Timespan(Timespan.NANOSECONDS)
  long runTime;
}
