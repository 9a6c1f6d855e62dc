package io.procpool.examples.primes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class PrimesTest {

  private static final long TWO_TO_31 = 1L << 31;

  @Test
  void countBelow_hundred_isTwentyFive() {
    assertEquals(25, Primes.countBelow(100));
  }

  @Test
  void countBelow_zeroOneOrTwo_isZero() {
    assertEquals(0, Primes.countBelow(0));
    assertEquals(0, Primes.countBelow(1));
    assertEquals(0, Primes.countBelow(2));
  }

  @Test
  void countBelow_three_isOne() {
    assertEquals(1, Primes.countBelow(3));
  }

  @Test
  void countBelow_sixtyThousand_is6057() {
    assertEquals(6_057, Primes.countBelow(60_000));
  }

  @Test
  void countBelow_hundredThousand_is9592() {
    assertEquals(9_592, Primes.countBelow(100_000));
  }

  @Test
  void countBelow_negativeLimit_throwsIllegalArgument() {
    IllegalArgumentException thrown =
        assertThrows(IllegalArgumentException.class, () -> Primes.countBelow(-1));
    assertEquals("limit is -1, but must be at least 0", thrown.getMessage());
  }

  @Test
  void countInRange_adjacentChunks_sumToCountBelow() {
    long sum = 0;
    for (long from = 0; from < 60_000; from += 7_000) {
      sum += Primes.countInRange(from, Math.min(from + 7_000, 60_000));
    }
    assertEquals(Primes.countBelow(60_000), sum);
  }

  @Test
  void countInRange_bounds_includeFromAndExcludeTo() {
    assertEquals(1, Primes.countInRange(7, 11));
    assertEquals(2, Primes.countInRange(7, 12));
  }

  @Test
  void countInRange_emptyRange_isZero() {
    assertEquals(0, Primes.countInRange(13, 13));
  }

  @Test
  void countInRange_aboveIntRange_findsFourPrimes() {
    // 2^31 + 11, + 45, + 65 and + 95.
    assertEquals(4, Primes.countInRange(TWO_TO_31, TWO_TO_31 + 100));
  }

  @Test
  void countInRange_negativeFrom_throwsIllegalArgument() {
    IllegalArgumentException thrown =
        assertThrows(IllegalArgumentException.class, () -> Primes.countInRange(-1, 10));
    assertEquals("from is -1, but must be at least 0", thrown.getMessage());
  }

  @Test
  void countInRange_toBelowFrom_throwsIllegalArgument() {
    IllegalArgumentException thrown =
        assertThrows(IllegalArgumentException.class, () -> Primes.countInRange(10, 9));
    assertEquals("to is 9, but must be at least from (10)", thrown.getMessage());
  }

  @Test
  void isPrime_intMaxValue_isTrue() {
    // 2^31 - 1 is prime; an int d * d would overflow before the loop ends.
    assertTrue(Primes.isPrime(Integer.MAX_VALUE));
  }

  @Test
  void isPrime_longMaxValue_isFalse() {
    // 2^63 - 1 = 7^2 * 73 * 127 * 337 * 92737 * 649657.
    assertFalse(Primes.isPrime(Long.MAX_VALUE));
  }

  @Test
  void isPrime_belowTwo_isFalse() {
    assertFalse(Primes.isPrime(0));
    assertFalse(Primes.isPrime(1));
  }
}
