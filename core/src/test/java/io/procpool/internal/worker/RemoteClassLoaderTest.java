package io.procpool.internal.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.CompiledClasses;
import io.procpool.Conditions;
import io.procpool.internal.codec.ClassServer;
import io.procpool.proto.v1.ClassRequest;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The worker's loader against the parent's class server, wired by direct calls instead of a stream: what
 * it asks, when, how often, and what becomes of the answers.
 */
class RemoteClassLoaderTest {
  private static final System.Logger LOG = System.getLogger("io.procpool.Pool");

  @TempDir static Path tmp;
  static Path classes;
  static URLClassLoader plugin;

  private final ExecutorService threads = Executors.newCachedThreadPool();
  /** What the loader sent, in order. */
  private final List<ClassRequest> sent = new CopyOnWriteArrayList<>();

  @BeforeAll
  static void compile() {
    classes = CompiledClasses.compile(tmp.resolve("plugin"), Map.of(
        "plug.A", "package plug; public class A { public Object b() { return new B(); }"
            + " public Object c() { return new C(); } }",
        "plug.B", "package plug; public class B {}",
        "plug.C", "package plug; public class C {}",
        "plug.Optional", "package plug; public class Optional {}"));
    plugin = CompiledClasses.loader(classes);
  }

  @AfterAll
  static void close() throws Exception {
    plugin.close();
  }

  @AfterEach
  void stopThreads() throws Exception {
    threads.shutdownNow();
    assertTrue(threads.awaitTermination(10, TimeUnit.SECONDS));
  }

  /** A loader over this test's own loader (which has no plug.* class), answered by a class server. */
  private RemoteClassLoader connected(int prefetch) {
    ClassServer server = new ClassServer("test-1", LOG, Runnable::run, prefetch);
    server.register(plugin);
    ClassServer.Session session = server.session("worker 0");
    RemoteClassLoader loader = new RemoteClassLoader(RemoteClassLoaderTest.class.getClassLoader());
    loader.connect(request -> {
      sent.add(request);
      session.serve(request, loader::onReply);
    });
    return loader;
  }

  @Test
  void loadClass_classOnlyTheParentHas_isDefinedHereWithItsCodeSource() throws Exception {
    RemoteClassLoader loader = connected(0);

    Class<?> c = Class.forName("plug.B", false, loader);

    assertSame(loader, c.getClassLoader());
    assertEquals(classes.toUri().toURL(), c.getProtectionDomain().getCodeSource().getLocation());
    assertEquals(List.of("plug.B"), sent.get(0).getNamesList());
    assertEquals(1, loader.defined());
  }

  @Test
  void loadClass_classTheParentLoaderHas_isNeverAsked() throws Exception {
    RemoteClassLoader loader = connected(256);

    Class<?> c = loader.loadClass(RemoteClassLoaderTest.class.getName());

    assertSame(RemoteClassLoaderTest.class, c);
    assertEquals(List.of(), sent);
  }

  @Test
  void loadClass_classesSentAhead_costOneRequestWhereThreeWouldBeAsked() throws Exception {
    RemoteClassLoader batched = connected(256);
    for (String name : List.of("plug.A", "plug.B", "plug.C")) {
      Class.forName(name, false, batched);
    }
    assertEquals(1, batched.requests());

    RemoteClassLoader oneByOne = connected(0);
    for (String name : List.of("plug.A", "plug.B", "plug.C")) {
      Class.forName(name, false, oneByOne);
    }
    assertEquals(3, oneByOne.requests());
  }

  @Test
  void loadClass_nameTheParentLacks_isAskedOnceAndRefusedAfterwardsNamingWhereItLooked() {
    RemoteClassLoader loader = connected(256);

    ClassNotFoundException first = assertThrows(ClassNotFoundException.class, () -> loader.loadClass("plug.Absent"));
    ClassNotFoundException second = assertThrows(ClassNotFoundException.class, () -> loader.loadClass("plug.Absent"));

    assertEquals(1, loader.requests());
    assertEquals(first.getMessage(), second.getMessage());
    assertTrue(first.getMessage().startsWith("class plug.Absent is not on this worker's class path, and the parent"
        + " has no class file for it either (it looked in 'plugin' java.net.URLClassLoader@"), first.getMessage());
  }

  @Test
  void loadClass_manyThreadsAtOnce_oneRequestAndOneClass() throws Exception {
    List<ClassRequest> held = new CopyOnWriteArrayList<>();
    ClassServer server = new ClassServer("test-1", LOG, Runnable::run, 0);
    server.register(plugin);
    RemoteClassLoader loader = new RemoteClassLoader(RemoteClassLoaderTest.class.getClassLoader());
    loader.connect(held::add);
    List<Thread> waiting = new CopyOnWriteArrayList<>();
    List<Future<Class<?>>> loads = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      loads.add(threads.submit(() -> {
        waiting.add(Thread.currentThread());
        return Class.forName("plug.C", false, loader);
      }));
    }
    // All eight block on the one request before the parent answers it.
    Conditions.await("8 threads waiting for plug.C", Duration.ofSeconds(10),
        () -> waiting.size() == 8 && waiting.stream().allMatch(t -> t.getState() == Thread.State.TIMED_WAITING
            || t.getState() == Thread.State.WAITING || t.getState() == Thread.State.BLOCKED));
    assertEquals(1, held.size());
    server.session("worker 0").serve(held.get(0), loader::onReply);

    Class<?> first = loads.get(0).get(10, TimeUnit.SECONDS);
    for (Future<Class<?>> f : loads) {
      assertSame(first, f.get(10, TimeUnit.SECONDS));
    }
    assertEquals(1, loader.requests());
    assertEquals(1, loader.defined());
  }

  @Test
  void loadClass_streamGoneWhileWaiting_failsAtOnceAndSoDoLaterLoads() throws Exception {
    RemoteClassLoader loader = new RemoteClassLoader(RemoteClassLoaderTest.class.getClassLoader());
    loader.connect(sent::add);
    Future<Class<?>> waiting = threads.submit(() -> Class.forName("plug.B", false, loader));
    Conditions.await("a request", Duration.ofSeconds(10), () -> sent.size() == 1);

    loader.disconnect("the parent closed the stream");

    Exception e = assertThrows(Exception.class, () -> waiting.get(10, TimeUnit.SECONDS));
    assertEquals("class plug.B is not on this worker's class path, and the parent cannot be asked for it: the"
        + " parent closed the stream", e.getCause().getMessage());
    long start = System.nanoTime();
    assertThrows(ClassNotFoundException.class, () -> loader.loadClass("plug.C"));
    assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(5));
    assertEquals(1, sent.size());
  }

  @Test
  void loadClass_parentNeverAnswers_failsAfterTheDeadlineNamingIt() {
    RemoteClassLoader loader =
        new RemoteClassLoader(RemoteClassLoaderTest.class.getClassLoader(), Duration.ofMillis(300));
    loader.connect(sent::add);

    ClassNotFoundException e = assertThrows(ClassNotFoundException.class, () -> loader.loadClass("plug.B"));

    assertEquals("class plug.B is not on this worker's class path, and the parent did not answer a request for"
        + " it within 300 ms", e.getMessage());
  }

  @Test
  void getResource_classFileOfParentsClass_servedAndOtherResourcesNeverAsked() throws Exception {
    RemoteClassLoader loader = connected(0);

    URL url = loader.getResource("plug/B.class");
    URL other = loader.getResource("plug/data.properties");

    assertNotNull(url);
    assertNull(other);
    try (InputStream in = url.openStream(); InputStream original = plugin.getResourceAsStream("plug/B.class")) {
      assertEquals(java.util.Arrays.toString(original.readAllBytes()), java.util.Arrays.toString(in.readAllBytes()));
    }
    assertEquals(1, sent.size());
    assertEquals(List.of("plug.B"), sent.get(0).getNamesList());
  }
}
