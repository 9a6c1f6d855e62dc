package io.procpool.examples.primes;

/**
 * Counts primes by naive trial division, as a deliberately CPU-bound, allocation-free benchmark
 * workload.
 *
 * <p>Trial division by every {@code d} with {@code d * d <= k} is chosen <em>because</em> it is
 * slow and simple: its cost is predictable (dominated by the primes, about {@code (2/3)
 * limit^1.5 / ln(limit)} divisions), it touches no memory, and it can be written identically in
 * any language, so timings against other runtimes compare like for like. The loop matches this
 * Python exactly, divisor for divisor:
 *
 * <pre>{@code
 * for k in range(2, limit):
 *     d = 2
 *     while d * d <= k:
 *         if k % d == 0:
 *             break
 *         d += 1
 *     else:
 *         n += 1
 * }</pre>
 *
 * <p>A sieve would be orders of magnitude faster and is the wrong tool here on purpose.
 */
public final class Primes {

  private Primes() {}

  /**
   * Returns the number of primes {@code p} with {@code p < limit}, e.g. 25 for 100.
   *
   * @param limit exclusive upper bound, at least 0
   * @throws IllegalArgumentException if {@code limit} is negative
   */
  public static long countBelow(int limit) {
    if (limit < 0) {
      throw new IllegalArgumentException("limit is " + limit + ", but must be at least 0");
    }
    return countInRange(0, limit);
  }

  /**
   * Returns the number of primes {@code p} with {@code from <= p < to}, so that adjacent ranges
   * {@code [a, b)}, {@code [b, c)} split a count without overlap, for chunked maps. Work per range
   * grows with the size of its numbers, so equal-width chunks are not equal-cost: later chunks of
   * {@code [0, limit)} take longer.
   *
   * @param from inclusive lower bound, at least 0
   * @param to exclusive upper bound, at least {@code from}; an empty range counts 0
   * @throws IllegalArgumentException if {@code from} is negative or {@code to < from}
   */
  public static long countInRange(long from, long to) {
    if (from < 0) {
      throw new IllegalArgumentException("from is " + from + ", but must be at least 0");
    }
    if (to < from) {
      throw new IllegalArgumentException(
          "to is " + to + ", but must be at least from (" + from + ")");
    }
    long count = 0;
    for (long k = Math.max(from, 2); k < to; k++) {
      if (isPrime(k)) {
        count++;
      }
    }
    return count;
  }

  /** Returns whether {@code k} is prime, by trial division; {@code false} for {@code k < 2}. */
  static boolean isPrime(long k) {
    if (k < 2) {
      return false;
    }
    // 32-bit division is the common case and is cheaper on many CPUs, so the benchmark measures
    // the same loop whether it comes through countBelow or countInRange.
    return k <= Integer.MAX_VALUE ? isPrimeInt((int) k) : isPrimeLong(k);
  }

  private static boolean isPrimeInt(int k) {
    // The square is taken in long arithmetic: for primes near Integer.MAX_VALUE, d reaches 46341,
    // whose int square overflows to a negative number and would never end the loop.
    for (int d = 2; (long) d * d <= k; d++) {
      if (k % d == 0) {
        return false;
      }
    }
    return true;
  }

  private static boolean isPrimeLong(long k) {
    // d <= k / d is d * d <= k without the overflow that d * d has near Long.MAX_VALUE.
    for (long d = 2; d <= k / d; d++) {
      if (k % d == 0) {
        return false;
      }
    }
    return true;
  }
}
