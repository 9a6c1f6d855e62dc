package io.procpool.examples.pie;

import java.math.BigInteger;

/**
 * Decimal expansions of pi and e, computed exactly with {@link BigInteger} arithmetic.
 *
 * <p>Both constants are evaluated as fixed-point integers (the constant times {@code 10^n}) by
 * <em>binary splitting</em>: a series of {@code N} rational terms is summed by recursively
 * combining the two halves of the index range into one exact fraction. The operands at each level
 * of the recursion are about the same size, so the cost is dominated by a few multiplications of
 * full-size numbers, which {@code BigInteger} does sub-quadratically (Karatsuba/Toom-Cook), rather
 * than by {@code N} full-precision divisions as in a term-by-term summation. That is what makes
 * 100,000 digits of either constant take about a second on one core in a fresh JVM, and a few
 * hundred milliseconds once the JIT has compiled {@code BigInteger}.
 *
 * <p>The result is <em>truncated</em>, never rounded, and is proven correct rather than merely
 * likely: each fixed-point value is computed with guard digits and a known error bound, and the
 * requested digits are only returned if both ends of the error interval truncate to the same
 * digits. Otherwise (a run of 9s or 0s straddling the cut, vanishingly rare) the computation is
 * repeated with more guard digits.
 *
 * <p>The methods are pure, static and single-threaded, so they can be shipped to worker JVMs as
 * tasks.
 */
public final class Digits {

  /**
   * The largest digit count accepted. It keeps every intermediate value (about {@code 2 * digits}
   * decimal digits for the square root in {@link #pi}) and the returned string well inside the
   * limits of {@code BigInteger} and {@code String}; anything near it takes hours anyway.
   */
  public static final int MAX_DIGITS = 100_000_000;

  /**
   * Guard digits of the first attempt. The error bounds below are single-digit units in the last
   * place, so 20 guard digits make a retry a 1-in-10^19 event while costing almost nothing.
   */
  private static final int INITIAL_GUARD_DIGITS = 20;

  /**
   * Bound, in units of {@code 10^-n}, on {@code |piScaled(n) - pi * 10^n|}. The analysis in {@link
   * #piScaled} gives less than 1.1; the slack costs nothing.
   */
  private static final int PI_ERROR_BOUND = 4;

  /**
   * Bound, in units of {@code 10^-n}, on {@code |eScaled(n) - e * 10^n|}. The analysis in {@link
   * #eScaled} gives less than 1.01.
   */
  private static final int E_ERROR_BOUND = 4;

  // Chudnovsky: 1/pi = 12 * sum_k (-1)^k (6k)! (A + Bk) / ((3k)! (k!)^3 C^(3k + 3/2)),
  // rearranged as pi = 426880 * sqrt(10005) / S with S = sum_k (-1)^k (6k)! (A + Bk)
  // / ((3k)! (k!)^3 C^(3k)), because 426880 * sqrt(10005) = C^(3/2) / 12.
  private static final long CHUDNOVSKY_A = 13_591_409L;
  private static final long CHUDNOVSKY_B = 545_140_134L;
  /** {@code C^3 / 24} with {@code C = 640320}: the constant factor of {@code q_k} below. */
  private static final BigInteger C3_OVER_24 = BigInteger.valueOf(10_939_058_860_032_000L);

  /** Below this size {@link BigInteger#sqrt()} is fast enough, and it ends the recursion. */
  private static final int SQRT_RECURSION_THRESHOLD_BITS = 1024;

  private static final BigInteger CHUDNOVSKY_SQRT_RADICAND = BigInteger.valueOf(10_005L);
  private static final BigInteger CHUDNOVSKY_FACTOR = BigInteger.valueOf(426_880L);

  /**
   * Decimal digits gained per Chudnovsky term: {@code log10(C^3 / 1728)}, the limit of the
   * term-to-term ratio.
   */
  private static final double DIGITS_PER_CHUDNOVSKY_TERM = 14.181647462725477;

  private Digits() {}

  /**
   * Returns pi to {@code digits} decimal places, truncated: {@code "3."} followed by exactly
   * {@code digits} digits, e.g. {@code pi(5)} is {@code "3.14159"}.
   *
   * <p>Uses the Chudnovsky series, which gains about 14.18 digits per term (versus about 1.4 for
   * Machin's formula), summed by binary splitting, and one integer square root for the {@code
   * sqrt(10005)} factor. It is the method used by record-setting pi computations because it needs
   * the fewest full-precision operations.
   *
   * @param digits number of decimal places, from 1 to {@link #MAX_DIGITS}
   * @throws IllegalArgumentException if {@code digits} is out of range
   */
  public static String pi(int digits) {
    checkDigits(digits);
    for (int guard = INITIAL_GUARD_DIGITS; ; guard *= 2) {
      String truncated = truncate(piScaled(digits + guard), guard, PI_ERROR_BOUND);
      if (truncated != null) {
        return withDecimalPoint(truncated);
      }
    }
  }

  /**
   * Returns e to {@code digits} decimal places, truncated: {@code "2."} followed by exactly {@code
   * digits} digits, e.g. {@code e(5)} is {@code "2.71828"}.
   *
   * <p>Sums {@code 1/k!} by binary splitting. The series needs only as many terms as it takes for
   * {@code k!} to exceed {@code 10^digits} (about 25,000 terms for 100,000 digits), and binary
   * splitting turns them into a single fraction whose one division is the only full-precision
   * division of the computation.
   *
   * @param digits number of decimal places, from 1 to {@link #MAX_DIGITS}
   * @throws IllegalArgumentException if {@code digits} is out of range
   */
  public static String e(int digits) {
    checkDigits(digits);
    for (int guard = INITIAL_GUARD_DIGITS; ; guard *= 2) {
      String truncated = truncate(eScaled(digits + guard), guard, E_ERROR_BOUND);
      if (truncated != null) {
        return withDecimalPoint(truncated);
      }
    }
  }

  /**
   * Returns an integer within {@link #PI_ERROR_BOUND} of {@code pi * 10^n}.
   *
   * <p>Error analysis, as the basis of the bound: the Chudnovsky series alternates with terms
   * shrinking by a factor of more than {@code 10^14.18} each, so stopping after {@code n / 14.18 +
   * 2} terms leaves a relative error far below {@code 10^-n}; the floored square root is off by
   * less than one unit, which the factor {@code 426880 * Q / T ~ pi / sqrt(10005) ~ 0.03} shrinks
   * further; the final floored division adds less than one unit.
   */
  static BigInteger piScaled(int n) {
    long terms = (long) (n / DIGITS_PER_CHUDNOVSKY_TERM) + 2;
    ChudnovskySum sum = chudnovsky(0, terms, false);
    BigInteger sqrt = sqrt(CHUDNOVSKY_SQRT_RADICAND.multiply(BigInteger.TEN.pow(2 * n)));
    return CHUDNOVSKY_FACTOR.multiply(sqrt).multiply(sum.q()).divide(sum.t());
  }

  /**
   * Returns an integer within {@link #E_ERROR_BOUND} of {@code e * 10^n}.
   *
   * <p>Error analysis: the series is cut once {@code N!} exceeds {@code 10^(n + 3)}, so the
   * omitted tail {@code sum_{k > N} 1/k!} is below {@code 10^-(n + 3)} (the 3 extra digits also
   * absorb floating-point error in choosing {@code N}); the floored division adds less than one
   * unit. The result never exceeds {@code e * 10^n}.
   */
  static BigInteger eScaled(int n) {
    long terms = factorialExceedingPowerOfTen(n + 3L);
    FactorialSum sum = factorialSum(0, terms);
    BigInteger scale = BigInteger.TEN.pow(n);
    return scale.add(scale.multiply(sum.p()).divide(sum.q()));
  }

  /**
   * Returns the digits of {@code floor(x / 10^guard)} if that value is the same for every {@code
   * x} in {@code [scaled - errorBound, scaled + errorBound]}, otherwise {@code null}. Agreement
   * proves the digits are those of the exact constant, whatever the true value inside the interval.
   */
  static String truncate(BigInteger scaled, int guard, int errorBound) {
    BigInteger pow = BigInteger.TEN.pow(guard);
    BigInteger bound = BigInteger.valueOf(errorBound);
    BigInteger low = scaled.subtract(bound).divide(pow);
    BigInteger high = scaled.add(bound).divide(pow);
    return low.equals(high) ? low.toString() : null;
  }

  /**
   * Returns {@code floor(sqrt(n))}, like {@link BigInteger#sqrt()} but much faster for large
   * {@code n}: about 40 ms instead of over a second for the 200,000-digit radicand of {@code
   * pi(100_000)}.
   *
   * <p>Recursive Newton iteration with precision doubling: the square root of the top half of the
   * bits, shifted back, is correct to about half the result's bits, and one Newton step {@code (s
   * + n / s) / 2} then makes it exact to within a unit. The whole costs about two full-size
   * divisions, whereas {@code BigInteger.sqrt} starts from a 63-bit estimate and runs every Newton
   * iteration at full precision.
   *
   * @throws ArithmeticException if {@code n} is negative
   */
  static BigInteger sqrt(BigInteger n) {
    int bits = n.bitLength();
    if (bits <= SQRT_RECURSION_THRESHOLD_BITS) {
      return n.sqrt();
    }
    // Dropping 2h low bits, h a bit under a quarter of the length, leaves a start value whose
    // error e is below 2^h, and Newton's error e^2 / 2s is then at most about 1/8.
    int h = bits / 4 - 1;
    BigInteger s = sqrt(n.shiftRight(2 * h)).shiftLeft(h);
    s = s.add(n.divide(s)).shiftRight(1);
    // A Newton step from any positive start lands at or above sqrt(n) (AM-GM), so only a step
    // down can be needed.
    while (s.multiply(s).compareTo(n) > 0) {
      s = s.subtract(BigInteger.ONE);
    }
    return s;
  }

  /**
   * Binary splitting of the Chudnovsky series over terms {@code [a, b)}. With {@code p_k = (6k-5)
   * (2k-1) (6k-1)} and {@code q_k = k^3 C^3 / 24} (the ratio of consecutive terms, up to sign, is
   * {@code p_k / q_k}), it returns {@code P = prod p_k}, {@code Q = prod q_k} and {@code T} such
   * that {@code T(0, N) / Q(0, N)} is the partial sum {@code S_N}.
   *
   * @param needP whether the caller needs {@code P}; the rightmost branch of the recursion never
   *     does, and skipping it saves the largest multiplications of that branch
   */
  private static ChudnovskySum chudnovsky(long a, long b, boolean needP) {
    if (b - a == 1) {
      BigInteger p;
      BigInteger q;
      if (a == 0) {
        p = BigInteger.ONE;
        q = BigInteger.ONE;
      } else {
        // Multiplied as BigIntegers: the product overflows a long beyond about 500,000 terms.
        p =
            BigInteger.valueOf(6 * a - 5)
                .multiply(BigInteger.valueOf(2 * a - 1))
                .multiply(BigInteger.valueOf(6 * a - 1));
        q = BigInteger.valueOf(a).pow(3).multiply(C3_OVER_24);
      }
      BigInteger t = p.multiply(BigInteger.valueOf(CHUDNOVSKY_A + CHUDNOVSKY_B * a));
      return new ChudnovskySum(p, q, (a & 1) == 0 ? t : t.negate());
    }
    long m = (a + b) >>> 1;
    ChudnovskySum left = chudnovsky(a, m, true);
    ChudnovskySum right = chudnovsky(m, b, needP);
    return new ChudnovskySum(
        needP ? left.p().multiply(right.p()) : null,
        left.q().multiply(right.q()),
        left.t().multiply(right.q()).add(left.p().multiply(right.t())));
  }

  /**
   * Binary splitting of {@code sum_{k=a+1..b} 1 / ((a+1) (a+2) ... k)}, returned as {@code P / Q}
   * with {@code Q = (a+1) (a+2) ... b}; for {@code a = 0} that is {@code sum_{k=1..b} 1/k!}. Halves
   * combine as {@code P = P1 Q2 + P2}, {@code Q = Q1 Q2}.
   */
  private static FactorialSum factorialSum(long a, long b) {
    if (b - a == 1) {
      return new FactorialSum(BigInteger.ONE, BigInteger.valueOf(b));
    }
    long m = (a + b) >>> 1;
    FactorialSum left = factorialSum(a, m);
    FactorialSum right = factorialSum(m, b);
    return new FactorialSum(
        left.p().multiply(right.q()).add(right.p()), left.q().multiply(right.q()));
  }

  /**
   * Returns the smallest {@code N >= 1} with {@code log10(N!) >= exponent}, up to floating-point
   * rounding in the running sum, which callers absorb with a margin in {@code exponent}.
   */
  private static long factorialExceedingPowerOfTen(long exponent) {
    long n = 1;
    double log10Factorial = 0;
    while (log10Factorial < exponent) {
      n++;
      log10Factorial += Math.log10((double) n);
    }
    return n;
  }

  private static String withDecimalPoint(String integerDigits) {
    // Both constants lie in [1, 10), so the integer part is exactly the first character.
    return new StringBuilder(integerDigits.length() + 1)
        .append(integerDigits.charAt(0))
        .append('.')
        .append(integerDigits, 1, integerDigits.length())
        .toString();
  }

  private static void checkDigits(int digits) {
    if (digits < 1) {
      throw new IllegalArgumentException("digits is " + digits + ", but must be at least 1");
    }
    if (digits > MAX_DIGITS) {
      throw new IllegalArgumentException(
          "digits is " + digits + ", but must be at most " + MAX_DIGITS);
    }
  }

  /** {@code P}, {@code Q}, {@code T} of one Chudnovsky binary-splitting range. */
  private record ChudnovskySum(BigInteger p, BigInteger q, BigInteger t) {}

  /** {@code P / Q} of one factorial-series binary-splitting range. */
  private record FactorialSum(BigInteger p, BigInteger q) {}
}
