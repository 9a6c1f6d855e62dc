package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.TaskEncoder;
import io.procpool.internal.transport.WorkerConnection;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.TaskRequest;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Which worker gets which task, and in what messages: no process, no transport. */
class DispatcherTest {
  @TempDir Path tmp;

  private static Worker ready(int index, RecordingStream stream) {
    Worker w = new Worker(index, index + 1, 0);
    w.moveTo(Worker.State.CONNECTED);
    w.moveTo(Worker.State.READY);
    w.connection = new WorkerConnection(stream, null);
    return w;
  }

  private static List<Long> ids(ParentMessage m) {
    return m.getTasks().getTasksList().stream().map(TaskRequest::getTaskId).collect(Collectors.toList());
  }

  private static TaskRecord stateless(long id, long functionId) {
    Value bytes = Value.newBuilder().setString("function bytes").build();
    return new TaskRecord(id, new TaskEncoder.Function(bytes, functionId, "F::f", null),
        new Payload.Separate(List.of(Value.newBuilder().setLong(id).build())), new TaskFuture<>(true));
  }

  private void pump(CoreFixtures core, Dispatcher d, Worker... workers) {
    synchronized (core.ctx.lock) {
      d.pump(workers);
    }
    core.outbox.flush();
  }

  @Test
  void pump_twoReadyWorkers_leastLoadedFirstOneMessageEach_sequencedInSendOrder() {
    CoreFixtures core = new CoreFixtures(tmp);
    Dispatcher d = core.dispatcher;
    RecordingStream s0 = new RecordingStream();
    RecordingStream s1 = new RecordingStream();
    Worker w0 = ready(0, s0);
    Worker w1 = ready(1, s1);
    d.learn("Fixture::task", 1_000);
    for (long id = 1; id <= 4; id++) {
      d.add(CoreFixtures.task(id, 1));
    }
    pump(core, d, w0, w1);
    assertEquals(1, s0.sent.size(), "one message per worker per pump");
    assertEquals(1, s1.sent.size());
    assertEquals(List.of(1L, 3L), ids(s0.sent.get(0)));
    assertEquals(List.of(2L, 4L), ids(s1.sent.get(0)));
    assertEquals(List.of(1L, 2L), w0.inFlight.values().stream().map(r -> r.seq).collect(Collectors.toList()));
    assertTrue(d.isEmpty());
  }

  @Test
  void pump_workerNotReadyOrKilled_getsNothing() {
    CoreFixtures core = new CoreFixtures(tmp);
    RecordingStream s0 = new RecordingStream();
    Worker killed = ready(0, s0);
    killed.killReason = "test";
    Worker launching = new Worker(1, 2, 0);
    core.dispatcher.add(CoreFixtures.task(1, 1));
    pump(core, core.dispatcher, killed, launching, null);
    assertEquals(List.of(), s0.sent);
    assertEquals(1, core.dispatcher.queued());
  }

  @Test
  void pump_statelessFunction_bytesSentOncePerWorker() {
    CoreFixtures core = new CoreFixtures(tmp);
    RecordingStream s0 = new RecordingStream();
    Worker w0 = ready(0, s0);
    core.dispatcher.learn("F::f", 1_000);
    core.dispatcher.add(stateless(1, 7));
    core.dispatcher.add(stateless(2, 7));
    pump(core, core.dispatcher, w0);
    List<TaskRequest> sent = s0.sent.get(0).getTasks().getTasksList();
    assertTrue(sent.get(0).hasFunction(), "the first task carries the function's bytes");
    assertFalse(sent.get(1).hasFunction(), "the second relies on the worker having them");
  }

  @Test
  void pump_twoMessagesUnanswered_furtherTasksWaitForAResult() {
    CoreFixtures core = new CoreFixtures(tmp);
    RecordingStream s0 = new RecordingStream();
    Worker w0 = ready(0, s0);
    core.dispatcher.learn("Fixture::task", 1_000);
    for (long id = 1; id <= 3; id++) {
      core.dispatcher.add(CoreFixtures.task(id, 1));
      pump(core, core.dispatcher, w0);
    }
    assertEquals(2, s0.sent.size(), "at most two task messages unanswered");
    assertEquals(1, core.dispatcher.queued());
    synchronized (core.ctx.lock) {
      TaskRecord r = core.dispatcher.take(w0, TaskResult.newBuilder().setTaskId(1).setRunNanos(1_000).build());
      assertTrue(r != null && r.id == 1 && r.worker == null, "task 1 taken out of flight: " + r);
    }
    pump(core, core.dispatcher, w0);
    assertEquals(3, s0.sent.size());
    assertEquals(List.of(3L), ids(s0.sent.get(2)));
  }

  @Test
  void pump_maxTasksPerWorker_workerTakesNoMoreThanItsBudget() {
    CoreFixtures core = new CoreFixtures(tmp);
    Dispatcher d = new Dispatcher(core.ctx, 2);
    RecordingStream s0 = new RecordingStream();
    Worker w0 = ready(0, s0);
    d.learn("Fixture::task", 1_000);
    for (long id = 1; id <= 3; id++) {
      d.add(CoreFixtures.task(id, 1));
    }
    pump(core, d, w0);
    assertEquals(List.of(1L, 2L), ids(s0.sent.get(0)));
    assertEquals(1, d.queued(), "the third waits for a fresh worker");
    assertFalse(d.withinBudget(w0, d.head()));
  }

  @Test
  void pump_functionNotMeasuredYet_oneTaskPerWorkerUntilItsFirstResult() {
    CoreFixtures core = new CoreFixtures(tmp);
    RecordingStream s0 = new RecordingStream();
    RecordingStream s1 = new RecordingStream();
    Worker w0 = ready(0, s0);
    Worker w1 = ready(1, s1);
    for (long id = 1; id <= 4; id++) {
      core.dispatcher.add(CoreFixtures.task(id, 1));
    }

    pump(core, core.dispatcher, w0, w1);

    assertEquals(List.of(1L), ids(s0.sent.get(0)));
    assertEquals(List.of(2L), ids(s1.sent.get(0)));
    assertEquals(2, core.dispatcher.queued());
    synchronized (core.ctx.lock) {
      core.dispatcher.take(w0, TaskResult.newBuilder().setTaskId(1).setRunNanos(10_000).build());
    }
    pump(core, core.dispatcher, w0, w1);
    assertEquals(List.of(3L, 4L), ids(s0.sent.get(1)), "measured short: the next tasks are sent ahead");
  }

  @Test
  void pump_longFunctionAfterManyShortOnes_neverQueuesBehindAnotherTaskOnAWorker() {
    CoreFixtures core = new CoreFixtures(tmp);
    RecordingStream s0 = new RecordingStream();
    RecordingStream s1 = new RecordingStream();
    Worker w0 = ready(0, s0);
    Worker w1 = ready(1, s1);
    for (int i = 0; i < 1_000; i++) {
      core.dispatcher.learn("F::f", 5_000); // many short tasks of another function
    }
    core.dispatcher.learn("Fixture::task", 1_000_000_000L); // one second per input
    for (long id = 1; id <= 3; id++) {
      core.dispatcher.add(CoreFixtures.task(id, 1));
    }

    pump(core, core.dispatcher, w0, w1);

    assertEquals(1, w0.inFlight.size());
    assertEquals(1, w1.inFlight.size());
    assertEquals(1, core.dispatcher.queued(), "the third waits for whichever worker is free first");
  }

  @Test
  void pump_chunkOfShortInputsAddingUpToALongTask_notSentAhead() {
    CoreFixtures core = new CoreFixtures(tmp);
    RecordingStream s0 = new RecordingStream();
    Worker w0 = ready(0, s0);
    core.dispatcher.learn("Fixture::task", Dispatcher.LONG_TASK_NANOS / 10);
    core.dispatcher.add(CoreFixtures.task(1, 10));
    core.dispatcher.add(CoreFixtures.task(2, 10));

    pump(core, core.dispatcher, w0);

    assertEquals(1, w0.inFlight.size());
    assertEquals(1, core.dispatcher.queued());
  }

  @Test
  void take_unknownTask_returnsNull() {
    CoreFixtures core = new CoreFixtures(tmp);
    Worker w0 = ready(0, new RecordingStream());
    synchronized (core.ctx.lock) {
      assertEquals(null, core.dispatcher.take(w0, TaskResult.newBuilder().setTaskId(99).build()));
    }
  }
}
