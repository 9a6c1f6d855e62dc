package io.procpool.internal.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.CompiledClasses;
import io.procpool.proto.v1.ClassFile;
import io.procpool.proto.v1.ClassReply;
import io.procpool.proto.v1.ClassRequest;
import java.io.InputStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ClassServerTest {
  private static final System.Logger LOG = System.getLogger("io.procpool.Pool");

  @TempDir static Path tmp;
  static Path classes;
  static URLClassLoader plugin;

  @BeforeAll
  static void compile() throws Exception {
    classes = CompiledClasses.compile(tmp.resolve("plugin"), Map.of(
        "plug.A", "package plug; public class A { public B b() { return new B(); }"
            + " public Object c() { return C.make(); } public java.util.List<String> l() { return java.util.List.of(); } }",
        "plug.B", "package plug; public class B {}",
        "plug.C", "package plug; public class C { static Object make() { return new D[] {new D()}; } }",
        "plug.D", "package plug; public class D {}"));
    // Not a class file, under a class file's name: never served.
    Files.writeString(classes.resolve("plug/Fake.class"), "not a class");
    plugin = CompiledClasses.loader(classes);
  }

  @AfterAll
  static void close() throws Exception {
    plugin.close();
  }

  private static ClassServer server(int prefetch, ClassLoader... loaders) {
    ClassServer s = new ClassServer("test-1", LOG, Runnable::run, prefetch);
    for (ClassLoader l : loaders) {
      s.register(l);
    }
    return s;
  }

  private static ClassRequest request(String... names) {
    return ClassRequest.newBuilder().addAllNames(List.of(names)).build();
  }

  private static List<String> names(ClassReply reply) {
    return reply.getClassesList().stream().map(ClassFile::getName).collect(Collectors.toList());
  }

  @Test
  void answer_classOfRegisteredLoader_sendsItsFileAndThoseItNamesFromTheSamePlace() throws Exception {
    ClassServer.Session session = server(256, plugin).session("worker 0");

    ClassReply reply = session.answer(request("plug.A"));

    // A first, then breadth first what it names (B, C), then what those name (D); never java.util.List.
    assertEquals(List.of("plug.A", "plug.B", "plug.C", "plug.D"), names(reply));
    assertEquals(List.of(), reply.getMissingList());
    try (InputStream in = plugin.getResourceAsStream("plug/A.class")) {
      assertEquals(com.google.protobuf.ByteString.copyFrom(in.readAllBytes()), reply.getClasses(0).getBytes());
    }
    assertEquals(classes.toUri().toURL().toString(), reply.getClasses(0).getLocation());
  }

  @Test
  void answer_classAlreadySentToThatWorker_isNotSentAheadAgain() {
    ClassServer server = server(256, plugin);
    ClassServer.Session session = server.session("worker 0");
    session.answer(request("plug.C"));

    ClassReply again = session.answer(request("plug.A"));
    ClassReply other = server.session("worker 1").answer(request("plug.A"));

    assertEquals(List.of("plug.A", "plug.B"), names(again));
    assertEquals(List.of("plug.A", "plug.B", "plug.C", "plug.D"), names(other));
  }

  @Test
  void answer_limitReached_nextAnswerGoesOnWhereItStopped() {
    ClassServer.Session session = server(2, plugin).session("worker 0");

    ClassReply first = session.answer(request("plug.A"));
    ClassReply next = session.answer(request("plug.B"));

    assertEquals(List.of("plug.A", "plug.B", "plug.C"), names(first));
    assertEquals(List.of("plug.B", "plug.D"), names(next));
  }

  @Test
  void answer_prefetchZero_sendsOnlyWhatWasAskedFor() {
    ClassReply reply = server(0, plugin).session("worker 0").answer(request("plug.A", "plug.D"));

    assertEquals(List.of("plug.A", "plug.D"), names(reply));
  }

  @Test
  void answer_unknownClass_isMissingAndSaysWhereItLooked() throws Exception {
    ClassReply reply = server(256, plugin).session("worker 0").answer(request("plug.Nope"));

    assertEquals(List.of(), names(reply));
    assertEquals(List.of("plug.Nope"), reply.getMissingList());
    assertTrue(reply.getSearched().startsWith("'plugin' java.net.URLClassLoader@"), reply.getSearched());
    assertTrue(reply.getSearched().contains(classes.toUri().toURL().toString()), reply.getSearched());
  }

  @Test
  void answer_classOnlyInALoaderNoTaskRegistered_isMissing() {
    ClassReply reply = server(256, ClassServerTest.class.getClassLoader()).session("worker 0")
        .answer(request("plug.A"));

    assertEquals(List.of("plug.A"), reply.getMissingList());
    assertEquals(List.of(), names(reply));
  }

  @Test
  void answer_noLoaderRegistered_isMissingAndSaysSo() {
    ClassReply reply = server(256).session("worker 0").answer(request("plug.A"));

    assertEquals(List.of("plug.A"), reply.getMissingList());
    assertEquals("no class loader (no task of this pool has named one yet)", reply.getSearched());
  }

  @Test
  void answer_namesThatAreNotClassNames_areRefusedWithoutAskingAnyLoader() {
    RecordingLoader recording = new RecordingLoader(plugin);
    List<String> bad = List.of("../../etc/passwd", "plug/A", "/plug.A", "plug..A", "plug.A.", "", "META-INF.MANIFEST-MF",
        "java.lang.String", "plug.Fake");

    ClassReply reply = server(256, recording).session("worker 0").answer(request(bad.toArray(new String[0])));

    assertEquals(bad, reply.getMissingList());
    assertEquals(List.of(), names(reply));
    // Only plug.Fake is a class name; its file is not a class file, so it is read and refused.
    assertEquals(List.of("plug/Fake.class"), recording.asked);
  }

  @Test
  void serve_answersOnTheGivenExecutorNotTheCaller() {
    List<Runnable> jobs = new ArrayList<>();
    ClassServer server = new ClassServer("test-1", LOG, jobs::add, 0);
    server.register(plugin);
    List<ClassReply> replies = new ArrayList<>();

    server.session("worker 0").serve(request("plug.B"), replies::add);

    assertEquals(List.of(), replies);
    jobs.forEach(Runnable::run);
    assertEquals(List.of("plug.B"), names(replies.get(0)));
  }

  @Test
  void register_sameLoaderTwice_looksInItOnce() {
    RecordingLoader recording = new RecordingLoader(plugin);
    ClassServer server = server(0, recording, recording, plugin);

    server.session("worker 0").answer(request("plug.Nope"));

    assertEquals(List.of(recording, plugin), server.loaders());
    assertEquals(List.of("plug/Nope.class"), recording.asked);
  }

  /** A loader that records which resources it was asked for, and asks its parent for them. */
  static final class RecordingLoader extends ClassLoader {
    final List<String> asked = new CopyOnWriteArrayList<>();

    RecordingLoader(ClassLoader parent) {
      super(parent);
    }

    @Override
    public URL getResource(String name) {
      return super.getResource(name);
    }

    @Override
    public InputStream getResourceAsStream(String name) {
      asked.add(name);
      return super.getResourceAsStream(name);
    }
  }
}
