package io.procpool.examples.pie;

import io.procpool.Pool;
import java.io.PrintStream;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/**
 * Computes the digits of pi in one worker JVM and of e in another at the same time, checks them,
 * and compares the wall time with computing both one after the other in this JVM.
 *
 * <p>Usage: {@code PiAndE [digits]}, default 100000. Exits with 1 if a digit is wrong.
 */
public final class PiAndE {

  static final int DEFAULT_DIGITS = 100_000;

  // Known values; the trailing ten are checked only at DEFAULT_DIGITS, where they were verified.
  private static final String PI_START = "3.1415926535";
  private static final String PI_END = "5493624646";
  private static final String E_START = "2.7182818284";
  private static final String E_END = "1004271658";

  private PiAndE() {}

  public static void main(String[] args) throws InterruptedException, ExecutionException {
    int digits = args.length > 0 ? Integer.parseInt(args[0]) : DEFAULT_DIGITS;
    if (!run(digits, System.out)) {
      System.exit(1);
    }
  }

  /**
   * Runs the example, printing to {@code out}; returns whether every checked digit was right.
   *
   * @param digits decimal places, at least 10 (the known leading digits that are checked)
   */
  public static boolean run(int digits, PrintStream out)
      throws InterruptedException, ExecutionException {
    if (digits < 10) {
      throw new IllegalArgumentException("digits is " + digits + ", but must be at least 10");
    }
    long start = System.nanoTime();
    long workersUp;
    long computed;
    String pi;
    String e;
    try (Pool pool = Pool.builder().workers(2).build()) {
      workersUp = System.nanoTime();
      // Both tasks are sent before either result is awaited, so the two workers run at once.
      Future<String> piFuture = pool.submit(Digits::pi, digits);
      Future<String> eFuture = pool.submit(Digits::e, digits);
      pi = piFuture.get();
      e = eFuture.get();
      computed = System.nanoTime();
    } // close() is Python's join(): it returns once both worker JVMs have exited.
    long end = System.nanoTime();

    boolean ok = check(out, "pi", pi, digits, PI_START, PI_END);
    ok &= check(out, "e ", e, digits, E_START, E_END);

    long sequentialStart = System.nanoTime();
    Digits.pi(digits);
    Digits.e(digits);
    long sequential = System.nanoTime() - sequentialStart;

    out.printf(
        "2 worker JVMs at once: %,d ms (starting %,d, computing %,d, stopping %,d)%n",
        millis(end - start),
        millis(workersUp - start),
        millis(computed - workersUp),
        millis(end - computed));
    out.printf("one after the other in this JVM: %,d ms%n", millis(sequential));
    return ok;
  }

  private static boolean check(
      PrintStream out, String name, String value, int digits, String start, String end) {
    boolean ok =
        value.length() == digits + 2
            && value.startsWith(start)
            && (digits != DEFAULT_DIGITS || value.endsWith(end));
    out.printf(
        "%s = %s...%s (%,d digits) %s%n",
        name,
        value.substring(0, start.length()),
        value.substring(value.length() - end.length()),
        digits,
        ok ? "ok" : "WRONG");
    return ok;
  }

  private static long millis(long nanos) {
    return nanos / 1_000_000;
  }
}
