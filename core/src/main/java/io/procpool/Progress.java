package io.procpool;

import static com.google.common.base.Preconditions.checkArgument;
import static java.util.Objects.requireNonNull;

import java.time.Duration;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalLong;

/**
 * An immutable snapshot of how far one {@code map}, {@code mapAsync}, {@code imap} or {@code
 * imapUnordered} call has got, as handed to a {@link ProgressListener}.
 *
 * <p>Counts are per input, not per chunk: a chunk of 500 inputs that succeeds adds 500 to {@link #done()}.
 * A chunk that fails adds the inputs before the failed one to {@link #done()} and one to {@link
 * #failed()}; the inputs after it were never run and count as neither. Cancelled inputs count as neither.
 *
 * <p>This class is immutable and thread-safe.
 */
public final class Progress {
  private final long done;
  private final long failed;
  private final long total;
  private final double ratePerSecond;
  private final Duration elapsed;
  private final boolean finished;

  private Progress(
      long done, long failed, long total, double ratePerSecond, Duration elapsed, boolean finished) {
    this.done = done;
    this.failed = failed;
    this.total = total;
    this.ratePerSecond = ratePerSecond;
    this.elapsed = elapsed;
    this.finished = finished;
  }

  /**
   * Creates a snapshot; for tests of listeners, and for the pool.
   *
   * @param done inputs that finished successfully
   * @param failed inputs that failed
   * @param total how many inputs the call has, or -1 when that is not known (yet)
   * @param ratePerSecond inputs finished (successfully or not) per second, recently
   * @param elapsed time since the call started
   * @param finished whether this is the call's last snapshot
   * @return the snapshot
   * @throws IllegalArgumentException if a count or the rate is negative, or total is below -1
   */
  public static Progress of(
      long done, long failed, long total, double ratePerSecond, Duration elapsed, boolean finished) {
    checkArgument(done >= 0 && failed >= 0, "done %s and failed %s must not be negative", done, failed);
    checkArgument(total >= -1, "total is %s, but must be -1 (unknown) or more", total);
    checkArgument(ratePerSecond >= 0, "ratePerSecond is %s, but must not be negative", ratePerSecond);
    requireNonNull(elapsed, "elapsed");
    return new Progress(done, failed, total, ratePerSecond, elapsed, finished);
  }

  /**
   * Inputs that finished successfully.
   *
   * @return a count, never negative
   */
  public long done() {
    return done;
  }

  /**
   * Inputs that failed (threw, crashed their worker, timed out, or could not be encoded).
   *
   * @return a count, never negative
   */
  public long failed() {
    return failed;
  }

  /**
   * How many inputs the call has: known for {@code map} and {@code mapAsync}, for an {@code imap} over a
   * {@link java.util.Collection}, and for any {@code imap} once its inputs are exhausted.
   *
   * @return the number of inputs, or empty while unknown
   */
  public OptionalLong total() {
    return total < 0 ? OptionalLong.empty() : OptionalLong.of(total);
  }

  /**
   * Inputs finished (successfully or not) per second, averaged over the last 30 seconds or so, which
   * smooths out the bursts in which chunks complete.
   *
   * @return a rate, 0 before anything finished
   */
  public double ratePerSecond() {
    return ratePerSecond;
  }

  /**
   * Estimated time to finish the remaining inputs at {@link #ratePerSecond()}.
   *
   * @return the estimate, or empty when the total is unknown or nothing has finished yet
   */
  public Optional<Duration> eta() {
    if (total < 0) {
      return Optional.empty();
    }
    long remaining = Math.max(0, total - done - failed);
    if (remaining == 0) {
      return Optional.of(Duration.ZERO);
    }
    if (ratePerSecond <= 0) {
      return Optional.empty();
    }
    return Optional.of(Duration.ofMillis((long) Math.ceil(remaining * 1000.0 / ratePerSecond)));
  }

  /**
   * Time since the call started.
   *
   * @return a non-negative duration
   */
  public Duration elapsed() {
    return elapsed;
  }

  /**
   * Whether this is the last snapshot of the call: it completed, failed, or was cancelled, or its stream
   * was exhausted or closed.
   *
   * @return true for the final call only
   */
  public boolean isFinished() {
    return finished;
  }

  /**
   * The fraction of inputs finished (successfully or not).
   *
   * @return a value from 0 to 1, or empty when the total is unknown
   */
  public OptionalDouble fraction() {
    if (total < 0) {
      return OptionalDouble.empty();
    }
    return OptionalDouble.of(total == 0 ? 1.0 : Math.min(1.0, (double) (done + failed) / total));
  }

  @Override
  public String toString() {
    return "Progress[done=" + done + ", failed=" + failed + ", total=" + (total < 0 ? "?" : total)
        + ", rate=" + String.format(java.util.Locale.ROOT, "%.1f", ratePerSecond) + "/s, elapsed="
        + elapsed.toMillis() + " ms" + (finished ? ", finished" : "") + "]";
  }
}
