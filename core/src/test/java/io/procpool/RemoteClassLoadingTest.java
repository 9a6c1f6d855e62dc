package io.procpool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.util.concurrent.ListenableFuture;
import io.procpool.internal.codec.ClassFiles;
import java.io.Serializable;
import java.lang.invoke.MethodHandles;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Tasks whose classes only the parent has: compiled while the test runs into a directory no class path
 * names and loaded by a {@code URLClassLoader} made then, as a plug-in's are. Real worker JVMs get them
 * over their streams; a class with no class file at all fails at submit, naming itself.
 */
class RemoteClassLoadingTest {
  @TempDir static Path tmp;
  static URLClassLoader plugin;
  static Pool pool;

  @BeforeAll
  static void start() {
    Path classes = CompiledClasses.compile(tmp.resolve("plugin"), Map.of(
        "plug.Tasks", """
            package plug;
            import io.procpool.Task;
            public final class Tasks {
              /** A capturing lambda that makes a record of this plug-in with a helper of it. */
              public static Task<Integer, Result> scaled(int k) {
                return x -> new Result(x, Helper.times(x, k));
              }
              /** Which loader defined this class in the worker, and what its code source says. */
              public static Task<Integer, String> whereAmI() {
                return x -> Tasks.class.getClassLoader().getName() + " "
                    + Tasks.class.getProtectionDomain().getCodeSource().getLocation();
              }
            }
            """,
        "plug.Result", "package plug; public record Result(int in, int out) implements java.io.Serializable {}",
        "plug.Helper", "package plug; final class Helper { static int times(int x, int k) { return x * k; } }",
        "plug.Square", """
            package plug;
            public final class Square implements io.procpool.Task<Integer, Integer> {
              public Integer apply(Integer x) { return x * x; }
            }
            """,
        "plug.Box", """
            package plug;
            public final class Box implements java.io.Serializable {
              private final String label;
              public Box(String label) { this.label = label; }
              @Override public String toString() { return "Box(" + label + ")"; }
            }
            """));
    plugin = CompiledClasses.loader(classes);
    pool = Pool.builder().workers(2).build();
  }

  @AfterAll
  static void stop() throws Exception {
    if (pool != null) {
      pool.close();
    }
    plugin.close();
  }

  @SuppressWarnings("unchecked")
  static <I, O> Task<I, O> pluginTask(String method, Object... args) throws Exception {
    Class<?>[] types = new Class<?>[args.length];
    for (int i = 0; i < args.length; i++) {
      types[i] = args[i] instanceof Integer ? int.class : args[i].getClass();
    }
    return (Task<I, O>) plugin.loadClass("plug.Tasks").getMethod(method, types).invoke(null, args);
  }

  static String describe(Object o) {
    ClassLoader loader = o.getClass().getClassLoader();
    return o + " from " + (loader == null ? "the boot loader" : loader.getName());
  }

  @Test
  void map_capturingLambdaOfAPluginLoader_runsInRealWorkersWithItsRecordAndHelper() throws Exception {
    Task<Integer, Object> scaled = pluginTask("scaled", 3);

    List<Object> out = pool.map(scaled, List.of(1, 2, 3, 4, 5, 6));

    assertEquals("[Result[in=1, out=3], Result[in=2, out=6], Result[in=3, out=9], Result[in=4, out=12],"
        + " Result[in=5, out=15], Result[in=6, out=18]]", out.toString());
    // Results are decoded in the parent with the task's own loader.
    assertSame(plugin, out.get(0).getClass().getClassLoader());
  }

  @Test
  void submit_pluginClassInWorker_isDefinedByTheRemoteLoaderWithTheParentsCodeSource() throws Exception {
    Task<Integer, String> where = pluginTask("whereAmI");

    String answer = pool.submit(where, 0).get();

    assertEquals("procpool-remote " + tmp.resolve("plugin/classes").toUri().toURL(), answer);
  }

  @Test
  void submit_taskClassImplementingTask_runsFromThePluginLoader() throws Exception {
    @SuppressWarnings("unchecked")
    Task<Integer, Integer> square =
        (Task<Integer, Integer>) plugin.loadClass("plug.Square").getConstructor().newInstance();

    assertEquals(List.of(1, 4, 9), pool.map(square, List.of(1, 2, 3)));
  }

  @Test
  void submit_inputOfAPluginClass_isLoadedInTheWorkerThoughTheFunctionIsNot() throws Exception {
    Object box = plugin.loadClass("plug.Box").getConstructor(String.class).newInstance("x");

    String out = pool.submit(RemoteClassLoadingTest::describe, box).get();

    assertEquals("Box(x) from procpool-remote", out);
  }

  @Test
  void map_pluginTaskOverInProcessWorkers_sameAnswersOverTheInProcessTransport() throws Exception {
    Task<Integer, Object> scaled = pluginTask("scaled", 10);
    try (Pool local = Pool.builder().workers(2).launcher(new ThreadLauncher()).build()) {
      assertEquals("[Result[in=1, out=10], Result[in=2, out=20]]", local.map(scaled, List.of(1, 2)).toString());
    }
  }

  /** Defines {@code io.procpool.<simpleName>} in this test's loader from bytes alone: no class file. */
  static Class<?> defineWithoutClassFile(String simpleName, String body) throws Exception {
    Path out = CompiledClasses.compile(tmp.resolve(simpleName),
        Map.of("io.procpool." + simpleName, "package io.procpool;\n" + body));
    byte[] bytes = Files.readAllBytes(out.resolve("io/procpool/" + simpleName + ".class"));
    return MethodHandles.lookup().defineClass(bytes);
  }

  @Test
  void submit_functionClassWithoutClassFile_failsAtOnceNamingClassLoaderAndWhereItLooked() throws Exception {
    Class<?> generated = defineWithoutClassFile("GeneratedTask",
        "public final class GeneratedTask implements Task<Integer, Integer> {"
            + " public Integer apply(Integer x) { return x; } }");
    @SuppressWarnings("unchecked")
    Task<Integer, Integer> task = (Task<Integer, Integer>) generated.getConstructor().newInstance();

    ListenableFuture<Integer> f = pool.submit(task, 1);

    assertTrue(f.isDone(), "the future failed at submit");
    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    TaskCodecException cause = assertInstanceOf(TaskCodecException.class, e.getCause());
    assertEquals("Cannot send task io.procpool.GeneratedTask: class io.procpool.GeneratedTask cannot be loaded in a"
        + " worker: it has no class file. procpool looked for io/procpool/GeneratedTask.class through its class"
        + " loader, " + ClassFiles.describe(RemoteClassLoadingTest.class.getClassLoader()) + ", which would give"
        + " it to a worker from the worker's class path or over the worker's connection, and found nothing: the"
        + " class was defined at run time (by Lookup.defineClass or a bytecode generator) without a class file"
        + " behind it. Make its class loader return its bytes from getResourceAsStream, or keep it out of what"
        + " the task captures and its inputs", cause.getMessage());
    assertThrows(TaskCodecException.class, () -> pool.map(task, List.of(1, 2)));
  }

  @Test
  void submit_inputOfClassWithoutClassFile_failsAtOnceNamingIt() throws Exception {
    Class<?> generated = defineWithoutClassFile("GeneratedValue",
        "public final class GeneratedValue implements java.io.Serializable {}");
    Serializable value = (Serializable) generated.getConstructor().newInstance();

    ListenableFuture<String> f = pool.submit(RemoteClassLoadingTest::describe, List.of("ok", value));

    assertTrue(f.isDone(), "the future failed at submit");
    ExecutionException e = assertThrows(ExecutionException.class, f::get);
    assertTrue(e.getCause().getMessage().startsWith("Cannot send input of task RemoteClassLoadingTest::describe:"
        + " class io.procpool.GeneratedValue cannot be loaded in a worker: it has no class file."),
        e.getCause().getMessage());
    // The pool is unharmed.
    assertEquals("ok from the boot loader", pool.submit(RemoteClassLoadingTest::describe, "ok").get());
  }

  @Test
  void submit_capturedJdkAndClassPathClasses_passTheCheck() throws Exception {
    List<Integer> captured = List.of(1, 2, 3);
    Task<Integer, Integer> sum = x -> x + captured.stream().collect(Collectors.summingInt(i -> i));

    assertEquals(16, pool.submit(sum, 10).get());
  }
}
