package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.google.common.util.concurrent.MoreExecutors;
import io.procpool.internal.transport.WorkerConnection;
import io.procpool.proto.v1.Cancel;
import io.procpool.proto.v1.ParentMessage;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import org.junit.jupiter.api.Test;

/** The order in which side effects leave the core. */
class OutboxTest {
  private final List<String> events = new CopyOnWriteArrayList<>();

  private static ParentMessage cancel(long id) {
    return ParentMessage.newBuilder().setCancel(Cancel.newBuilder().setTaskId(id)).build();
  }

  private WorkerConnection connection() {
    RecordingStream stream =
        new RecordingStream() {
          @Override
          public void onNext(ParentMessage value) {
            events.add("send " + value.getCancel().getTaskId());
          }

          @Override
          public void onCompleted() {
            events.add("close");
          }
        };
    return new WorkerConnection(stream, null);
  }

  @Test
  void flush_recordedInAnyOrder_killsThenSendsInOrderThenClosesThenJobs() {
    Outbox outbox = new Outbox(MoreExecutors.newDirectExecutorService());
    FakeLauncher launcher = new FakeLauncher(events);
    WorkerConnection c = connection();
    outbox.later(() -> events.add("job"));
    outbox.close(c);
    outbox.send(c, cancel(1));
    outbox.send(c, cancel(2));
    outbox.kill(launcher.new FakeProcess(7));
    assertEquals(List.of(), events, "nothing happens before the flush");
    outbox.flush();
    assertEquals(List.of("kill 7", "send 1", "send 2", "close", "job"), events);
  }

  @Test
  void flush_executorShutDown_runsTheJobHere() {
    ExecutorService executor = MoreExecutors.newDirectExecutorService();
    executor.shutdown();
    Outbox outbox = new Outbox(executor);
    outbox.later(() -> events.add("late job"));
    outbox.flush();
    assertEquals(List.of("late job"), events);
  }

  @Test
  void send_afterClose_isDroppedNotThrown() {
    Outbox outbox = new Outbox(MoreExecutors.newDirectExecutorService());
    WorkerConnection c = connection();
    c.close();
    outbox.send(c, cancel(3));
    outbox.flush();
    assertEquals(List.of("close"), events);
  }
}
