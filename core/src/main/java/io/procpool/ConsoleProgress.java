package io.procpool;

import static java.util.Objects.requireNonNull;

import java.io.PrintStream;
import java.time.Duration;
import java.util.Locale;

/**
 * A {@link ProgressListener} that shows a progress line on a console, like Python's tqdm.
 *
 * <p>On a terminal ({@code interactive}) it redraws one line in place with a carriage return, at most
 * every 100 ms, and ends it with a newline on the final call:
 *
 * <pre>
 * primes  42% |##########              | 27/64 [00:03&lt;00:04, 8.1/s]
 * </pre>
 *
 * <p>Otherwise (output to a file or a CI log) it prints a plain line every 5 seconds and on the final
 * call, so a log is not flooded with redraws:
 *
 * <pre>
 * primes: 27/64 (42%) in 00:03, 8.1/s, ETA 00:04
 * </pre>
 *
 * <p>Use one instance per call: it remembers what it drew last. Calls for one map never overlap (see
 * {@link ProgressListener}), so an instance needs no locking of its own.
 */
public final class ConsoleProgress implements ProgressListener {
  private static final int BAR_WIDTH = 24;
  private static final Duration PLAIN_INTERVAL = Duration.ofSeconds(5);

  private final PrintStream out;
  private final boolean interactive;
  private final String label;

  // Calls for one map never overlap, and each happens-after the one before (see ProgressListener).
  private int lastWidth;
  private Duration lastPlain = Duration.ZERO;

  private ConsoleProgress(PrintStream out, boolean interactive, String label) {
    this.out = out;
    this.interactive = interactive;
    this.label = label;
  }

  /**
   * Progress on {@link System#err}, redrawn in place when this JVM has a console ({@link System#console()}
   * is not null), else as plain periodic lines.
   *
   * @return a new listener
   */
  @SuppressWarnings("SystemConsoleNull") // On JDK 17-21, null is exactly "not a terminal".
  public static ConsoleProgress toStderr() {
    return to(System.err, System.console() != null);
  }

  /**
   * Progress on {@code out}.
   *
   * @param out where to print
   * @param interactive true to redraw one line in place with {@code \r}; false for plain periodic lines
   * @return a new listener
   */
  public static ConsoleProgress to(PrintStream out, boolean interactive) {
    return new ConsoleProgress(requireNonNull(out, "out"), interactive, "");
  }

  /**
   * The same output, with {@code label} in front of each line.
   *
   * @param label a short description of the work, e.g. {@code "primes"}
   * @return a new listener
   */
  public ConsoleProgress withLabel(String label) {
    return new ConsoleProgress(out, interactive, requireNonNull(label, "label"));
  }

  @Override
  public void onProgress(Progress p) {
    if (interactive) {
      String line = interactiveLine(p);
      // Spaces erase what is left of a longer line drawn before.
      String pad = " ".repeat(Math.max(0, lastWidth - line.length()));
      lastWidth = line.length();
      out.print("\r" + line + pad + (p.isFinished() ? System.lineSeparator() : ""));
      out.flush();
    } else if (p.isFinished() || p.elapsed().minus(lastPlain).compareTo(PLAIN_INTERVAL) >= 0) {
      lastPlain = p.elapsed();
      out.println(plainLine(p));
    }
  }

  /** The redrawn line, e.g. {@code primes  42% |#####     | 27/64 [00:03<00:04, 8.1/s]}. */
  String interactiveLine(Progress p) {
    StringBuilder b = new StringBuilder();
    if (!label.isEmpty()) {
      b.append(label).append(' ');
    }
    long finished = p.done() + p.failed();
    if (p.total().isPresent()) {
      double fraction = p.fraction().orElse(0);
      int filled = (int) Math.floor(fraction * BAR_WIDTH);
      b.append(String.format(Locale.ROOT, "%3d%% |", (int) Math.floor(fraction * 100)))
          .append("#".repeat(filled))
          .append(" ".repeat(BAR_WIDTH - filled))
          .append("| ")
          .append(finished)
          .append('/')
          .append(p.total().getAsLong())
          .append(" [")
          .append(clock(p.elapsed()))
          .append('<')
          .append(p.eta().map(ConsoleProgress::clock).orElse("?"));
    } else {
      b.append(finished).append(" [").append(clock(p.elapsed()));
    }
    b.append(", ").append(rate(p)).append(']');
    if (p.failed() > 0) {
      b.append(' ').append(p.failed()).append(" failed");
    }
    return b.toString();
  }

  /** The periodic plain line, e.g. {@code primes: 27/64 (42%) in 00:03, 8.1/s, ETA 00:04}. */
  String plainLine(Progress p) {
    StringBuilder b = new StringBuilder();
    if (!label.isEmpty()) {
      b.append(label).append(": ");
    }
    long finished = p.done() + p.failed();
    b.append(finished);
    if (p.total().isPresent()) {
      b.append('/')
          .append(p.total().getAsLong())
          .append(String.format(Locale.ROOT, " (%d%%)", (int) Math.floor(p.fraction().orElse(0) * 100)));
    }
    b.append(" in ").append(clock(p.elapsed())).append(", ").append(rate(p));
    if (p.failed() > 0) {
      b.append(", ").append(p.failed()).append(" failed");
    }
    if (p.isFinished()) {
      b.append(", finished");
    } else {
      p.eta().ifPresent(eta -> b.append(", ETA ").append(clock(eta)));
    }
    return b.toString();
  }

  private static String rate(Progress p) {
    double r = p.ratePerSecond();
    return r >= 100 ? String.format(Locale.ROOT, "%.0f/s", r) : String.format(Locale.ROOT, "%.1f/s", r);
  }

  /** mm:ss, or h:mm:ss from an hour on. */
  static String clock(Duration d) {
    long s = Math.max(0, d.toSeconds());
    return s >= 3600
        ? String.format(Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(Locale.ROOT, "%02d:%02d", s / 60, s % 60);
  }

  @Override
  public String toString() {
    return "ConsoleProgress[" + (interactive ? "interactive" : "plain") + (label.isEmpty() ? "" : ", " + label) + "]";
  }
}
