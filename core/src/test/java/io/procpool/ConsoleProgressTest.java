package io.procpool;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.time.Duration;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Progress snapshots and the console lines drawn from them. */
class ConsoleProgressTest {
  private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
  private final PrintStream out = new PrintStream(bytes, true, UTF_8);

  private static Progress at(long done, long total, double rate, long elapsedSeconds, boolean finished) {
    return Progress.of(done, 0, total, rate, Duration.ofSeconds(elapsedSeconds), finished);
  }

  @Test
  void progress_eta_isRemainingOverRate() {
    Progress p = at(27, 64, 8.0, 3, false);
    assertEquals(Duration.ofMillis(4625), p.eta().orElseThrow());
    assertEquals(27.0 / 64, p.fraction().getAsDouble(), 1e-9);
  }

  @Test
  void progress_unknownTotalOrNoRate_hasNoEta() {
    assertTrue(at(5, -1, 2.0, 1, false).eta().isEmpty());
    assertTrue(at(0, 10, 0.0, 1, false).eta().isEmpty());
    assertTrue(at(5, -1, 2.0, 1, false).fraction().isEmpty());
  }

  @Test
  void progress_negativeCount_throwsIllegalArgument() {
    IllegalArgumentException e =
        assertThrows(IllegalArgumentException.class, () -> Progress.of(-1, 0, 5, 0, Duration.ZERO, false));
    assertEquals("done -1 and failed 0 must not be negative", e.getMessage());
  }

  @Test
  void interactive_redrawsOneLineInPlaceAndEndsItOnFinalCall() {
    ConsoleProgress c = ConsoleProgress.to(out, true).withLabel("primes");
    c.onProgress(at(27, 64, 8.1, 3, false));
    c.onProgress(at(64, 64, 9.0, 7, true));

    String printed = bytes.toString(UTF_8);
    assertEquals(
        "\rprimes  42% |##########              | 27/64 [00:03<00:04, 8.1/s]"
            + "\rprimes 100% |########################| 64/64 [00:07<00:00, 9.0/s]"
            + System.lineSeparator(),
        printed);
  }

  @Test
  void interactive_shorterLine_isPaddedToEraseTheLongerOne() {
    ConsoleProgress c = ConsoleProgress.to(out, true);
    c.onProgress(Progress.of(10, 3, -1, 1234, Duration.ofSeconds(1), false));
    c.onProgress(Progress.of(20, 0, -1, 5, Duration.ofSeconds(2), false));
    String[] draws = bytes.toString(UTF_8).split("\r", -1);
    assertEquals("13 [00:01, 1234/s] 3 failed", draws[1]);
    assertEquals(draws[1].length(), draws[2].length());
    assertTrue(draws[2].startsWith("20 [00:02, 5.0/s]"), draws[2]);
  }

  @Test
  void plain_printsEveryFiveSecondsAndOnFinalCall() {
    ConsoleProgress c = ConsoleProgress.to(out, false).withLabel("job");
    for (int s = 0; s <= 12; s++) {
      c.onProgress(at(s * 10L, 200, 10.0, s, false));
    }
    c.onProgress(at(200, 200, 10.0, 13, true));

    List<String> lines = bytes.toString(UTF_8).lines().collect(Collectors.toList());
    assertEquals(
        List.of(
            "job: 50/200 (25%) in 00:05, 10.0/s, ETA 00:15",
            "job: 100/200 (50%) in 00:10, 10.0/s, ETA 00:10",
            "job: 200/200 (100%) in 00:13, 10.0/s, finished"),
        lines);
  }

  @Test
  void clock_overAnHour_showsHours() {
    assertEquals("1:01:01", ConsoleProgress.clock(Duration.ofSeconds(3661)));
    assertEquals("59:59", ConsoleProgress.clock(Duration.ofSeconds(3599)));
  }
}
