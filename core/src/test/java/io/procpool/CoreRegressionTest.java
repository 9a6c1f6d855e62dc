package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import io.procpool.internal.worker.InJvmWorker;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Regression tests for failures of the old core (issue 8), each named after what broke. Workers are
 * threads over the in-process transport: no process is started.
 */
class CoreRegressionTest {
  /** Released at the end of each test, so that no task thread outlives it. */
  static volatile CountDownLatch release = new CountDownLatch(1);

  @AfterEach
  void releaseBlockedTasks() {
    release.countDown();
    release = new CountDownLatch(1);
  }

  static String upper(String s) {
    return s.toUpperCase(java.util.Locale.ROOT);
  }

  static String block(String s) throws InterruptedException {
    release.await(60, TimeUnit.SECONDS);
    return s;
  }

  static String spin(String s) {
    // Ignores interrupts, like a task stuck in native code.
    long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
    while (release.getCount() > 0 && System.nanoTime() < end) {
      Thread.onSpinWait();
    }
    return s;
  }

  /** A linked list long enough that serializing it overflows the stack. */
  static final class Node implements Serializable {
    private static final long serialVersionUID = 1L;
    final Node next;

    Node(Node next) {
      this.next = next;
    }
  }

  static Node deepList(int n) {
    Node head = null;
    for (int i = 0; i < n; i++) {
      head = new Node(head);
    }
    return head;
  }

  private static Pool pool(ThreadLauncher launcher, int workers) {
    return Pool.builder().workers(workers).launcher(launcher).build();
  }

  private static Throwable failure(ListenableFuture<?> f) throws InterruptedException {
    try {
      f.get(30, TimeUnit.SECONDS);
      throw new AssertionError("the task succeeded");
    } catch (ExecutionException e) {
      return e.getCause();
    } catch (java.util.concurrent.TimeoutException e) {
      throw new AssertionError("the future did not complete within 30 s: " + f, e);
    }
  }

  @Test
  void encodeResult_stackOverflowError_failsThatTaskAndTheWorkerLivesOn() throws Exception {
    ThreadLauncher launcher = new ThreadLauncher();
    try (Pool pool = pool(launcher, 1)) {
      Throwable t = failure(pool.submit((Integer n) -> deepList(n), 1_000_000));
      TaskCodecException e = assertInstanceOf(TaskCodecException.class, t);
      assertTrue(e.getMessage().startsWith("Cannot send result of task lambda in CoreRegressionTest"), e.getMessage());
      assertTrue(e.getMessage().contains("StackOverflowError"), e.getMessage());
      assertEquals("OK", pool.submit(CoreRegressionTest::upper, "ok").get(30, TimeUnit.SECONDS));
      assertEquals(1, launcher.launched.size(), "the worker must not have died");
    }
  }

  /** Launches like ThreadLauncher, but first plants a directory where the next worker's status file goes. */
  static class BlockingStatusLauncher extends ThreadLauncher {
    final List<Path> statusFiles = new CopyOnWriteArrayList<>();

    @Override
    public WorkerHandle launch(WorkerSpec spec) throws IOException {
      Bootstrap bootstrap = InJvmWorker.bootstrapOf(spec);
      statusFiles.add(Path.of(bootstrap.getStatusFile()));
      Files.createDirectories(Path.of(bootstrap.getBlobDir()).resolve("worker-" + (bootstrap.getWorkerId() + 1) + ".status"));
      return super.launch(spec);
    }
  }

  @Test
  void statusFileCreation_fails_isAFailedLaunchAndThePoolGoesOn() throws Exception {
    BlockingStatusLauncher launcher = new BlockingStatusLauncher();
    Pool pool = pool(launcher, 1);
    try {
      launcher.launched.get(0).kill();
      // Worker 2 cannot get its status file; worker 3 replaces it.
      Conditions.await("a worker launched after the failed one", Duration.ofSeconds(20), () -> launcher.launched.size() == 2);
      assertEquals("X", pool.submit(CoreRegressionTest::upper, "x").get(30, TimeUnit.SECONDS));
      assertEquals(List.of(1L, 3L), launcher.statusFiles.stream()
          .map(p -> Long.parseLong(p.getFileName().toString().replaceAll("\\D", ""))).toList());
    } finally {
      pool.close();
    }
    assertTrue(pool.isTerminated());
  }

  @Test
  void replacedWorker_statusFile_isClosedAndDeleted() throws Exception {
    BlockingStatusLauncher launcher = new BlockingStatusLauncher() {
      @Override
      public WorkerHandle launch(WorkerSpec spec) throws IOException {
        Bootstrap bootstrap = InJvmWorker.bootstrapOf(spec);
        statusFiles.add(Path.of(bootstrap.getStatusFile()));
        return launchPlain(bootstrap);
      }
    };
    try (Pool pool = pool(launcher, 1)) {
      Path first = launcher.statusFiles.get(0);
      assertTrue(Files.exists(first));
      launcher.launched.get(0).kill();
      Conditions.await("a replacement worker", Duration.ofSeconds(20), () -> launcher.launched.size() == 2);
      assertEquals("Y", pool.submit(CoreRegressionTest::upper, "y").get(30, TimeUnit.SECONDS));
      Conditions.await("the dead worker's status file deleted", Duration.ofSeconds(10), () -> !Files.exists(first));
      assertTrue(Files.exists(launcher.statusFiles.get(1)));
    }
  }

  @Test
  void close_fromAFutureListener_returnsOnceTerminated() throws Exception {
    Pool pool = pool(new ThreadLauncher(), 1);
    AtomicReference<Throwable> closed = new AtomicReference<>();
    CountDownLatch done = new CountDownLatch(1);
    ListenableFuture<String> f = pool.submit(CoreRegressionTest::upper, "a");
    f.addListener(
        () -> {
          try {
            pool.close();
            closed.set(pool.isTerminated() ? null : new AssertionError("close() returned before termination"));
          } catch (Throwable t) {
            closed.set(t);
          } finally {
            done.countDown();
          }
        },
        MoreExecutors.directExecutor());
    assertTrue(done.await(30, TimeUnit.SECONDS), "close() in a listener did not return: " + pool);
    assertEquals(null, closed.get());
    assertEquals("A", f.get());
  }

  @Test
  void close_fromATimedOutTasksListener_doesNotDeadlock() throws Exception {
    Pool pool = Pool.builder().workers(1).launcher(new ThreadLauncher()).taskTimeout(Duration.ofMillis(300)).build();
    CountDownLatch done = new CountDownLatch(1);
    ListenableFuture<String> f = pool.submit(CoreRegressionTest::spin, "t");
    f.addListener(
        () -> {
          pool.close();
          done.countDown();
        },
        MoreExecutors.directExecutor());
    assertInstanceOf(TaskTimeoutException.class, failure(f));
    assertTrue(done.await(30, TimeUnit.SECONDS), "close() in the timed-out task's listener did not return: " + pool);
    assertTrue(pool.isTerminated());
  }

  @Test
  void close_interrupted_escalatesToShutdownNowAndKeepsTheInterrupt() throws Exception {
    Pool pool = pool(new ThreadLauncher(), 1);
    ListenableFuture<String> running = pool.submit(CoreRegressionTest::spin, "r");
    Conditions.await("the task running", Duration.ofSeconds(10), () -> pool.stats().inFlight() == 1);
    java.util.concurrent.atomic.AtomicBoolean interruptedAfter = new java.util.concurrent.atomic.AtomicBoolean();
    Thread closer = new Thread(() -> {
      pool.close();
      interruptedAfter.set(Thread.currentThread().isInterrupted());
    }, "closer");
    closer.start();
    Conditions.await("close() waiting", Duration.ofSeconds(10), () -> closer.getState() == Thread.State.WAITING);
    closer.interrupt();
    closer.join(TimeUnit.SECONDS.toMillis(30));
    assertFalse(closer.isAlive(), "close() did not return after an interrupt: " + pool);
    assertTrue(interruptedAfter.get(), "close() must return with the interrupt status set");
    assertTrue(running.isCancelled(), "shutdownNow() cancels the running task");
    assertThrows(CancellationException.class, running::get);
    assertTrue(pool.isTerminated());
  }

  @Test
  void awaitTermination_interrupted_throwsInterruptedException() throws Exception {
    try (Pool pool = pool(new ThreadLauncher(), 1)) {
      Thread.currentThread().interrupt();
      assertThrows(InterruptedException.class, () -> pool.awaitTermination(Duration.ofSeconds(10)));
      assertFalse(Thread.currentThread().isInterrupted());
    }
  }

  @Test
  void quickTaskResult_whileTheNextTaskRunsLong_isNotHeldBack() throws Exception {
    try (Pool pool = pool(new ThreadLauncher(), 1)) {
      // Both go to the one worker, the slow one queued behind the quick one before it finishes: the quick
      // one's result used to wait in the worker's batch until the slow one ended.
      ListenableFuture<String> quick = pool.submit(CoreRegressionTest::upper, "q");
      ListenableFuture<String> slow = pool.submit(CoreRegressionTest::block, "s");
      assertEquals("Q", quick.get(10, TimeUnit.SECONDS));
      assertFalse(slow.isDone());
      release.countDown();
      assertEquals("s", slow.get(30, TimeUnit.SECONDS));
    }
  }
}
