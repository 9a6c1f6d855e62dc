package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListeningExecutorService;
import java.io.Serializable;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Pool.asExecutorService(): Callables and Runnables that are Serializable run in workers. */
class PoolExecutorServiceTest {
  /** A task that never returns by itself; released after each test so that no thread outlives it. */
  static volatile java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);

  @AfterEach
  void releaseBlocked() {
    release.countDown();
    release = new java.util.concurrent.CountDownLatch(1);
  }

  interface SerializableCallable<T> extends Callable<T>, Serializable {}

  private static Pool inProcess(int workers) {
    return Pool.builder().workers(workers).launcher(new ThreadLauncher()).build();
  }

  static long parentPid() {
    return ProcessHandle.current().pid();
  }

  @Test
  void submit_serializableCallable_runsInAWorkerJvm() throws Exception {
    long parent = ProcessHandle.current().pid();
    try (Pool pool = Pool.builder().workers(1).build()) {
      ListeningExecutorService es = pool.asExecutorService();
      long pid = es.submit((SerializableCallable<Long>) () -> ProcessHandle.current().pid()).get(30, TimeUnit.SECONDS);
      assertNotEquals(parent, pid);
      assertEquals(pool.workers().get(0).pid(), pid);
    }
  }

  @Test
  void submit_callableThatIsNotSerializable_failsNamingItsClassAndHarmsNothing() throws Exception {
    try (Pool pool = inProcess(1)) {
      ListeningExecutorService es = pool.asExecutorService();
      Callable<String> plain = () -> "never";
      ExecutionException e = assertThrows(ExecutionException.class, () -> es.submit(plain).get());
      TaskCodecException c = assertInstanceOf(TaskCodecException.class, e.getCause());
      assertTrue(c.getMessage().startsWith("Cannot send task " + plain.getClass().getName()
          + ": a Callable run by a pool must be Serializable"), c.getMessage());
      assertEquals("ok", es.submit((SerializableCallable<String>) () -> "ok").get(30, TimeUnit.SECONDS));
    }
  }

  @Test
  void execute_runnableThatIsNotSerializable_throwsNamingItsClass() {
    try (Pool pool = inProcess(1)) {
      Runnable plain = () -> {};
      TaskCodecException e = assertThrows(TaskCodecException.class, () -> pool.asExecutorService().execute(plain));
      assertTrue(e.getMessage().contains(plain.getClass().getName()), e.getMessage());
    }
  }

  static final AtomicInteger RAN = new AtomicInteger();

  @Test
  void submit_serializableRunnableWithResult_runsItAndReturnsTheResult() throws Exception {
    try (Pool pool = inProcess(1)) {
      int before = RAN.get();
      String r = pool.asExecutorService()
          .submit((Runnable & Serializable) () -> RAN.incrementAndGet(), "done").get(30, TimeUnit.SECONDS);
      assertEquals("done", r);
      assertEquals(before + 1, RAN.get(), "the in-process worker shares this JVM's statics");
    }
  }

  @Test
  void invokeAll_manyCallables_allDoneInOrder() throws Exception {
    try (Pool pool = inProcess(2)) {
      List<SerializableCallable<Integer>> tasks =
          List.of(() -> 1, () -> 2, () -> { throw new IllegalStateException("three"); }, () -> 4);
      List<Future<Integer>> fs = pool.asExecutorService().invokeAll(tasks);
      assertEquals(4, fs.size());
      assertTrue(fs.stream().allMatch(Future::isDone));
      assertEquals(1, fs.get(0).get());
      assertEquals(4, fs.get(3).get());
      ExecutionException e = assertThrows(ExecutionException.class, () -> fs.get(2).get());
      assertEquals("three", e.getCause().getMessage());
    }
  }

  @Test
  void invokeAll_timeout_cancelsWhatDidNotFinish() throws Exception {
    try (Pool pool = inProcess(1)) {
      List<SerializableCallable<String>> tasks =
          List.of(() -> "quick", () -> { release.await(); return "slow"; });
      List<Future<String>> fs = pool.asExecutorService().invokeAll(tasks, 2, TimeUnit.SECONDS);
      assertEquals("quick", fs.get(0).get());
      assertTrue(fs.get(1).isCancelled());
    }
  }

  @Test
  void invokeAny_someFail_returnsASuccessAndCancelsTheRest() throws Exception {
    try (Pool pool = inProcess(2)) {
      List<SerializableCallable<String>> tasks =
          List.of(() -> { throw new IllegalStateException("no"); }, () -> "yes");
      assertEquals("yes", pool.asExecutorService().invokeAny(tasks));
      List<SerializableCallable<String>> failing =
          List.of(() -> { throw new IllegalStateException("a"); }, () -> { throw new IllegalStateException("b"); });
      assertThrows(ExecutionException.class, () -> pool.asExecutorService().invokeAny(failing));
      List<SerializableCallable<String>> stuck = List.of(() -> { release.await(); return "late"; });
      assertThrows(TimeoutException.class,
          () -> pool.asExecutorService().invokeAny(stuck, 200, TimeUnit.MILLISECONDS));
    }
  }

  @Test
  void lifecycle_throughTheView_actsOnThePool() throws Exception {
    Pool pool = inProcess(1);
    ListeningExecutorService es = pool.asExecutorService();
    Future<String> running = es.submit((SerializableCallable<String>) () -> { release.await(); return "x"; });
    es.shutdown();
    assertTrue(pool.isShutdown());
    assertThrows(RejectedExecutionException.class, () -> es.submit((SerializableCallable<String>) () -> "y"));
    assertThrows(RejectedExecutionException.class, () -> es.submit((Callable<String>) () -> "not serializable"));
    assertEquals(List.of(), es.shutdownNow());
    assertThrows(CancellationException.class, running::get);
    assertTrue(es.awaitTermination(30, TimeUnit.SECONDS));
    assertTrue(es.isTerminated());
  }
}
