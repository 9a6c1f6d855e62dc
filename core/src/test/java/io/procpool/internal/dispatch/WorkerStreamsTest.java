package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.Hello;
import io.procpool.proto.v1.ParentMessage;
import io.procpool.proto.v1.Welcome;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Binding an authenticated stream to the worker it claims to be. */
class WorkerStreamsTest {
  @TempDir Path tmp;

  private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

  @AfterEach
  void stopTimer() {
    timer.shutdownNow();
  }

  private static Hello hello(int index, long id, long pid) {
    return Hello.newBuilder().setWorkerIndex(index).setWorkerId(id).setPid(pid).build();
  }

  @Test
  void accept_onlyTheWorkerThePoolLaunched_onceAndWithItsPid() {
    CoreFixtures fx = new CoreFixtures(tmp);
    FakeLauncher launcher = new FakeLauncher(new CopyOnWriteArrayList<>());
    Supervisor supervisor =
        new Supervisor("test-1", CoreFixtures.LOG, fx.ctx, 1, launcher, tmp, false, timer, System::nanoTime,
            fx.counters, fx.settlement(0));
    supervisor.configure(new TestLifecycle(), Bootstrap.getDefaultInstance());
    Welcome welcome = Welcome.newBuilder().build();
    WorkerStreams streams =
        new WorkerStreams("test-1", CoreFixtures.LOG, fx.ctx, supervisor, (w, r) -> {}, fx.codec, null,
            System::nanoTime, welcome,
            new io.procpool.internal.codec.ClassServer("test-1", CoreFixtures.LOG, Runnable::run));
    fx.ctx.update(() -> supervisor.reserve(0));
    long pid = launcher.launched.get(0).pid;

    assertRefused("no worker 0 with id 9 was started by pool test-1",
        () -> streams.accept(hello(0, 9, pid), new RecordingStream()));
    assertRefused("no worker 1 with id 1 was started by pool test-1",
        () -> streams.accept(hello(1, 1, pid), new RecordingStream()));
    assertRefused("worker 0 is pid " + pid + ", not pid 4",
        () -> streams.accept(hello(0, 1, 4), new RecordingStream()));
    RecordingStream stream = new RecordingStream();
    assertNotNull(streams.accept(hello(0, 1, pid), stream));
    assertEquals(List.of(ParentMessage.newBuilder().setWelcome(welcome).build()), stream.sent);
    assertRefused("worker 0 (pid " + pid + ") is already connected or stopping",
        () -> streams.accept(hello(0, 1, pid), new RecordingStream()));
  }

  private static void assertRefused(String why, org.junit.jupiter.api.function.Executable accept) {
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, accept);
    assertEquals(Status.Code.PERMISSION_DENIED, e.getStatus().getCode());
    assertEquals(why, e.getStatus().getDescription());
  }
}
