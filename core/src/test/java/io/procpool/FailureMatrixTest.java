package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The failure matrix (after CPython's test_deadlock.py): for each stage a task goes through and each kind
 * of failure, the future ends in a defined exception within a bounded time, its message says what
 * happened and where, and the pool keeps serving.
 */
class FailureMatrixTest {
  static Pool pool;

  @BeforeAll
  static void start() {
    pool = Pool.builder().workers(2).build();
  }

  @AfterAll
  static void stop() {
    pool.close();
  }

  enum Kind {
    THROW,
    EXIT,
    HALT,
    SIGKILL
  }

  /**
   * A value that misbehaves when it is read or written in a process other than the one that made it (so a
   * value made in the parent acts in the worker, and one made in the worker acts in the parent).
   */
  static final class Poison implements Serializable {
    private static final long serialVersionUID = 1L;
    final Kind kind;
    final boolean onRead;
    final long madeIn = ProcessHandle.current().pid();
    final byte[] ballast;

    Poison(Kind kind, boolean onRead, int ballastBytes) {
      this.kind = kind;
      this.onRead = onRead;
      this.ballast = new byte[ballastBytes];
    }

    private void act(String where) throws IOException {
      if (ProcessHandle.current().pid() == madeIn) {
        return;
      }
      switch (kind) {
        case THROW -> throw new IOException("poisoned " + where);
        case EXIT -> System.exit(41);
        case HALT -> Runtime.getRuntime().halt(42);
        case SIGKILL -> {
          try {
            new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).start().waitFor();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      }
    }

    private void writeObject(ObjectOutputStream out) throws IOException {
      if (!onRead) {
        act("while writing");
      }
      out.defaultWriteObject();
    }

    private void readObject(ObjectInputStream in) throws IOException, ClassNotFoundException {
      in.defaultReadObject();
      if (onRead) {
        act("while reading");
      }
    }
  }

  /** Fails to serialize in the parent (where a Poison would not act, having been made there). */
  static final class Unwritable implements Serializable {
    private static final long serialVersionUID = 1L;

    private void writeObject(ObjectOutputStream out) throws IOException {
      throw new IOException("cannot write");
    }
  }

  static Object run(Kind kind) throws Exception {
    switch (kind) {
      case THROW -> throw new IllegalStateException("thrown by the task");
      case EXIT -> System.exit(43);
      case HALT -> Runtime.getRuntime().halt(44);
      case SIGKILL ->
          new ProcessBuilder("kill", "-9", Long.toString(ProcessHandle.current().pid())).start().waitFor();
    }
    return null;
  }

  static Object returnReadPoison(Kind kind) {
    return new Poison(kind, true, 0);
  }

  static int consume(Object input) {
    return input.hashCode();
  }

  private static Throwable failure(Future<?> f) throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(60, TimeUnit.SECONDS));
    return e.getCause();
  }

  private static void assertPoolServes() throws Exception {
    assertEquals(12, pool.submit(Workers::identity, 12).get(60, TimeUnit.SECONDS));
  }

  private static void assertCrashed(Throwable t, int code) {
    WorkerCrashedException c = assertInstanceOf(WorkerCrashedException.class, t);
    assertEquals(code, c.exitCode(), c.getMessage());
    assertTrue(c.getMessage().contains("exited with code " + code + " while running task"), c.getMessage());
  }

  @Test
  void encodeTaskInParent_throws_failsWithCodecErrorNamingClass() throws Exception {
    Throwable t = failure(pool.submit(FailureMatrixTest::consume, new Unwritable()));
    TaskCodecException c = assertInstanceOf(TaskCodecException.class, t);
    assertTrue(c.getMessage().startsWith("Cannot send input of task FailureMatrixTest::consume"), c.getMessage());
    assertPoolServes();
  }

  @Test
  void decodeTaskInWorker_throws_failsNamingStage() throws Exception {
    Throwable t = failure(pool.submit(FailureMatrixTest::consume, new Poison(Kind.THROW, true, 0)));
    assertTrue(t.getMessage().startsWith("Cannot decode input of task FailureMatrixTest::consume in worker"), t.getMessage());
    assertTrue(t.getMessage().contains("poisoned while reading"), t.getMessage());
    assertPoolServes();
  }

  @Test
  void decodeTaskInWorker_exit_failsWithCrash() throws Exception {
    assertCrashed(failure(pool.submit(FailureMatrixTest::consume, new Poison(Kind.EXIT, true, 0))), 41);
    assertPoolServes();
  }

  @Test
  void decodeTaskInWorker_halt_failsWithCrash() throws Exception {
    assertCrashed(failure(pool.submit(FailureMatrixTest::consume, new Poison(Kind.HALT, true, 0))), 42);
    assertPoolServes();
  }

  @Test
  void decodeTaskInWorker_sigkill_failsWithCrash() throws Exception {
    assertCrashed(failure(pool.submit(FailureMatrixTest::consume, new Poison(Kind.SIGKILL, true, 0))), 137);
    assertPoolServes();
  }

  @Test
  void run_throws_failsWithTaskException() throws Exception {
    Throwable t = failure(pool.submit(FailureMatrixTest::run, Kind.THROW));
    assertEquals("thrown by the task", assertInstanceOf(IllegalStateException.class, t).getMessage());
    assertPoolServes();
  }

  @Test
  void run_exit_failsWithCrash() throws Exception {
    assertCrashed(failure(pool.submit(FailureMatrixTest::run, Kind.EXIT)), 43);
    assertPoolServes();
  }

  @Test
  void run_halt_failsWithCrash() throws Exception {
    assertCrashed(failure(pool.submit(FailureMatrixTest::run, Kind.HALT)), 44);
    assertPoolServes();
  }

  @Test
  void run_sigkill_failsWithCrash() throws Exception {
    assertCrashed(failure(pool.submit(FailureMatrixTest::run, Kind.SIGKILL)), 137);
    assertPoolServes();
  }

  @Test
  void encodeResultInWorker_throws_failsNamingStage() throws Exception {
    // Made in the parent, so it acts when the worker writes it back.
    Poison p = new Poison(Kind.THROW, false, 0);
    Throwable t = failure(pool.submit((Object ignored) -> p, null));
    assertTrue(t.getMessage().startsWith("Cannot send result of task lambda in FailureMatrixTest"), t.getMessage());
    assertTrue(t.getMessage().contains("poisoned while writing"), t.getMessage());
    assertPoolServes();
  }

  @Test
  void encodeResultInWorker_exit_failsWithCrash() throws Exception {
    // The poison was made in the worker, so it acts when read, not written: write-side acts need a
    // value made elsewhere. Return a value made by the parent instead.
    Poison p = new Poison(Kind.EXIT, false, 0);
    assertCrashed(failure(pool.submit((Object ignored) -> p, null)), 41);
    assertPoolServes();
  }

  @Test
  void encodeResultInWorker_halt_failsWithCrash() throws Exception {
    Poison p = new Poison(Kind.HALT, false, 0);
    assertCrashed(failure(pool.submit((Object ignored) -> p, null)), 42);
    assertPoolServes();
  }

  @Test
  void decodeResultInParent_throws_failsNamingStage() throws Exception {
    Throwable t = failure(pool.submit(FailureMatrixTest::returnReadPoison, Kind.THROW));
    TaskCodecException c = assertInstanceOf(TaskCodecException.class, t);
    assertTrue(c.getMessage().startsWith("Cannot receive result of task"), c.getMessage());
    assertTrue(c.getMessage().contains("poisoned while reading"), c.getMessage());
    assertPoolServes();
  }

  @Test
  void largePayloadInFlight_workerHalts_failsWithCrash() throws Exception {
    assertCrashed(failure(pool.submit(FailureMatrixTest::consume, new Poison(Kind.HALT, true, 48 << 20))), 42);
    assertPoolServes();
  }

  @Test
  void largeResultInFlight_workerHalts_failsWithCrash() throws Exception {
    Poison p = new Poison(Kind.HALT, false, 48 << 20);
    assertCrashed(failure(pool.submit((Object ignored) -> p, null)), 42);
    assertPoolServes();
  }
}
