package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.UncheckedExecutionException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Progress listeners on map, mapAsync, imap and imapUnordered, with workers as threads. */
class PoolProgressTest {
  static Pool pool;

  @BeforeAll
  static void start() {
    pool = Pool.builder().workers(2).launcher(new ThreadLauncher()).build();
  }

  @AfterAll
  static void stop() {
    pool.close();
  }

  static int failOn(int x) {
    if (x == 700) {
      throw new IllegalArgumentException("bad " + x);
    }
    return x;
  }

  /** Records every call, and checks that calls never overlap and never go backwards. */
  static final class Recorder implements ProgressListener {
    final List<Progress> calls = Collections.synchronizedList(new ArrayList<>());
    final AtomicInteger inside = new AtomicInteger();
    volatile String problem;

    @Override
    public void onProgress(Progress p) {
      if (inside.incrementAndGet() != 1) {
        problem = "overlapping calls";
      }
      if (!calls.isEmpty()) {
        Progress before = calls.get(calls.size() - 1);
        if (before.isFinished()) {
          problem = "a call after the final one";
        }
        if (p.done() < before.done() || p.failed() < before.failed()) {
          problem = "counts went backwards: " + before + " then " + p;
        }
      }
      calls.add(p);
      inside.decrementAndGet();
    }

    Progress last() {
      return calls.get(calls.size() - 1);
    }

    void assertWellFormed() {
      assertEquals(null, problem);
      assertFalse(calls.get(0).isFinished(), "first call is the start");
      assertEquals(0, calls.get(0).done());
      assertEquals(1, calls.stream().filter(Progress::isFinished).count(), calls::toString);
      assertTrue(last().isFinished());
    }
  }

  private static List<Integer> range(int n) {
    return IntStream.range(0, n).boxed().collect(Collectors.toList());
  }

  @Test
  void map_withListener_countsEveryInputAndFinalCallPrecedesReturn() throws Exception {
    Recorder r = new Recorder();
    List<Integer> out = pool.map(x -> x * 2, range(20_000), r);

    assertEquals(20_000, out.size());
    r.assertWellFormed();
    assertEquals(20_000, r.last().done());
    assertEquals(0, r.last().failed());
    assertEquals(20_000, r.last().total().getAsLong());
  }

  @Test
  void mapAsync_taskFails_finalCallCountsOneFailureBeforeFutureFails() {
    Recorder r = new Recorder();
    ListenableFuture<List<Integer>> f = pool.mapAsync(PoolProgressTest::failOn, range(1_000), r);

    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    assertEquals("bad 700", e.getCause().getMessage());
    r.assertWellFormed();
    assertEquals(1, r.last().failed());
    assertTrue(r.last().done() >= 1, r.last().toString());
  }

  @Test
  void imap_iterableOfUnknownSize_learnsTotalWhenExhausted() {
    Recorder r = new Recorder();
    Iterable<Integer> unsized = () -> range(5_000).iterator();
    try (Stream<Integer> s = pool.imap(x -> x + 1, unsized, r)) {
      assertTrue(r.calls.get(0).total().isEmpty());
      assertEquals(5_000, s.count());
    }
    r.assertWellFormed();
    assertEquals(5_000, r.last().done());
    assertEquals(5_000, r.last().total().getAsLong());
  }

  @Test
  void imapUnordered_collection_totalKnownFromTheStart() {
    Recorder r = new Recorder();
    List<Integer> got;
    try (Stream<Integer> s = pool.imapUnordered(x -> x, range(3_000), r)) {
      assertEquals(3_000, r.calls.get(0).total().getAsLong());
      got = s.sorted().collect(Collectors.toList());
    }
    assertEquals(range(3_000), got);
    r.assertWellFormed();
    assertEquals(3_000, r.last().done());
  }

  @Test
  void imap_closedEarly_finalCallOnClose() {
    Recorder r = new Recorder();
    Iterator<Integer> endless = IntStream.iterate(0, i -> i + 1).iterator();
    try (Stream<Integer> s = pool.imap(x -> x, () -> endless, r)) {
      assertEquals(List.of(0, 1, 2), s.limit(3).collect(Collectors.toList()));
    }
    r.assertWellFormed();
    assertTrue(r.last().done() >= 3, r.last().toString());
  }

  @Test
  void imap_taskFails_finalCallCountsTheFailure() {
    Recorder r = new Recorder();
    try (Stream<Integer> s = pool.imap(PoolProgressTest::failOn, range(1_000), r)) {
      UncheckedExecutionException e = assertThrows(UncheckedExecutionException.class, s::count);
      assertEquals("bad 700", e.getCause().getMessage());
    }
    r.assertWellFormed();
    assertEquals(1, r.last().failed());
  }
}
