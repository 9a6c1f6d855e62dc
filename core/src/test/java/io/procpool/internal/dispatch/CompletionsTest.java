package io.procpool.internal.dispatch;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.MoreExecutors;
import io.procpool.TaskCodecException;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decoding results and completing futures, one task at a time: no process. */
class CompletionsTest {
  @TempDir Path tmp;

  /** Throws a StackOverflowError when read, as a deep linked structure would. */
  static final class Deep implements Serializable {
    private static final long serialVersionUID = 1L;

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
      throw new StackOverflowError("too deep to read");
    }
  }


  @Test
  void resultBatch_oneResultThrowsErrorOnDecode_onlyThatTaskFailsAndBlobsAreDeleted() throws Exception {
    CoreFixtures core = new CoreFixtures(tmp);
    Worker w = new Worker(0, 1, 0);
    TaskRecord deep = CoreFixtures.task(1, 2);
    TaskRecord listened = CoreFixtures.task(2, 1);
    TaskRecord empty = CoreFixtures.task(3, 1);
    TaskRecord fine = CoreFixtures.task(4, 1);
    List<String> ran = new ArrayList<>();
    listened.future.addListener(
        () -> {
          ran.add("listener");
          throw new AssertionError("a direct listener that throws");
        },
        MoreExecutors.directExecutor());
    Value blob = core.codec.encode(new byte[ValueCodec.BLOB_THRESHOLD + 1]);
    Path blobFile = core.codec.blobPath(blob);
    assertTrue(Files.exists(blobFile), "the fixture's blob file");
    Value poison = Value.newBuilder().setJava(ValueCodec.serialize(new Deep())).build();
    List<TaskResult> results =
        List.of(
            TaskResult.newBuilder().setTaskId(1).addOutputs(blob).addOutputs(poison).build(),
            TaskResult.newBuilder().setTaskId(2).addOutputs(core.codec.encode("ok")).build(),
            TaskResult.newBuilder().setTaskId(3).build(),
            TaskResult.newBuilder().setTaskId(4).addOutputs(core.codec.encode(42L)).build());

    core.completions.complete(w, Arrays.asList(deep, listened, empty, fine), results, null);

    Throwable t = CoreFixtures.failure(deep);
    assertInstanceOf(TaskCodecException.class, t);
    assertTrue(t.getMessage().startsWith("Cannot receive result of task 1 (Fixture::task) from worker 0: "), t.getMessage());
    assertTrue(t.getMessage().contains("StackOverflowError"), t.getMessage());
    assertFalse(Files.exists(blobFile), "a failed result's blob files must be deleted");
    assertEquals("ok", Futures.getDone(listened.future));
    assertEquals(List.of("listener"), ran);
    Throwable noOutputs = CoreFixtures.failure(empty);
    assertEquals(
        "Cannot receive result of task 3 (Fixture::task) from worker 0: expected 1 output(s), but the worker sent 0",
        noOutputs.getMessage());
    assertEquals(42L, Futures.getDone(fine.future));
  }

  @Test
  void resultBatch_unknownTask_deletesItsBlobsAndCompletesTheOthers() throws Exception {
    CoreFixtures core = new CoreFixtures(tmp);
    Worker w = new Worker(0, 1, 0);
    TaskRecord fine = CoreFixtures.task(4, 1);
    Value blob = core.codec.encode(new byte[ValueCodec.BLOB_THRESHOLD + 1]);
    Path blobFile = core.codec.blobPath(blob);
    core.completions.complete(
        w,
        Arrays.asList(null, fine),
        List.of(
            TaskResult.newBuilder().setTaskId(3).addOutputs(blob).build(),
            TaskResult.newBuilder().setTaskId(4).addOutputs(core.codec.encode(7L)).build()),
        null);
    assertFalse(Files.exists(blobFile));
    assertEquals(7L, Futures.getDone(fine.future));
  }
}
