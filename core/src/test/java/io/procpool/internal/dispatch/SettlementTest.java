package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.WorkerCrashedException;
import io.procpool.internal.worker.StatusFile;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What becomes of a dead worker's tasks: no process, a real status file written from the worker's side. */
class SettlementTest {
  @TempDir Path tmp;


  @Test
  void workerDeath_afterTaskFinishedBeforeResultSent_countsAsDeathOfThatTask() throws Exception {
    CoreFixtures core = new CoreFixtures(tmp);
    Worker w = new Worker(0, 1, 0);
    TaskRecord finished = CoreFixtures.task(1, 1);
    TaskRecord notBegun = CoreFixtures.task(2, 1);
    CoreFixtures.send(w, finished);
    CoreFixtures.send(w, notBegun);
    try (StatusFile worker = CoreFixtures.withStatus(w, tmp.resolve("w.status"))) {
      worker.begin(1, 100);
      worker.end(); // Finished; its result was still in the worker's batch when it died.
      w.exitCode = 137;
      core.settle(core.settlement(0), w);
    }
    WorkerCrashedException e = assertInstanceOf(WorkerCrashedException.class, CoreFixtures.failure(finished));
    assertEquals(
        "Worker 0 (pid -1) exited with code 137 after running task 1 (Fixture::task) but before sending its result",
        e.getMessage());
    assertEquals(1, e.attempts().size());
    assertFalse(notBegun.future.isDone(), "a task the worker never began must run elsewhere");
    assertSame(notBegun, core.dispatcher.head());
    assertEquals(1, core.counters.failed);
    assertTrue(w.inFlight.isEmpty());
  }

  @Test
  void workerDeath_whileRunning_failsRunningTaskAndRequeuesTheRestInOrder() throws Exception {
    CoreFixtures core = new CoreFixtures(tmp);
    Worker w = new Worker(2, 7, 0);
    TaskRecord running = CoreFixtures.task(10, 1);
    TaskRecord second = CoreFixtures.task(11, 1);
    TaskRecord third = CoreFixtures.task(12, 1);
    CoreFixtures.send(w, running);
    CoreFixtures.send(w, second);
    CoreFixtures.send(w, third);
    try (StatusFile worker = CoreFixtures.withStatus(w, tmp.resolve("w.status"))) {
      worker.begin(10, 100);
      w.exitCode = 41;
      core.settle(core.settlement(0), w);
    }
    WorkerCrashedException e = assertInstanceOf(WorkerCrashedException.class, CoreFixtures.failure(running));
    assertEquals("Worker 2 (pid -1) exited with code 41 while running task 10 (Fixture::task)", e.getMessage());
    assertEquals(2, core.dispatcher.queued());
    assertSame(second, core.dispatcher.head());
  }

  @Test
  void task_killingEveryWorker_isBegunAtMostMaxRetriesPlusOneTimes() throws Exception {
    CoreFixtures core = new CoreFixtures(tmp);
    Settlement settlement = core.settlement(2);
    TaskRecord poison = CoreFixtures.task(5, 1);
    core.dispatcher.add(poison);
    int begun = 0;
    for (int id = 1; !poison.future.isDone(); id++) {
      assertTrue(id <= 10, "the task went round more than 10 times");
      assertSame(poison, core.dispatcher.drain().get(0), "the task must be back in the queue");
      Worker w = new Worker(0, id, 0);
      CoreFixtures.send(w, poison);
      try (StatusFile worker = CoreFixtures.withStatus(w, tmp.resolve("w" + id + ".status"))) {
        worker.begin(5, 100);
        begun++;
        w.exitCode = 134;
        core.settle(settlement, w);
      }
    }
    assertEquals(3, begun);
    WorkerCrashedException e = assertInstanceOf(WorkerCrashedException.class, CoreFixtures.failure(poison));
    assertEquals(3, e.attempts().size());
    assertTrue(e.getMessage().contains("it killed 3 workers"), e.getMessage());
    assertEquals(2, core.counters.retried);
    assertTrue(core.dispatcher.isEmpty());
  }

  // A worker on another machine: no status file, its Begun reports in Worker.reported.

  @Test
  void remoteWorkerDeath_runningTaskReported_failsItAndRequeuesTheNextUncounted() throws Exception {
    CoreFixtures core = new CoreFixtures(tmp);
    Worker w = new Worker(0, 1, 0);
    TaskRecord running = CoreFixtures.task(1, 1);
    TaskRecord next = CoreFixtures.task(2, 1);
    CoreFixtures.send(w, running);
    CoreFixtures.send(w, next);
    w.reported = new StatusFile.Snapshot(1, 100, 1);
    w.exitCode = 137;
    core.settle(core.settlement(0), w);
    assertInstanceOf(WorkerCrashedException.class, CoreFixtures.failure(running));
    assertFalse(next.future.isDone());
    assertSame(next, core.dispatcher.head());
    assertEquals(0, next.unreported, "its worker died running another task: nothing to suspect");
  }

  @Test
  void remoteTask_killingEachWorkerBeforeItsReport_countedAsBegunOnTheSecondDeath() throws Exception {
    CoreFixtures core = new CoreFixtures(tmp);
    Settlement settlement = core.settlement(0);
    TaskRecord done = CoreFixtures.task(1, 1);
    TaskRecord poison = CoreFixtures.task(2, 1);
    TaskRecord behind = CoreFixtures.task(3, 1);
    // First worker: ran task 1 (its result arrived), then died before any report of task 2.
    Worker first = new Worker(0, 1, 0);
    CoreFixtures.send(first, done);
    CoreFixtures.send(first, poison);
    CoreFixtures.send(first, behind);
    first.reported = new StatusFile.Snapshot(1, 100, 1);
    first.release(done);
    first.exitCode = 1;
    core.settle(settlement, first);
    assertFalse(poison.future.isDone(), "the first time, the unreported task is taken as not begun");
    assertEquals(1, poison.unreported);
    assertEquals(java.util.List.of(poison, behind), core.dispatcher.drain());
    // Second worker: dies before reporting anything at all.
    Worker second = new Worker(0, 2, 0);
    CoreFixtures.send(second, poison);
    CoreFixtures.send(second, behind);
    second.reported = new StatusFile.Snapshot(0, 0, 0);
    second.exitCode = 1;
    core.settle(settlement, second);
    WorkerCrashedException e = assertInstanceOf(WorkerCrashedException.class, CoreFixtures.failure(poison));
    assertTrue(e.getMessage().contains("next in line on 2 workers"), e.getMessage());
    assertFalse(behind.future.isDone(), "only the next-in-line is suspected");
    assertSame(behind, core.dispatcher.head());
  }
}
