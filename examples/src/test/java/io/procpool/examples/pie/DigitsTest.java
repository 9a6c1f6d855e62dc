package io.procpool.examples.pie;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigInteger;
import java.util.Random;
import org.junit.jupiter.api.Test;

class DigitsTest {

  private static final String PI_50 = "3.14159265358979323846264338327950288419716939937510";
  private static final String E_50 = "2.71828182845904523536028747135266249775724709369995";

  // Digits 1-10 and 99,991-100,000 after the point, checked against two independent methods
  // (Machin's formula with Python integers and Gauss-Legendre with Python's decimal for pi; the
  // Taylor series with Python integers and decimal's exp for e).
  private static final String PI_100K_FIRST_10 = "1415926535";
  private static final String PI_100K_LAST_10 = "5493624646";
  private static final String E_100K_FIRST_10 = "7182818284";
  private static final String E_100K_LAST_10 = "1004271658";

  @Test
  void pi_fiftyDigits_matchesKnownValue() {
    assertEquals(PI_50, Digits.pi(50));
  }

  @Test
  void e_fiftyDigits_matchesKnownValue() {
    assertEquals(E_50, Digits.e(50));
  }

  @Test
  void pi_oneDigit_isThreePointOne() {
    assertEquals("3.1", Digits.pi(1));
  }

  @Test
  void e_oneDigit_isTwoPointSeven() {
    assertEquals("2.7", Digits.e(1));
  }

  @Test
  void pi_everyLengthUpTo800_isPrefixOfLongerExpansion() {
    // Covers truncation (not rounding) at every cut, including the run of six 9s at digits
    // 762-767 where a rounding or short-guard bug would show.
    String longer = Digits.pi(800);
    for (int digits = 1; digits <= 800; digits++) {
      assertEquals(longer.substring(0, digits + 2), Digits.pi(digits), "digits=" + digits);
    }
  }

  @Test
  void e_everyLengthUpTo800_isPrefixOfLongerExpansion() {
    String longer = Digits.e(800);
    for (int digits = 1; digits <= 800; digits++) {
      assertEquals(longer.substring(0, digits + 2), Digits.e(digits), "digits=" + digits);
    }
  }

  @Test
  void pi_hundredThousandDigits_matchesVerifiedEnds() {
    String pi = Digits.pi(100_000);

    assertEquals(100_002, pi.length());
    assertEquals("3." + PI_100K_FIRST_10, pi.substring(0, 12));
    assertEquals(PI_100K_LAST_10, pi.substring(pi.length() - 10));
  }

  @Test
  void e_hundredThousandDigits_matchesVerifiedEnds() {
    String e = Digits.e(100_000);

    assertEquals(100_002, e.length());
    assertEquals("2." + E_100K_FIRST_10, e.substring(0, 12));
    assertEquals(E_100K_LAST_10, e.substring(e.length() - 10));
  }

  @Test
  void pi_zeroDigits_throwsIllegalArgument() {
    IllegalArgumentException thrown =
        assertThrows(IllegalArgumentException.class, () -> Digits.pi(0));
    assertEquals("digits is 0, but must be at least 1", thrown.getMessage());
  }

  @Test
  void pi_negativeDigits_throwsIllegalArgument() {
    IllegalArgumentException thrown =
        assertThrows(IllegalArgumentException.class, () -> Digits.pi(-5));
    assertEquals("digits is -5, but must be at least 1", thrown.getMessage());
  }

  @Test
  void pi_moreThanMaxDigits_throwsIllegalArgument() {
    IllegalArgumentException thrown =
        assertThrows(IllegalArgumentException.class, () -> Digits.pi(Digits.MAX_DIGITS + 1));
    assertEquals("digits is 100000001, but must be at most 100000000", thrown.getMessage());
  }

  @Test
  void e_zeroDigits_throwsIllegalArgument() {
    IllegalArgumentException thrown =
        assertThrows(IllegalArgumentException.class, () -> Digits.e(0));
    assertEquals("digits is 0, but must be at least 1", thrown.getMessage());
  }

  @Test
  void e_moreThanMaxDigits_throwsIllegalArgument() {
    assertThrows(IllegalArgumentException.class, () -> Digits.e(Integer.MAX_VALUE));
  }

  @Test
  void sqrt_randomValues_matchesBigIntegerSqrt() {
    Random random = new Random(42);
    for (int i = 0; i < 300; i++) {
      BigInteger n = new BigInteger(1 + random.nextInt(20_000), random);
      assertEquals(n.sqrt(), Digits.sqrt(n), "n has " + n.bitLength() + " bits");
    }
  }

  @Test
  void sqrt_aroundPerfectSquares_isExactFloor() {
    Random random = new Random(7);
    for (int i = 0; i < 100; i++) {
      // Well above the recursion threshold, so the Newton path is what gets tested.
      BigInteger root = new BigInteger(2_000 + random.nextInt(6_000), random).setBit(1_999);
      BigInteger square = root.multiply(root);

      assertEquals(root.subtract(BigInteger.ONE), Digits.sqrt(square.subtract(BigInteger.ONE)));
      assertEquals(root, Digits.sqrt(square));
      assertEquals(root, Digits.sqrt(square.add(BigInteger.ONE)));
    }
  }

  @Test
  void truncate_intervalInsideOneDigit_returnsDigits() {
    assertEquals("31415", Digits.truncate(BigInteger.valueOf(314_155_000L), 4, 4));
  }

  @Test
  void truncate_intervalStraddlesDigitBoundary_returnsNull() {
    // 314159996..314160004 truncates to 31415 at one end and 31416 at the other.
    assertNull(Digits.truncate(BigInteger.valueOf(314_160_000L), 4, 4));
  }

  @Test
  void piScaled_twentyDigits_isWithinErrorBoundOfKnownValue() {
    BigInteger known = new BigInteger("314159265358979323846");
    BigInteger error = Digits.piScaled(20).subtract(known).abs();
    // known is itself truncated, so allow one more unit than the documented bound.
    assertTrue(error.compareTo(BigInteger.valueOf(5)) <= 0, "error " + error);
  }
}
