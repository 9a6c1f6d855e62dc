package io.procpool.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;
import jdk.jfr.Timespan;

/** A worker became ready for tasks: its JVM started, connected and ran the initializer. */
@Name("io.procpool.WorkerStart")
@Label("Worker Start")
@Category("procpool")
@Description("A worker JVM started, connected back and ran the initializer; it now takes tasks")
@StackTrace(false)
final class WorkerStartEvent extends jdk.jfr.Event {
  @Label("Pool")
  String pool;

  @Label("Worker Index")
  int workerIndex;

  @Label("Worker Pid")
  long pid;

  @Label("Start-up Time")
  @Description("From launching the JVM to its being ready for tasks")
  @Timespan(Timespan.NANOSECONDS)
  long startupTime;
}
