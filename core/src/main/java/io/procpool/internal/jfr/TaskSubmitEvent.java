package io.procpool.internal.jfr;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/** A task (a submit, or one chunk of a map) was queued. */
@Name("io.procpool.TaskSubmit")
@Label("Task Submit")
@Category("procpool")
@Description("A task (a submit, or one chunk of a map) was accepted and queued")
@StackTrace(false)
final class TaskSubmitEvent extends jdk.jfr.Event {
  @Label("Pool")
  String pool;

  @Label("Task Id")
  long taskId;

  @Label("Task")
  @Description("The task function, e.g. Primes::count")
  String task;

  @Label("Inputs")
  @Description("Inputs in the task: 1 for a submit, the chunk size for a map")
  int inputs;
}
