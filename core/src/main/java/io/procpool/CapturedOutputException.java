package io.procpool;

import static java.util.Objects.requireNonNull;

/**
 * Carries what a failed task printed: the pool adds one, as a suppressed exception, to the failure of a
 * task that ran with {@link WorkerOutput#CAPTURE}, whether the task threw, crashed its worker or timed
 * out. Its message holds the last lines of each stream, so a printed stack trace shows what the task
 * printed last; {@link #output()} holds all that was kept. {@link TaskOutput#of(Throwable)} finds it.
 *
 * <p>It has no stack trace of its own: it is a carrier, not a failure.
 */
public final class CapturedOutputException extends Exception {
  private static final long serialVersionUID = 1L;

  private static final int MESSAGE_LINES = 10;

  /** What the task printed. */
  private final TaskOutput output;

  /**
   * Creates a carrier for {@code output}.
   *
   * @param output what the task printed
   */
  public CapturedOutputException(TaskOutput output) {
    super(message(requireNonNull(output, "output")), null, false, false);
    this.output = output;
  }

  /**
   * What the task printed.
   *
   * @return the captured output
   */
  public TaskOutput output() {
    return output;
  }

  private static String message(TaskOutput o) {
    if (o.isEmpty()) {
      return "the task printed nothing";
    }
    StringBuilder b = new StringBuilder("what the task printed last");
    appendTail(b, "stdout", o.stdout());
    appendTail(b, "stderr", o.stderr());
    return b.toString();
  }

  private static void appendTail(StringBuilder b, String name, String text) {
    if (text.isEmpty()) {
      return;
    }
    String[] lines = text.split("\\R", -1);
    int end = lines.length;
    if (end > 0 && lines[end - 1].isEmpty()) {
      end--;
    }
    int start = Math.max(0, end - MESSAGE_LINES);
    b.append(System.lineSeparator()).append("  ").append(name);
    b.append(start > 0 ? " (last " + (end - start) + " lines):" : ":");
    for (int i = start; i < end; i++) {
      String line = lines[i].length() > 200 ? lines[i].substring(0, 200) + "..." : lines[i];
      b.append(System.lineSeparator()).append("    | ").append(line);
    }
  }
}
