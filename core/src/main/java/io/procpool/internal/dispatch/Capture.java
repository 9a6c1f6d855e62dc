package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.procpool.Captured;
import io.procpool.CapturedOutputException;
import io.procpool.Task;
import io.procpool.TaskOutput;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.worker.TaskCapture;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.CapturedOutput;
import io.procpool.proto.v1.OutputCapture;
import io.procpool.proto.v1.TaskResult;
import java.nio.file.Path;
import java.util.Collections;

/**
 * The parent's side of {@code WorkerOutput.CAPTURE}: naming each worker's capture files, handing a
 * task's captured output to {@code submitCaptured}'s future, and attaching it to failures, reading the
 * files' tails when the worker died (see {@link TaskCapture} for the worker's side).
 */
public final class Capture {
  private Capture() {}

  private static Path stdoutFile(Path dir, long workerId) {
    return dir.resolve("worker-" + workerId + ".stdout");
  }

  private static Path stderrFile(Path dir, long workerId) {
    return dir.resolve("worker-" + workerId + ".stderr");
  }

  /** {@code bootstrap}, with the capture files of worker {@code workerId} when the pool captures. */
  static Bootstrap withFiles(Bootstrap bootstrap, boolean capture, Path dir, long workerId) {
    if (!capture) {
      return bootstrap;
    }
    if (bootstrap.getReportBegun()) {
      // A worker that may be on another machine captures into files of its own (see TaskCapture).
      return bootstrap.toBuilder().setCapture(OutputCapture.getDefaultInstance()).build();
    }
    return bootstrap.toBuilder()
        .setCapture(
            OutputCapture.newBuilder()
                .setStdoutFile(stdoutFile(dir, workerId).toString())
                .setStderrFile(stderrFile(dir, workerId).toString()))
        .build();
  }

  /** Deletes worker {@code workerId}'s capture files, once nothing more will be read from them. */
  static void deleteFiles(boolean capture, Path dir, long workerId) {
    if (!capture) {
      return;
    }
    for (Path p : new Path[] {stdoutFile(dir, workerId), stderrFile(dir, workerId)}) {
      try {
        java.nio.file.Files.deleteIfExists(p);
      } catch (java.io.IOException e) {
        // Removed with the pool's directory at the latest.
      }
    }
  }

  /** Whether a pool with this output mode and launcher captures task output. */
  static boolean enabled(JvmLauncher.OutputMode mode, boolean inProcess) {
    // Workers that are threads of this JVM would capture this JVM's System.out: never.
    return mode == JvmLauncher.OutputMode.CAPTURE && !inProcess;
  }

  /** Runs {@code task} on {@code input}; the future holds its result and what it printed. */
  public static <I, O> ListenableFuture<Captured<O>> submit(PoolCore core, Task<I, O> task, I input) {
    if (!core.capturesOutput()) {
      throw new IllegalStateException(
          "Pool " + core.name() + " does not capture output: build it with workerOutput(WorkerOutput.CAPTURE)"
              + " to use submitCaptured");
    }
    TaskFuture<O> f = (TaskFuture<O>) core.<O>enqueue(task, Collections.singletonList(input), true);
    return Futures.transform(f, v -> new Captured<>(v, f.output()), MoreExecutors.directExecutor());
  }

  /** Before a task's future completes: keep what it printed for {@code submitCaptured}. */
  static void onResult(TaskFuture<?> future, TaskResult result) {
    if (result.hasOutput()) {
      future.setOutput(decode(result.getOutput()));
    }
  }

  /** {@code failure}, with what the task printed attached when the worker sent it. */
  static Throwable attach(Throwable failure, TaskResult result) {
    if (result.hasOutput()) {
      failure.addSuppressed(new CapturedOutputException(decode(result.getOutput())));
    }
    return failure;
  }

  /**
   * {@code failure}, with the tails of worker {@code workerId}'s capture files attached when the pool
   * captures: for a worker that died or was killed mid-task, which could not send them.
   */
  static <T extends Throwable> T attachTail(T failure, boolean capture, Path dir, long workerId) {
    if (capture) {
      TaskCapture.Tail out = TaskCapture.tail(stdoutFile(dir, workerId), TaskCapture.MAX_TAIL_BYTES);
      TaskCapture.Tail err = TaskCapture.tail(stderrFile(dir, workerId), TaskCapture.MAX_TAIL_BYTES);
      failure.addSuppressed(
          new CapturedOutputException(
              new TaskOutput(out.text(), err.text(), out.truncated() || err.truncated())));
    }
    return failure;
  }

  private static TaskOutput decode(CapturedOutput o) {
    return new TaskOutput(o.getStdout(), o.getStderr(), o.getTruncated());
  }
}
