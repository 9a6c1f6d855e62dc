package io.procpool.compat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.google.common.util.concurrent.ListenableFuture;
import com.google.protobuf.Message;
import com.google.protobuf.Struct;
import com.google.protobuf.Value;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyServerBuilder;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.StreamObserver;
import io.procpool.Pool;
import java.io.File;
import java.io.IOException;
import java.io.Serializable;
import java.net.URISyntaxException;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * An application whose own dependencies pin protobuf-java 3.25 and grpc-java 1.68 (see this module's
 * pom) runs a pool of two real worker JVMs. procpool-core is compiled against the newest versions; here
 * it, its generated wire code and its workers run on the application's, which Maven's resolution puts on
 * both the parent's and the workers' class path. Each test would fail with the protobuf 4.x gencode
 * procpool once had ({@code NoClassDefFoundError: com/google/protobuf/RuntimeVersion} at the first
 * message) or with Netty 4.2 API on grpc 1.68's Netty 4.1.
 */
class Protobuf3Grpc168Test {
  private static Pool pool;

  @BeforeAll
  static void start() {
    pool = Pool.builder().name("compat").workers(2).build();
  }

  @AfterAll
  static void stop() throws InterruptedException {
    pool.close();
    // The first pool for a set of jars builds a class-data-sharing archive in a process of its own, which
    // is not a worker and ends by itself: wait for it before counting what is left.
    io.procpool.internal.supervisor.ClassDataSharing.awaitBackgroundBuilds(java.time.Duration.ofMinutes(4));
    List<String> alive =
        ProcessHandle.current()
            .descendants()
            .filter(ProcessHandle::isAlive)
            .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
            .collect(Collectors.toList());
    assertEquals(List.of(), alive, "processes left alive after close()");
  }

  /**
   * The version of the jar each library's class was loaded from, named by library, and whether protobuf's
   * RuntimeVersion (4.26 and later only) exists. Static, so a worker can run it as a task.
   */
  static Map<String, String> runtimeVersions(Object ignored) throws IOException, URISyntaxException {
    Map<String, String> v = new TreeMap<>();
    v.put("protobuf-java", jarVersion(Message.class));
    v.put("grpc-api", jarVersion(ManagedChannel.class));
    v.put("grpc-stub", jarVersion(StreamObserver.class));
    v.put("grpc-protobuf", jarVersion(ProtoUtils.class));
    v.put("grpc-netty-shaded", jarVersion(NettyServerBuilder.class));
    v.put("guava", jarVersion(ListenableFuture.class));
    v.put("RuntimeVersion", classPresent("com.google.protobuf.RuntimeVersion") ? "present" : "absent");
    return v;
  }

  /** What {@link #runtimeVersions} must return: the pins of this module's pom, passed in by surefire. */
  private static Map<String, String> pinned() {
    String protobuf = System.getProperty("app.protobuf.version");
    String grpc = System.getProperty("app.grpc.version");
    String guava = System.getProperty("app.guava.version");
    assertNotNull(protobuf, "surefire must pass app.protobuf.version");
    assertNotNull(grpc, "surefire must pass app.grpc.version");
    assertNotNull(guava, "surefire must pass app.guava.version");
    Map<String, String> v = new TreeMap<>();
    v.put("protobuf-java", protobuf);
    v.put("grpc-api", grpc);
    v.put("grpc-stub", grpc);
    v.put("grpc-protobuf", grpc);
    v.put("grpc-netty-shaded", grpc);
    // Guava's manifest spells 33.2.1-android as the OSGi version 33.2.1.android.
    v.put("guava", guava.replace('-', '.'));
    v.put("RuntimeVersion", "absent");
    return v;
  }

  /** The manifest's Implementation-Version (gRPC's jars) or else Bundle-Version (protobuf's, Guava's). */
  private static String jarVersion(Class<?> c) throws IOException, URISyntaxException {
    File jar = new File(c.getProtectionDomain().getCodeSource().getLocation().toURI());
    try (JarFile f = new JarFile(jar)) {
      Attributes main = f.getManifest().getMainAttributes();
      String v = main.getValue("Implementation-Version");
      return v != null ? v : main.getValue("Bundle-Version");
    }
  }

  private static boolean classPresent(String name) {
    try {
      Class.forName(name, false, Protobuf3Grpc168Test.class.getClassLoader());
      return true;
    } catch (ClassNotFoundException e) {
      return false;
    }
  }

  static long square(int x) {
    return (long) x * x;
  }

  static int failOn7(int x) {
    if (x == 7) {
      throw new IllegalArgumentException("no sevens: " + x);
    }
    return x;
  }

  /** Adds the worker's pid to a message, so the answer shows that a worker parsed and rebuilt it. */
  static Struct stamp(Struct in) {
    return in.toBuilder()
        .putFields("pid", Value.newBuilder().setNumberValue((double) ProcessHandle.current().pid()).build())
        .build();
  }

  @Test
  void runtime_inThisJvm_isThePinnedVersions() throws Exception {
    assertEquals(pinned(), runtimeVersions(null));
  }

  @Test
  void runtime_inAWorker_isThePinnedVersions() throws Exception {
    assertEquals(pinned(), pool.submit(Protobuf3Grpc168Test::runtimeVersions, null).get());
  }

  @Test
  void submit_onOldRuntimes_returnsTheWorkersResult() throws Exception {
    long workerPid = pool.submit((Integer ignored) -> ProcessHandle.current().pid(), 0).get();
    assertNotEquals(ProcessHandle.current().pid(), workerPid);
    assertEquals(1_000_000L * 1_000_000L, pool.submit(Protobuf3Grpc168Test::square, 1_000_000).get());
  }

  @Test
  void map_onOldRuntimes_returnsEveryResultInOrder() throws Exception {
    List<Integer> in = IntStream.range(0, 2_000).boxed().collect(Collectors.toList());
    List<Long> expected = in.stream().map(x -> (long) x * x).collect(Collectors.toList());
    assertEquals(expected, pool.map(Protobuf3Grpc168Test::square, in));
  }

  @Test
  void map_aTaskThrows_failsWithTheTasksOwnException() {
    List<Integer> in = IntStream.range(0, 20).boxed().collect(Collectors.toList());
    ExecutionException e =
        assertThrows(ExecutionException.class, () -> pool.map(Protobuf3Grpc168Test::failOn7, in));
    assertInstanceOf(IllegalArgumentException.class, e.getCause());
    assertEquals("no sevens: 7", e.getCause().getMessage());
  }

  @Test
  void submit_protobufMessage_comesBackFromAWorkerWithItsFields() throws Exception {
    Struct in =
        Struct.newBuilder()
            .putFields("name", Value.newBuilder().setStringValue("compat").build())
            .putFields("size", Value.newBuilder().setNumberValue(3).build())
            .build();
    Struct out = pool.submit(Protobuf3Grpc168Test::stamp, in).get();
    assertEquals(in.getFieldsMap().get("name"), out.getFieldsMap().get("name"));
    assertEquals(in.getFieldsMap().get("size"), out.getFieldsMap().get("size"));
    double pid = out.getFieldsMap().get("pid").getNumberValue();
    assertNotEquals((double) ProcessHandle.current().pid(), pid, "stamped in a worker, not here");
  }

  @Test
  void asExecutorService_serializableCallable_runsInAWorker() throws Exception {
    Callable<Long> pid = (Callable<Long> & Serializable) () -> ProcessHandle.current().pid();
    long workerPid = pool.asExecutorService().submit(pid).get();
    assertNotEquals(ProcessHandle.current().pid(), workerPid);
  }
}
