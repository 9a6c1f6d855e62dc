package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.AbstractFuture;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.common.util.concurrent.Uninterruptibles;
import io.procpool.Progress;
import io.procpool.ProgressListener;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

/**
 * Counts the inputs of one map call as its chunks complete, and hands throttled {@link Progress}
 * snapshots to a {@link ProgressListener}: one at the start, then at most one per {@link
 * #INTERVAL_NANOS}, then exactly one final one.
 *
 * <p>Delivery is serial without a lock: a thread that wants a snapshot delivered increments {@link #wip};
 * the one that took it from 0 delivers, and goes round again for every request that came in meanwhile
 * (the "work in progress" drain loop of RxJava's serializers). The listener therefore never runs under
 * any lock, calls never overlap, and each snapshot is taken after the one before. A lock held across the
 * listener call was rejected: a slow listener would block the transport threads that count chunks.
 *
 * <p>Each chunk is counted exactly once, by its future's listener or by {@link #finish()}, whichever
 * comes first: a thread released from a chunk's {@code get()} may call {@code finish()} before the
 * chunk's listeners have run.
 */
public final class ProgressTracker {
  static final long INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(100);
  private static final long RATE_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(30);
  private static final long RATE_SAMPLE_NANOS = TimeUnit.SECONDS.toNanos(1);
  private static final System.Logger LOG = System.getLogger("io.procpool.Pool");

  private final ProgressListener listener;
  private final String poolName;
  private final LongSupplier clock;
  private final long startNanos;
  private final AtomicLong done = new AtomicLong();
  private final AtomicLong failed = new AtomicLong();
  private final AtomicLong lastEmitNanos;
  private final Set<TaskFuture<List<Object>>> uncounted = ConcurrentHashMap.newKeySet();
  private final AtomicInteger wip = new AtomicInteger();
  private final CountDownLatch finalDelivered = new CountDownLatch(1);
  private volatile long total;
  private volatile boolean finishRequested;
  private volatile Thread drainer;

  // Only touched by the thread in the drain loop (one at a time; wip orders them).
  private boolean finalSent;
  private int listenerFailures;
  private final ArrayDeque<long[]> rateSamples = new ArrayDeque<>();

  ProgressTracker(ProgressListener listener, long total, String poolName, LongSupplier clock) {
    this.listener = listener;
    this.poolName = poolName;
    this.clock = clock;
    this.total = total;
    this.startNanos = clock.getAsLong();
    this.lastEmitNanos = new AtomicLong(startNanos);
    rateSamples.add(new long[] {startNanos, 0});
  }

  /** A tracker for a call with {@code total} inputs (-1: unknown), or null without a listener. */
  static ProgressTracker create(ProgressListener listener, long total, String poolName) {
    return listener == null ? null : new ProgressTracker(listener, total, poolName, System::nanoTime);
  }

  /** Delivers the first snapshot (nothing done yet), on the calling thread. */
  void start() {
    request();
  }

  /** Counts {@code chunk} once it completes. */
  void watch(TaskFuture<List<Object>> chunk) {
    uncounted.add(chunk);
    chunk.addListener(
        () -> {
          if (count(chunk)) {
            maybeEmit();
          }
        },
        MoreExecutors.directExecutor());
  }

  /** The number of inputs became known (an imap's source ran dry). */
  void totalKnown(long n) {
    if (total < 0) {
      total = n;
    }
  }

  private boolean count(TaskFuture<List<Object>> chunk) {
    if (!chunk.isDone() || !uncounted.remove(chunk)) {
      return false;
    }
    try {
      done.addAndGet(Futures.getDone(chunk).size());
    } catch (ExecutionException e) {
      done.addAndGet(chunk.partialOutputs().size());
      failed.incrementAndGet();
    } catch (CancellationException e) {
      // Cancelled inputs count as neither done nor failed.
    }
    return true;
  }

  private void maybeEmit() {
    long now = clock.getAsLong();
    long last = lastEmitNanos.get();
    if (now - last >= INTERVAL_NANOS && lastEmitNanos.compareAndSet(last, now)) {
      request();
    }
  }

  /**
   * Delivers the final snapshot and returns once the listener has returned from it (unless this thread
   * is the one calling the listener, which can happen when a listener cancels its own map). Idempotent.
   */
  void finish() {
    for (TaskFuture<List<Object>> chunk : uncounted) {
      count(chunk);
    }
    finishRequested = true;
    request();
    if (drainer != Thread.currentThread()) {
      Uninterruptibles.awaitUninterruptibly(finalDelivered);
    }
  }

  private void request() {
    if (wip.getAndIncrement() != 0) {
      return;
    }
    int missed = 1;
    do {
      drainer = Thread.currentThread();
      deliver();
      drainer = null;
      missed = wip.addAndGet(-missed);
    } while (missed != 0);
  }

  private void deliver() {
    if (finalSent) {
      return;
    }
    boolean last = finishRequested;
    Progress p = snapshot(last);
    try {
      listener.onProgress(p);
    } catch (RuntimeException | Error e) {
      // Logged once at WARNING: a listener that throws on every call would otherwise flood the log.
      listenerFailures++;
      LOG.log(
          listenerFailures == 1 ? System.Logger.Level.WARNING : System.Logger.Level.DEBUG,
          "{0}: progress listener {1} threw; ignoring it",
          poolName,
          listener,
          e);
    } finally {
      if (last) {
        finalSent = true;
        finalDelivered.countDown();
      }
    }
  }

  /** Only called in the drain loop. */
  Progress snapshot(boolean last) {
    long now = clock.getAsLong();
    long d = done.get();
    long f = failed.get();
    long finishedInputs = d + f;
    long[] newest = rateSamples.peekLast();
    if (now - newest[0] >= RATE_SAMPLE_NANOS) {
      rateSamples.addLast(new long[] {now, finishedInputs});
    }
    while (rateSamples.size() > 2 && now - secondOldest()[0] >= RATE_WINDOW_NANOS) {
      rateSamples.pollFirst();
    }
    long[] oldest = rateSamples.peekFirst();
    double rate =
        now > oldest[0] ? (finishedInputs - oldest[1]) * 1e9 / (now - oldest[0]) : 0.0;
    return Progress.of(d, f, total, Math.max(0, rate), Duration.ofNanos(now - startNanos), last);
  }

  private long[] secondOldest() {
    var it = rateSamples.iterator();
    it.next();
    return it.next();
  }

  /**
   * A future that completes as {@code inner} does, but only after the final snapshot has been
   * delivered, so that {@code map(...)} and {@code get()} return after the listener's last call.
   * Cancelling it cancels {@code inner}.
   */
  <V> ListenableFuture<V> finishingWith(ListenableFuture<V> inner) {
    FinishingFuture<V> outer = new FinishingFuture<>(inner);
    inner.addListener(
        () -> {
          finish();
          outer.complete();
        },
        MoreExecutors.directExecutor());
    return outer;
  }

  private static final class FinishingFuture<V> extends AbstractFuture<V> {
    private final ListenableFuture<V> inner;

    FinishingFuture(ListenableFuture<V> inner) {
      this.inner = inner;
    }

    void complete() {
      setFuture(inner);
    }

    @Override
    protected void afterDone() {
      if (isCancelled()) {
        inner.cancel(wasInterrupted());
      }
    }

    @Override
    protected String pendingToString() {
      return "inner=[" + inner + "]";
    }
  }
}
