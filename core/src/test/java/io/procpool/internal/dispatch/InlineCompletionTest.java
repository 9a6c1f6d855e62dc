package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.MoreExecutors;
import com.google.protobuf.ByteString;
import io.procpool.proto.v1.Failure;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Futures completed by the transport thread itself, with every listener handed off: no process. */
class InlineCompletionTest {
  private static TaskResult result(Value... outputs) {
    TaskResult.Builder b = TaskResult.newBuilder().setTaskId(1);
    for (Value v : outputs) {
      b.addOutputs(v);
    }
    return b.build();
  }

  @Test
  void decodableInline_scalarsAndShortStrings_yes() {
    assertTrue(Completions.decodableInline(List.of(
        result(Value.newBuilder().setLong(1).build(), Value.newBuilder().setString("s").build()),
        result(Value.newBuilder().setNull(true).build(), Value.newBuilder().setBytes(ByteString.copyFrom(new byte[100])).build()))));
  }

  @Test
  void decodableInline_serializedObjectFailureCancelOrTooMuch_no() {
    assertFalse(Completions.decodableInline(List.of(result(Value.newBuilder().setJava(ByteString.copyFrom(new byte[10])).build()))),
        "Java serialization may run readObject");
    assertFalse(Completions.decodableInline(List.of(TaskResult.newBuilder().setFailure(Failure.getDefaultInstance()).build())));
    assertFalse(Completions.decodableInline(List.of(TaskResult.newBuilder().setCancelled(true).build())));
    assertFalse(Completions.decodableInline(List.of(result(Value.newBuilder().setBytes(ByteString.copyFrom(new byte[Completions.INLINE_MAX_BYTES + 1])).build()))));
    List<TaskResult> many = new ArrayList<>(Collections.nCopies(Completions.INLINE_MAX_RESULTS + 1, result(Value.newBuilder().setInt(1).build())));
    assertFalse(Completions.decodableInline(many));
  }

  @Test
  void completeHandingOff_directAndExecutorListeners_runOnTheHandOffExecutorNotHere() throws Exception {
    ExecutorService pool = Executors.newSingleThreadExecutor(r -> new Thread(r, "hand-off"));
    try {
      TaskFuture<Object> f = new TaskFuture<>(true);
      AtomicReference<String> direct = new AtomicReference<>();
      AtomicReference<String> viaExecutor = new AtomicReference<>();
      f.addListener(() -> direct.set(Thread.currentThread().getName()), MoreExecutors.directExecutor());
      // A listener's own executor's execute() is the user's code too: it must not run here either.
      f.addListener(() -> viaExecutor.set(Thread.currentThread().getName()),
          command -> {
            viaExecutor.set("execute called on " + Thread.currentThread().getName());
            command.run();
          });
      String here = Thread.currentThread().getName();
      TaskFuture.completeHandingOff(pool, () -> f.complete(List.of(7)));
      assertTrue(f.isDone(), "waiters see the value at once");
      assertEquals(7, f.get());
      pool.shutdown();
      assertTrue(pool.awaitTermination(10, TimeUnit.SECONDS));
      assertEquals("hand-off", direct.get());
      assertEquals("hand-off", viaExecutor.get());
      assertNotEquals(here, direct.get());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void addListener_outsideAHandOff_runsAsGuavaSays() throws Exception {
    TaskFuture<Object> f = new TaskFuture<>(true);
    AtomicReference<String> ran = new AtomicReference<>();
    f.addListener(() -> ran.set(Thread.currentThread().getName()), MoreExecutors.directExecutor());
    f.complete(List.of(1));
    assertEquals(Thread.currentThread().getName(), ran.get(), "a direct listener runs on the completing thread");
  }
}
