package io.procpool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.UncheckedExecutionException;
import io.procpool.proto.v1.Heartbeat;
import java.io.Serializable;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The contract's everyday clauses, against one shared pool of two real worker JVMs. */
class PoolTest {
  static Pool pool;

  @BeforeAll
  static void start() {
    pool = Pool.builder().workers(2).build();
  }

  @AfterAll
  static void stop() {
    pool.close();
  }

  static long parentPid(Object ignored) {
    return ProcessHandle.current().parent().orElseThrow().pid();
  }

  static long ownPid(Object ignored) {
    return ProcessHandle.current().pid();
  }

  static int square(int x) {
    return x * x;
  }

  static long napThenPid(int millis) throws InterruptedException {
    Thread.sleep(millis);
    return ProcessHandle.current().pid();
  }

  @Test
  void submit_longTasksAfterManyShortOnes_thirdGoesToTheWorkerFreeFirstNotBehindTheFirst() throws Exception {
    for (int i = 0; i < 200; i++) {
      pool.submit(PoolTest::square, i).get();
    }

    var first = pool.submit(PoolTest::napThenPid, 1_000);
    var shortOne = pool.submit(PoolTest::napThenPid, 100);
    var third = pool.submit(PoolTest::napThenPid, 1_000);

    assertNotEquals(first.get(), shortOne.get());
    assertEquals(shortOne.get(), third.get(), "the third task was sent ahead behind the first one");
  }

  @Test
  void submit_directListenerOnScalarResult_neverRunsOnTheTransportThread() throws Exception {
    // Scalar results are completed by the transport thread that received them; listeners are handed off.
    for (int i = 0; i < 50; i++) {
      java.util.concurrent.CompletableFuture<String> ranOn = new java.util.concurrent.CompletableFuture<>();
      ListenableFuture<Integer> f = pool.submit(PoolTest::square, i);
      f.addListener(() -> ranOn.complete(Thread.currentThread().getName()),
          com.google.common.util.concurrent.MoreExecutors.directExecutor());
      assertEquals(i * i, f.get());
      String name = ranOn.get(10, java.util.concurrent.TimeUnit.SECONDS);
      assertTrue(!name.startsWith("procpool-grpc"), "listener ran on " + name);
    }
  }

  static int failOn13(int x) {
    if (x == 13) {
      throw new IllegalStateException("unlucky " + x);
    }
    return x;
  }

  /** An exception class the parent can load and deserialize. */
  static final class CustomException extends Exception {
    private static final long serialVersionUID = 1L;
    final int code;

    CustomException(String message, int code) {
      super(message);
      this.code = code;
    }
  }

  /** An exception that cannot be serialized (a non-serializable field). */
  static final class UnserializableException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final Object lock = new Object();

    UnserializableException(String message) {
      super(message);
    }
  }

  record Point(int x, int y) implements Serializable {}

  @Test
  void submit_inWorker_parentPidIsThisJvm() throws Exception {
    long me = ProcessHandle.current().pid();
    assertEquals(me, pool.submit(PoolTest::parentPid, null).get());
    assertNotEquals(me, pool.submit(PoolTest::ownPid, null).get());
  }

  @Test
  void map_inputs_keepsOrder() throws Exception {
    List<Integer> in = IntStream.range(0, 5_000).boxed().collect(Collectors.toList());
    assertEquals(in.stream().map(x -> x * x).collect(Collectors.toList()), pool.map(PoolTest::square, in));
  }

  @Test
  void map_stringsLongsDoublesAndNulls_keepValuesAndOrder() throws Exception {
    List<String> strings = IntStream.range(0, 3_000).mapToObj(i -> "s" + i + (i % 7 == 0 ? "\uD800" : "")).collect(Collectors.toList());
    assertEquals(strings, pool.map((String x) -> x, strings));
    List<Long> longs = IntStream.range(0, 3_000).mapToObj(i -> (long) i << 40).collect(Collectors.toList());
    assertEquals(longs, pool.map((Long x) -> x, longs));
    List<Double> doubles = IntStream.range(0, 3_000).mapToObj(i -> i / 3.0).collect(Collectors.toList());
    assertEquals(doubles, pool.map((Double x) -> x, doubles));
    List<Integer> withNulls = new ArrayList<>();
    for (int i = 0; i < 3_000; i++) {
      withNulls.add(i % 5 == 0 ? null : i);
    }
    assertEquals(withNulls, pool.map((Integer x) -> x, withNulls));
  }

  @Test
  void map_empty_returnsEmpty() throws Exception {
    assertEquals(List.of(), pool.map(PoolTest::square, List.of()));
  }

  @Test
  void map_oneFails_throwsExecutionExceptionWithCause() {
    List<Integer> in = IntStream.range(0, 100).boxed().collect(Collectors.toList());
    ExecutionException e = assertThrows(ExecutionException.class, () -> pool.map(PoolTest::failOn13, in));
    assertInstanceOf(IllegalStateException.class, e.getCause());
    assertEquals("unlucky 13", e.getCause().getMessage());
  }

  @Test
  void mapAsync_inputs_completesInOrder() throws Exception {
    ListenableFuture<List<Integer>> f = pool.mapAsync(PoolTest::square, List.of(3, 1, 2));
    assertEquals(List.of(9, 1, 4), f.get());
  }

  @Test
  void imap_infiniteInput_readsLazily() {
    AtomicInteger pulled = new AtomicInteger();
    Iterable<Integer> naturals = () -> Stream.iterate(0, i -> { pulled.incrementAndGet(); return i + 1; }).iterator();
    try (Stream<Integer> s = pool.imap(PoolTest::square, naturals)) {
      List<Integer> first = s.limit(50).collect(Collectors.toList());
      assertEquals(IntStream.range(0, 50).map(i -> i * i).boxed().collect(Collectors.toList()), first);
    }
    assertTrue(pulled.get() < 100_000, "read-ahead is bounded, but pulled " + pulled.get());
  }

  @Test
  void imapUnordered_inputs_yieldsEveryResult() {
    List<Integer> in = IntStream.range(0, 1_000).boxed().collect(Collectors.toList());
    try (Stream<Integer> s = pool.imapUnordered(PoolTest::square, in)) {
      assertEquals(
          in.stream().map(x -> x * x).collect(Collectors.toSet()), s.collect(Collectors.toSet()));
    }
  }

  @Test
  void imap_failedTask_throwsUncheckedAndYieldsNothingAfter() {
    List<Integer> seen = new ArrayList<>();
    try (Stream<Integer> s = pool.imap(PoolTest::failOn13, IntStream.range(0, 40).boxed().collect(Collectors.toList()))) {
      UncheckedExecutionException e =
          assertThrows(UncheckedExecutionException.class, () -> s.forEach(seen::add));
      assertInstanceOf(IllegalStateException.class, e.getCause());
    }
    assertEquals(IntStream.range(0, 13).boxed().collect(Collectors.toList()), seen);
  }

  @Test
  void submit_taskThrowsCustomException_recreatesClassMessageAndWorkerFrames() {
    ExecutionException e =
        assertThrows(
            ExecutionException.class,
            () -> pool.submit((Integer x) -> { throw new CustomException("custom " + x, 42); }, 7).get());
    CustomException c = assertInstanceOf(CustomException.class, e.getCause());
    assertEquals("custom 7", c.getMessage());
    assertEquals(42, c.code);
    assertTrue(
        Arrays.stream(c.getStackTrace()).anyMatch(f -> f.getClassName().contains("WorkerRuntime")),
        "worker-side frames: " + Arrays.toString(c.getStackTrace()));
  }

  @Test
  void submit_exceptionNotSerializable_failsWithRemoteTaskException() {
    ExecutionException e =
        assertThrows(
            ExecutionException.class,
            () -> pool.submit((Integer x) -> { throw new UnserializableException("no wire"); }, 1).get());
    RemoteTaskException r = assertInstanceOf(RemoteTaskException.class, e.getCause());
    assertEquals(UnserializableException.class.getName(), r.remoteClassName());
    assertEquals("no wire", r.remoteMessage());
    assertTrue(r.getStackTrace().length > 0);
    assertTrue(
        Arrays.stream(r.getStackTrace()).anyMatch(f -> f.getClassName().contains("PoolTest")),
        Arrays.toString(r.getStackTrace()));
  }

  @Test
  void codecs_eachKindOfValue_roundTrips() throws Exception {
    List<Object> values =
        Arrays.asList(
            null, "text", 1L, 2, 3.5d, 4.5f, true, (short) 6, (byte) 7, 'c', new Point(1, 2),
            Heartbeat.newBuilder().setHeapUsedBytes(99).build(), List.of(1, 2, 3));
    for (Object v : values) {
      assertEquals(v, pool.submit((Object x) -> x, v).get(), "value " + v);
    }
    byte[] bytes = {1, 2, 3};
    assertArrayEquals(bytes, pool.submit((byte[] b) -> b, bytes).get());
  }

  @Test
  void submit_largePayload_roundTrips() throws Exception {
    byte[] big = new byte[64 << 20];
    big[big.length - 1] = 9;
    byte[] back = pool.submit((byte[] b) -> b, big).get();
    assertEquals(big.length, back.length);
    assertEquals(9, back[back.length - 1]);
  }

  @Test
  void submit_512MiBPayload_roundTripsWithoutConfiguration() throws Exception {
    byte[] big = new byte[512 << 20];
    big[0] = 1;
    big[big.length - 1] = 2;
    byte[] back = pool.submit((byte[] b) -> { b[1] = 3; return b; }, big).get();
    assertEquals(big.length, back.length);
    assertEquals(1, back[0]);
    assertEquals(3, back[1]);
    assertEquals(2, back[back.length - 1]);
  }

  @Test
  void submit_inputNotSerializable_failsNamingClassAndPoolServes() throws Exception {
    try (ServerSocket socket = new ServerSocket()) {
      ExecutionException e =
          assertThrows(ExecutionException.class, () -> pool.submit((Object x) -> x, socket).get());
      TaskCodecException c = assertInstanceOf(TaskCodecException.class, e.getCause());
      assertTrue(c.getMessage().contains("java.net.ServerSocket"), c.getMessage());
      Object captured = socket;
      ExecutionException e2 =
          assertThrows(ExecutionException.class, () -> pool.submit((Integer x) -> captured.hashCode() + x, 1).get());
      assertTrue(e2.getCause().getMessage().contains("java.net.ServerSocket"), e2.getCause().getMessage());
    }
    assertEquals(4, pool.submit(PoolTest::square, 2).get());
  }

  @Test
  void submit_resultNotSerializable_failsNamingClassAndPoolServes() throws Exception {
    ExecutionException e = assertThrows(ExecutionException.class, () -> pool.submit((Integer x) -> new Object(), 1).get());
    assertTrue(e.getCause().getMessage().contains("java.lang.Object"), e.getCause().getMessage());
    assertEquals(9, pool.submit(PoolTest::square, 3).get());
  }

  @Test
  void workers_snapshot_indexesRunFromZero() {
    List<WorkerInfo> ws = pool.workers();
    assertEquals(List.of(0, 1), ws.stream().map(WorkerInfo::index).collect(Collectors.toList()));
    Set<Long> pids = ws.stream().map(WorkerInfo::pid).collect(Collectors.toSet());
    assertEquals(2, pids.size());
    assertTrue(ws.stream().allMatch(WorkerInfo::isAlive));
  }

  @Test
  void builder_badArguments_throwAtOnceNamingTheArgument() {
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Pool.builder().workers(0));
    assertEquals("workers is 0, but must be at least 1", e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> Pool.builder().maxRetries(-1));
    assertThrows(IllegalArgumentException.class, () -> Pool.builder().maxTasksPerWorker(0));
    assertThrows(IllegalArgumentException.class, () -> Pool.builder().taskTimeout(java.time.Duration.ZERO));
    assertThrows(NullPointerException.class, () -> Pool.builder().initializer(null));
    assertThrows(NullPointerException.class, () -> pool.submit(null, 1));
    assertThrows(NullPointerException.class, () -> pool.map(PoolTest::square, null));
  }

  @Test
  void toString_describesState() {
    assertTrue(pool.toString().startsWith("Pool[RUNNING, workers=2/2"), pool.toString());
  }
}
