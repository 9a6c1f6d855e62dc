package io.procpool.internal.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.Conditions;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.WorkerMessage;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class ResultBatcherTest {
  private static final Duration WAIT = Duration.ofSeconds(10);

  private final AtomicLong clock = new AtomicLong(1_000_000_000L);
  private final List<WorkerMessage> sent = new CopyOnWriteArrayList<>();
  private final ResultBatcher batcher = new ResultBatcher(sent::add, "test-flush", clock::get);

  @AfterEach
  void stop() {
    batcher.stop();
  }

  private static TaskResult result(long id, long runNanos) {
    return TaskResult.newBuilder().setTaskId(id).setRunNanos(runNanos).build();
  }

  private List<Long> sentIds() {
    return sent.stream()
        .flatMap(m -> m.getResults().getResultsList().stream())
        .map(TaskResult::getTaskId)
        .toList();
  }

  private void advanceMillis(long millis) {
    clock.addAndGet(TimeUnit.MILLISECONDS.toNanos(millis));
  }

  @Test
  void add_resultOfTaskLongerThanBatchAge_sentAtOnceByTheCaller() {
    batcher.add(result(1, TimeUnit.MILLISECONDS.toNanos(5)));

    assertEquals(List.of(1L), sentIds());
  }

  @Test
  void add_resultsOfShortTasks_heldTogetherUntilFlush() {
    batcher.add(result(1, 10_000));
    batcher.add(result(2, 10_000));
    batcher.add(result(3, 10_000));
    assertEquals(List.of(), sentIds());

    batcher.flush();

    assertEquals(1, sent.size());
    assertEquals(List.of(1L, 2L, 3L), sentIds());
  }

  @Test
  void add_batchOlderThanMaxAge_sentWithTheNextResult() {
    batcher.add(result(1, 10_000));
    advanceMillis(2);
    batcher.add(result(2, 10_000));

    assertEquals(1, sent.size());
    assertEquals(List.of(1L, 2L), sentIds());
  }

  @Test
  void add_fullBatch_sentWithoutWaiting() {
    for (int i = 1; i <= ResultBatcher.MAX_BATCH; i++) {
      batcher.add(result(i, 1_000));
    }

    assertEquals(1, sent.size());
    assertEquals(ResultBatcher.MAX_BATCH, sentIds().size());
  }

  @Test
  void flusher_idle_parksWithoutDeadline() {
    batcher.start();
    advanceMillis(100);

    Conditions.await("the idle flusher to park", WAIT, batcher::flusherAsleep);
  }

  @Test
  void beforeTask_shortResultPending_flusherWakesAndSendsItOnceOld() {
    batcher.start();
    advanceMillis(100);
    Conditions.await("the idle flusher to park", WAIT, batcher::flusherAsleep);
    batcher.add(result(7, 10_000));

    batcher.beforeTask(); // The next task, a long one, begins while result 7 waits.

    assertTrue(sentIds().isEmpty(), "sent before it was old: " + sentIds());
    advanceMillis(1);
    Conditions.await("the flusher to send the pending result", WAIT, () -> sentIds().equals(List.of(7L)));
    advanceMillis(100);
    Conditions.await("the flusher to park again", WAIT, batcher::flusherAsleep);
  }

  @Test
  void beforeTask_nothingPending_leavesFlusherAsleep() {
    batcher.start();
    advanceMillis(100);
    Conditions.await("the idle flusher to park", WAIT, batcher::flusherAsleep);

    batcher.add(result(1, TimeUnit.MILLISECONDS.toNanos(40)));
    batcher.beforeTask();

    assertEquals(List.of(1L), sentIds());
    assertTrue(batcher.flusherAsleep(), "a long task's result woke the flusher");
  }
}
