package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class SmokeTest {
  static int square(int x) {
    return x * x;
  }

  @Test
  void pool_squares_returnsResults() throws Exception {
    long t0 = System.nanoTime();
    try (Pool pool = Pool.builder().workers(2).build()) {
      System.out.println("build ms " + (System.nanoTime() - t0) / 1e6);
      assertEquals(49, pool.submit(SmokeTest::square, 7).get());
      System.out.println("first ms " + (System.nanoTime() - t0) / 1e6);
      List<Integer> in = IntStream.range(0, 1000).boxed().collect(Collectors.toList());
      List<Integer> out = pool.map(SmokeTest::square, in);
      assertEquals(in.stream().map(x -> x * x).collect(Collectors.toList()), out);
      System.out.println(pool.stats());
    }
  }
}
