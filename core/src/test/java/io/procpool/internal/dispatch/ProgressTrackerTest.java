package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.SettableFuture;
import io.procpool.Progress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** Throttling, counting and the final call, with a fake clock and hand-completed chunk futures. */
class ProgressTrackerTest {
  private final AtomicLong now = new AtomicLong(1_000_000_000L);
  private final List<Progress> calls = Collections.synchronizedList(new ArrayList<>());

  private ProgressTracker tracker(long total) {
    return new ProgressTracker(calls::add, total, "test-1", now::get);
  }

  private static TaskFuture<List<Object>> chunk() {
    return new TaskFuture<>(false);
  }

  private static List<Object> outputs(int n) {
    return new ArrayList<>(Collections.nCopies(n, "x"));
  }

  private void advanceMillis(long ms) {
    now.addAndGet(TimeUnit.MILLISECONDS.toNanos(ms));
  }

  @Test
  void start_deliversSnapshotWithNothingDone() {
    ProgressTracker t = tracker(10);
    t.start();
    assertEquals(1, calls.size());
    Progress p = calls.get(0);
    assertEquals(0, p.done());
    assertEquals(10, p.total().getAsLong());
    assertFalse(p.isFinished());
  }

  @Test
  void watch_chunksWithinInterval_areCountedButNotDeliveredUntilIntervalPasses() {
    ProgressTracker t = tracker(300);
    t.start();
    TaskFuture<List<Object>> a = chunk();
    TaskFuture<List<Object>> b = chunk();
    TaskFuture<List<Object>> c = chunk();
    t.watch(a);
    t.watch(b);
    t.watch(c);
    advanceMillis(50);
    a.complete(outputs(100));
    advanceMillis(40);
    b.complete(outputs(100));
    assertEquals(1, calls.size(), calls::toString);

    advanceMillis(20); // 110 ms after the start snapshot
    c.complete(outputs(100));

    assertEquals(2, calls.size(), calls::toString);
    assertEquals(300, calls.get(1).done());
    assertFalse(calls.get(1).isFinished());
  }

  @Test
  void finish_failedChunk_countsOutputsBeforeFailureAsDoneAndOneFailed() {
    ProgressTracker t = tracker(10);
    t.start();
    TaskFuture<List<Object>> ok = chunk();
    TaskFuture<List<Object>> bad = chunk();
    TaskFuture<List<Object>> cancelled = chunk();
    t.watch(ok);
    t.watch(bad);
    t.watch(cancelled);
    ok.complete(outputs(4));
    bad.fail(new IllegalStateException("boom"), outputs(2));
    cancelled.cancel(false);

    t.finish();

    Progress last = calls.get(calls.size() - 1);
    assertTrue(last.isFinished());
    assertEquals(6, last.done());
    assertEquals(1, last.failed());
  }

  @Test
  void finish_calledTwice_deliversOneFinalCallAndNothingAfter() {
    ProgressTracker t = tracker(-1);
    t.start();
    t.finish();
    t.finish();
    TaskFuture<List<Object>> late = chunk();
    t.watch(late);
    advanceMillis(500);
    late.complete(outputs(1));

    assertEquals(2, calls.size(), calls::toString);
    assertTrue(calls.get(1).isFinished());
    assertTrue(calls.get(1).total().isEmpty());
  }

  @Test
  void finish_chunkDoneButItsListenerNotRunYet_isCountedInFinalCall() {
    // A consumer released from a chunk's get() can call finish() before the chunk's listeners run;
    // finish() counts every chunk that is done.
    ProgressTracker t = tracker(5);
    TaskFuture<List<Object>> f = chunk();
    f.complete(outputs(5));
    t.watch(f); // listener runs at once, as the future is done; count() must not count it twice
    t.finish();
    assertEquals(5, calls.get(calls.size() - 1).done());
  }

  @Test
  void listener_throws_isIgnoredAndFinalCallStillComes() {
    List<Progress> seen = new ArrayList<>();
    ProgressTracker t =
        new ProgressTracker(
            p -> {
              seen.add(p);
              throw new IllegalStateException("listener bug");
            },
            1,
            "test-1",
            now::get);
    t.start();
    t.finish();
    assertEquals(2, seen.size());
    assertTrue(seen.get(1).isFinished());
  }

  @Test
  void snapshot_rate_isFinishedInputsPerSecondOverRecentWindow() {
    ProgressTracker t = tracker(-1);
    t.start();
    for (int i = 0; i < 10; i++) {
      advanceMillis(1000);
      TaskFuture<List<Object>> f = chunk();
      t.watch(f);
      f.complete(outputs(50));
    }
    Progress p = calls.get(calls.size() - 1);
    assertEquals(500, p.done());
    assertEquals(50.0, p.ratePerSecond(), 0.01);
    assertEquals(Duration.ofSeconds(10), p.elapsed());
  }

  @Test
  void finishingWith_innerCompletes_outerCompletesAfterFinalCall() throws Exception {
    List<String> order = Collections.synchronizedList(new ArrayList<>());
    ProgressTracker t =
        new ProgressTracker(p -> order.add(p.isFinished() ? "final" : "call"), 1, "test-1", now::get);
    SettableFuture<String> inner = SettableFuture.create();
    ListenableFuture<String> outer = t.finishingWith(inner);
    outer.addListener(() -> order.add("outer done"), Runnable::run);

    inner.set("v");

    assertEquals("v", outer.get());
    assertEquals(List.of("final", "outer done"), order);
  }

  @Test
  void finishingWith_outerCancelled_cancelsInner() {
    ProgressTracker t = tracker(1);
    SettableFuture<String> inner = SettableFuture.create();
    ListenableFuture<String> outer = t.finishingWith(inner);
    outer.cancel(true);
    assertTrue(inner.isCancelled());
    assertTrue(calls.get(calls.size() - 1).isFinished());
  }
}
