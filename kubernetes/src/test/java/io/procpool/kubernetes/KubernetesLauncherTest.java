package io.procpool.kubernetes;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.server.mock.EnableKubernetesMockClient;
import io.fabric8.kubernetes.client.server.mock.KubernetesMixedDispatcher;
import io.fabric8.kubernetes.client.server.mock.KubernetesMockServer;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.fabric8.mockwebserver.Context;
import io.fabric8.mockwebserver.MockWebServer;
import io.fabric8.mockwebserver.http.Dispatcher;
import io.fabric8.mockwebserver.http.MockResponse;
import io.fabric8.mockwebserver.http.RecordedRequest;
import io.fabric8.mockwebserver.http.Response;
import io.fabric8.mockwebserver.http.WebSocket;
import io.fabric8.mockwebserver.http.WebSocketListener;
import io.procpool.Pool;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;
import java.util.jar.JarFile;
import java.util.jar.Manifest;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInfo;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.extension.TestWatcher;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link KubernetesLauncher} against fabric8's mock API server (CRUD mode), with a {@link FakeKubelet} that
 * runs each Pod's container as a local process: pools whose workers are real worker JVMs started from
 * their Pod's spec, reading their bootstrap from the Secret, and dialing back.
 */
@EnableKubernetesMockClient(crud = true)
@EnabledOnOs(OS.LINUX)
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class KubernetesLauncherTest {
  private static final String IMAGE = "registry.example/procpool-test:1";
  private static final List<String> WORKER_COMMAND = workerCommand();
  // The mock server logs each request at INFO on the fork's stderr; held here so the level sticks.
  static final java.util.logging.Logger MOCK_SERVER_LOG = quiet("io.fabric8.mockwebserver");

  // One mock API server for the class (starting one takes a second or two); each test has a namespace.
  static KubernetesClient client;
  private FakeKubelet kubelet;
  private String testName;
  private String ns;

  /** On a failure, what the kubelet saw and the tail of each worker's log (they never go to stdout). */
  @RegisterExtension
  final TestWatcher reportOnFailure = new TestWatcher() {
    @Override
    public void testFailed(ExtensionContext context, Throwable cause) {
      if (kubelet != null) {
        System.err.println(context.getDisplayName() + " failed; the fake kubelet:" + kubelet.report());
      }
    }
  };

  @BeforeEach
  void name(TestInfo info) {
    testName = info.getTestMethod().orElseThrow().getName();
    String n = testName.toLowerCase(java.util.Locale.ROOT).replaceAll("[^a-z0-9]+", "-");
    ns = n.substring(0, Math.min(n.length(), 63)).replaceAll("-+$", "");
  }

  @AfterEach
  void noProcessLeft() throws Exception {
    if (kubelet != null) {
      kubelet.close();
    }
    // Whatever else a test started (a pool's own helpers) must end too: wait a bounded time, then fail.
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    List<ProcessHandle> alive;
    do {
      alive = ProcessHandle.current().descendants().filter(ProcessHandle::isAlive).collect(Collectors.toList());
    } while (!alive.isEmpty() && System.nanoTime() < deadline && pause());
    alive.forEach(ProcessHandle::destroyForcibly);
    assertTrue(alive.isEmpty(), "processes left alive: " + alive.stream()
        .map(p -> p.pid() + " " + p.info().commandLine().orElse("?")).collect(Collectors.toList()));
  }

  private static java.util.logging.Logger quiet(String name) {
    java.util.logging.Logger log = java.util.logging.Logger.getLogger(name);
    log.setLevel(java.util.logging.Level.WARNING);
    return log;
  }

  private static boolean pause() {
    try {
      Thread.sleep(50);
      return true;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return false;
    }
  }

  /**
   * The worker JVM as the image would run it, here: this JVM's java and the test class path, which holds
   * procpool-core and this class's tasks. The class path goes in an argfile: surefire's can exceed what
   * one argument may hold (128 KiB, E2BIG).
   */
  private static List<String> workerCommand() {
    try {
      String cp = System.getProperty("surefire.test.class.path");
      if (cp == null || cp.isBlank()) {
        cp = System.getProperty("java.class.path");
        String[] entries = cp.split(java.io.File.pathSeparator, -1);
        if (entries.length == 1 && entries[0].endsWith(".jar")) {
          // A manifest-only booter jar: its Class-Path holds the real one, as file: URLs.
          try (JarFile jar = new JarFile(entries[0])) {
            Manifest m = jar.getManifest();
            String classPath = m == null ? null : m.getMainAttributes().getValue("Class-Path");
            if (classPath != null) {
              cp = java.util.Arrays.stream(classPath.trim().split(" +"))
                  .map(u -> Path.of(java.net.URI.create(u)).toString())
                  .collect(Collectors.joining(java.io.File.pathSeparator));
            }
          }
        }
      }
      Path argfile = Files.createDirectories(Path.of("target", "fake-kubelet")).resolve("worker-classpath.args")
          .toAbsolutePath();
      String quoted = cp.replace("\\", "\\\\").replace("\"", "\\\"");
      Files.writeString(argfile, "-cp\n\"" + quoted + "\"\n", StandardCharsets.UTF_8);
      String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
      return List.of(java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-Xmx128m", "@" + argfile,
          WorkerSpec.WORKER_MAIN_CLASS);
    } catch (IOException e) {
      throw new IllegalStateException("cannot write the worker's class path argfile", e);
    }
  }

  private void startKubelet() throws IOException {
    Path logs = Path.of("target", "fake-kubelet", testName);
    if (Files.isDirectory(logs)) {
      try (var old = Files.list(logs)) {
        for (Path log : old.collect(Collectors.toList())) {
          Files.delete(log);
        }
      }
    }
    kubelet = new FakeKubelet(client, ns, logs);
  }

  private KubernetesLauncher.Builder launcher() {
    return KubernetesLauncher.builder(client).namespace(ns).image(IMAGE).command(WORKER_COMMAND)
        .parentHost("127.0.0.1");
  }

  private static WorkerSpec spec(int index, long id) {
    return new WorkerSpec(index, id, "unit", "not a real bootstrap".getBytes(StandardCharsets.UTF_8),
        "unix:/nowhere", List.of("java", "-cp", "/here", WorkerSpec.WORKER_MAIN_CLASS), Map.of(), null);
  }

  private List<Pod> pods(KubernetesLauncher k8s) {
    return client.pods().inNamespace(ns).withLabel(KubernetesLauncher.POOL_LABEL, k8s.instanceId()).list()
        .getItems();
  }

  private List<Secret> secrets(KubernetesLauncher k8s) {
    return client.secrets().inNamespace(ns).withLabel(KubernetesLauncher.POOL_LABEL, k8s.instanceId()).list()
        .getItems();
  }

  /** A Pod that is not procpool's (no kubelet runs here when a test makes one). */
  private Pod createPlainPod(String name) {
    return client.pods().inNamespace(ns).resource(new PodBuilder().withNewMetadata().withName(name).endMetadata()
        .withNewSpec().addNewContainer().withName("app").withImage("app:1").endContainer().endSpec().build())
        .create();
  }

  private String phase(String pod) {
    Pod p = client.pods().inNamespace(ns).withName(pod).get();
    return p == null ? "gone" : p.getStatus() == null ? null : p.getStatus().getPhase();
  }

  private void await(Duration within, String what, BooleanSupplier condition) throws InterruptedException {
    long deadline = System.nanoTime() + within.toNanos();
    while (!condition.getAsBoolean()) {
      assertTrue(System.nanoTime() < deadline,
          () -> "not within " + within + ": " + what + (kubelet == null ? "" : kubelet.report()));
      Thread.sleep(20);
    }
  }

  @Test
  void pool_onPods_mapsAndDialsBack() throws Exception {
    startKubelet();
    KubernetesLauncher k8s = launcher()
        .cpuRequest("250m").memoryLimit("1Gi")
        .labels(Map.of("team", "search"))
        .environment(Map.of("GREETING", "hello"))
        .build();
    try (Pool pool =
        Pool.builder().workers(2).jvmOptions("-Dprocpool.test.option=from-the-pool").launcher(k8s).build()) {
      List<Integer> inputs = new ArrayList<>();
      for (int i = 0; i < 200; i++) {
        inputs.add(i);
      }
      List<String> results = pool.map(WorkerTasks::whereAmI, inputs);
      assertEquals(200, results.size());

      List<Pod> pods = pods(k8s);
      assertEquals(2, pods.size(), "one Pod per worker: " + pods);
      Set<String> podNames = pods.stream().map(p -> p.getMetadata().getName()).collect(Collectors.toSet());
      Set<Long> pids = new HashSet<>();
      for (String r : results) {
        String[] f = r.split(" ", -1);
        pids.add(Long.parseLong(f[0]));
        assertTrue(podNames.contains(f[1]), "a task ran outside the Pods " + podNames + ": " + r);
        assertEquals("hello", f[2], r);
        assertEquals("from-the-pool", f[3], "the pool's JVM options reach the container's java: " + r);
      }
      assertFalse(pids.contains(ProcessHandle.current().pid()), "a task ran in the test JVM");
      assertTrue(kubelet.pids().containsAll(pids), pids + " are not all the kubelet's " + kubelet.pids());

      Set<String> indexes = new HashSet<>();
      for (Pod pod : pods) {
        String name = pod.getMetadata().getName();
        Map<String, String> labels = pod.getMetadata().getLabels();
        assertEquals("procpool", labels.get(KubernetesLauncher.MANAGED_BY_LABEL));
        assertEquals(k8s.instanceId(), labels.get(KubernetesLauncher.POOL_LABEL));
        assertEquals("search", labels.get("team"));
        assertNotNull(labels.get(KubernetesLauncher.WORKER_ID_LABEL));
        indexes.add(labels.get(KubernetesLauncher.WORKER_INDEX_LABEL));
        assertEquals("Never", pod.getSpec().getRestartPolicy());
        assertEquals(FakeKubelet.NODE, pod.getSpec().getNodeName());
        Container c = pod.getSpec().getContainers().get(0);
        assertEquals(KubernetesLauncher.CONTAINER_NAME, c.getName());
        assertEquals(IMAGE, c.getImage());
        List<String> expected = new ArrayList<>(WORKER_COMMAND);
        expected.add(1, "-Dprocpool.test.option=from-the-pool");
        assertEquals(expected, c.getCommand(), "the launcher's command, the pool's JVM options after its java");
        assertEquals(new Quantity("250m"), c.getResources().getRequests().get("cpu"));
        assertEquals(new Quantity("1Gi"), c.getResources().getLimits().get("memory"));
        EnvVar bootstrap = c.getEnv().stream().filter(e -> e.getName().equals("PROCPOOL_BOOTSTRAP")).findFirst()
            .orElseThrow();
        assertNull(bootstrap.getValue(), "the bootstrap is in the Secret only");
        assertEquals(name, bootstrap.getValueFrom().getSecretKeyRef().getName());
        assertEquals(KubernetesLauncher.SECRET_KEY, bootstrap.getValueFrom().getSecretKeyRef().getKey());

        // The Secret: named as its Pod, owned by it, and what it holds appears nowhere in the Pod.
        Secret secret = client.secrets().inNamespace(ns).withName(name).get();
        assertNotNull(secret, "the Secret of " + name);
        assertTrue(secret.getMetadata().getOwnerReferences().stream()
            .anyMatch(o -> o.getKind().equals("Pod") && o.getUid().equals(pod.getMetadata().getUid())),
            "the Secret is owned by its Pod: " + secret.getMetadata().getOwnerReferences());
        String value = new String(Base64.getDecoder().decode(secret.getData().get(KubernetesLauncher.SECRET_KEY)),
            StandardCharsets.US_ASCII);
        assertTrue(Base64.getDecoder().decode(value).length > 16, "a bootstrap, base64: " + value);
        String podJson = Serialization.asJson(pod);
        assertFalse(podJson.contains(value), "the bootstrap is in the Pod spec");
        assertFalse(podJson.contains(secret.getData().get(KubernetesLauncher.SECRET_KEY)));
        assertFalse(podJson.contains(value.substring(0, 16)), "part of the bootstrap is in the Pod spec");
      }
      assertEquals(Set.of("0", "1"), indexes);
    }
  }

  @Test
  void pool_podDeleted_taskRetriedOnNewPod() throws Exception {
    startKubelet();
    KubernetesLauncher k8s = launcher().build();
    Path marker = Files.createTempDirectory("procpool-k8s").resolve("started");
    try (Pool pool = Pool.builder().workers(1).maxRetries(1).launcher(k8s).build()) {
      List<Pod> before = pods(k8s);
      assertEquals(1, before.size());
      String first = before.get(0).getMetadata().getName();
      var task = pool.submit(WorkerTasks::slowFirstTime, marker.toString());
      await(Duration.ofSeconds(20), "the task to start",
          () -> Files.exists(marker) && pool.stats().workers().get(0).currentTask() != null);

      client.pods().inNamespace(ns).withName(first).delete();

      String ranOn = task.get(40, TimeUnit.SECONDS);
      assertNotEquals(first, ranOn, "retried on a new Pod");
      assertEquals(1, pool.stats().retried());
      assertEquals("Running", phase(ranOn));
      assertEquals("gone", phase(first));
      await(Duration.ofSeconds(10), "the deleted Pod's Secret deleted too",
          () -> client.secrets().inNamespace(ns).withName(first).get() == null);
      String next = pool.submit(WorkerTasks::whereAmI, 1).get(20, TimeUnit.SECONDS);
      assertEquals(ranOn, next.split(" ", -1)[1], "the pool goes on, on the replacement");
    } finally {
      Files.deleteIfExists(marker);
      Files.deleteIfExists(marker.getParent());
    }
  }

  @Test
  void close_leavesNoPodsOrSecrets() throws Exception {
    startKubelet();
    KubernetesLauncher k8s = launcher().build();
    Pool pool = Pool.builder().workers(2).launcher(k8s).build();
    try {
      assertEquals(4, pool.map(WorkerTasks::whereAmI, List.of(1, 2, 3, 4)).size());
      assertEquals(2, pods(k8s).size());
      assertEquals(2, secrets(k8s).size());
    } finally {
      pool.close();
    }
    assertEquals(List.of(), pods(k8s));
    assertEquals(List.of(), secrets(k8s));
    await(Duration.ofSeconds(20), "the workers' processes to exit", kubelet::allExited);
    assertEquals(2, kubelet.startedCount());
  }

  @Test
  void pod_exitCode_reportedThroughOnExit() throws Exception {
    startKubelet();
    KubernetesLauncher exits3 = launcher().command(List.of("sh", "-c", "exit 3")).build();
    KubernetesLauncher exits0 = launcher().command(List.of("true")).build();
    KubernetesLauncher sleeps = launcher().command(List.of("sleep", "60")).build();
    try {
      WorkerSpec s = spec(0, 1);
      WorkerHandle failed = exits3.launch(s);
      assertEquals(3, failed.onExit().get(20, TimeUnit.SECONDS));
      String failedPod = exits3.podName(s);
      assertEquals("Failed", phase(failedPod), "a failed Pod is kept for its logs");
      await(Duration.ofSeconds(10), "the failed Pod's Secret deleted",
          () -> client.secrets().inNamespace(ns).withName(failedPod).get() == null);

      WorkerHandle succeeded = exits0.launch(s);
      assertEquals(0, succeeded.onExit().get(20, TimeUnit.SECONDS));
      await(Duration.ofSeconds(10), "the succeeded Pod deleted", () -> pods(exits0).isEmpty());

      WorkerHandle deleted = sleeps.launch(spec(0, 2));
      String deletedPod = sleeps.podName(spec(0, 2));
      await(Duration.ofSeconds(20), "the Pod running", () -> "Running".equals(phase(deletedPod)));
      assertTrue(deleted.description().startsWith("Pod " + ns + "/" + deletedPod),
          deleted.description());
      assertTrue(deleted.isAlive());
      client.pods().inNamespace(ns).withName(deletedPod).delete();
      assertEquals(137, deleted.onExit().get(20, TimeUnit.SECONDS));

      WorkerHandle killed = sleeps.launch(spec(1, 3));
      String killedPod = sleeps.podName(spec(1, 3));
      await(Duration.ofSeconds(20), "the Pod running", () -> "Running".equals(phase(killedPod)));
      assertEquals("Pod " + ns + "/" + killedPod + " on node " + FakeKubelet.NODE,
          killed.description());
      assertEquals(-1, killed.pid());
      killed.kill();
      killed.kill();
      assertEquals(137, killed.onExit().get(20, TimeUnit.SECONDS));
      assertEquals("gone", phase(killedPod));
      assertNull(client.secrets().inNamespace(ns).withName(killedPod).get());
      await(Duration.ofSeconds(20), "the killed Pods' processes to end", kubelet::allExited);
    } finally {
      exits3.close();
      exits0.close();
      sleeps.close();
    }
    assertEquals(List.of(), pods(exits3), "close() deletes the failed Pod it kept");
  }

  /** What an API server sends on a watch whose resource version it no longer has the events since. */
  private static final String GONE = "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"apiVersion\":\"v1\","
      + "\"status\":\"Failure\",\"message\":\"too old resource version\",\"reason\":\"Expired\",\"code\":410}}";

  /**
   * A CRUD mock API server of its own, on {@code port} (0: any). Its first watch, if {@code firstWatch} is
   * not null, gets that one message instead of events.
   */
  private static KubernetesMockServer mockServer(int port, String firstWatch) {
    KubernetesMixedDispatcher crud = new KubernetesMixedDispatcher(new HashMap<>());
    AtomicBoolean first = new AtomicBoolean(firstWatch != null);
    Dispatcher dispatcher = new Dispatcher() {
      @Override
      public MockResponse dispatch(RecordedRequest request) {
        if (request.getPath().contains("watch=true") && first.getAndSet(false)) {
          return new MockResponse().withWebSocketUpgrade(new WebSocketListener() {
            @Override
            public void onOpen(WebSocket ws, Response response) {
              ws.send(firstWatch);
            }
          });
        }
        return crud.dispatch(request);
      }
    };
    KubernetesMockServer api = new KubernetesMockServer(new Context(Serialization.jsonMapper()), new MockWebServer(),
        new HashMap<>(), dispatcher, false);
    api.init(InetAddress.getLoopbackAddress(), port);
    return api;
  }

  /**
   * The API server goes away, breaking the watch, and comes back without the worker's Pod and without the
   * events that would tell of its deletion: the launcher's informer must watch again and re-list. It is
   * told so by a 410 Gone (as a real server's watch from a compacted resource version), or meets a watch
   * event it cannot read, after which fabric8's informer would by default stop for good.
   */
  @ParameterizedTest
  @ValueSource(strings = {GONE, "this is not a watch event"})
  void informer_watchBrokenWhilePodDeleted_exitSeenOnRelist(String firstWatchAfterRestart) throws Exception {
    KubernetesMockServer api = mockServer(0, null);
    int port = api.getPort();
    KubernetesMockServer restarted = null;
    try (KubernetesClient own = api.createClient()) {
      KubernetesLauncher k8s = KubernetesLauncher.builder(own).namespace(ns).image(IMAGE).build();
      try {
        WorkerHandle w = k8s.launch(spec(0, 1));
        api.destroy();
        restarted = mockServer(port, firstWatchAfterRestart);
        assertEquals(137, w.onExit().get(30, TimeUnit.SECONDS), "the deletion seen on a re-list");
        WorkerHandle after = k8s.launch(spec(0, 2));
        own.pods().inNamespace(ns).withName(k8s.podName(spec(0, 2))).delete();
        assertEquals(137, after.onExit().get(10, TimeUnit.SECONDS), "the informer watches again");
      } finally {
        k8s.close();
      }
    } finally {
      if (restarted != null) {
        restarted.destroy();
      }
    }
  }

  @Test
  void builder_badValues_refusedAtOnceNamingTheOption() {
    KubernetesLauncher.Builder b = KubernetesLauncher.builder(client);
    IllegalArgumentException cpu = assertThrows(IllegalArgumentException.class, () -> b.cpuRequest("lots"));
    assertEquals("cpuRequest is \"lots\", but must be a Kubernetes quantity like 500m or 2", cpu.getMessage());
    IllegalArgumentException mem = assertThrows(IllegalArgumentException.class, () -> b.memoryLimit("1 Gi"));
    assertEquals("memoryLimit is \"1 Gi\", but must be a Kubernetes quantity like 512Mi or 2Gi", mem.getMessage());
    assertEquals("memoryRequest is \"-1Gi\", but must be more than 0",
        assertThrows(IllegalArgumentException.class, () -> b.memoryRequest("-1Gi")).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.cpuLimit(""));
    assertThrows(IllegalArgumentException.class, () -> b.cpuLimit("2e"));
    assertThrows(NullPointerException.class, () -> b.cpuLimit(null));

    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.namespace("Batch_Jobs")).getMessage()
        .startsWith("namespace is \"Batch_Jobs\", but must be at most 63 of [a-z0-9-]"));
    assertEquals("imagePullPolicy is \"Sometimes\", but must be Always, IfNotPresent or Never",
        assertThrows(IllegalArgumentException.class, () -> b.imagePullPolicy("Sometimes")).getMessage());
    assertEquals("command is [], but must name at least the program to run",
        assertThrows(IllegalArgumentException.class, () -> b.command(List.of())).getMessage());
    assertThrows(IllegalArgumentException.class, () -> b.image("two words"));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.labels(Map.of("procpool.io/pool", "x")))
        .getMessage().contains("procpool's own"));
    assertThrows(IllegalArgumentException.class, () -> b.labels(Map.of("team", "not ok")));
    assertThrows(IllegalArgumentException.class, () -> b.nodeSelector(Map.of("-bad", "x")));
    assertTrue(assertThrows(IllegalArgumentException.class, () -> b.environment(Map.of("PROCPOOL_BOOTSTRAP", "x")))
        .getMessage().contains("procpool's own"));
    assertThrows(IllegalArgumentException.class, () -> b.environment(Map.of("1X", "x")));
    assertThrows(IllegalArgumentException.class, () -> b.parentHost("host:8080"));
    assertThrows(IllegalArgumentException.class, () -> b.serviceAccount("Robot"));
    assertThrows(IllegalArgumentException.class, () -> b.ownerPod("no/slash"));

    IllegalStateException noImage = assertThrows(IllegalStateException.class, () -> b.build());
    assertEquals("image is not set, but is required: the container image with a JVM, procpool and the tasks' "
        + "classes", noImage.getMessage());
    IllegalStateException above = assertThrows(IllegalStateException.class,
        () -> b.image(IMAGE).cpuRequest("1500m").cpuLimit("1").build());
    assertEquals("cpuRequest is 1500m, but must not be more than cpuLimit, 1", above.getMessage());
  }

  @Test
  void podName_oddPoolNames_sanitizedToDnsLabels() {
    KubernetesLauncher k8s = launcher().build();
    String id = k8s.instanceId();
    assertTrue(id.matches("[a-z][a-z0-9]{5}"), id);
    assertEquals("procpool-unit-" + id + "-w0-1", k8s.podName(spec(0, 1)));
    assertEquals("procpool-" + id + "-w0-1",
        k8s.podName(new WorkerSpec(0, 1, "procpool", new byte[0], "t", List.of(), Map.of(), null)));
    assertEquals("procpool-2-" + id + "-w1-3",
        k8s.podName(new WorkerSpec(1, 3, "procpool-2", new byte[0], "t", List.of(), Map.of(), null)));
    assertEquals("procpool-my-pool-v2-" + id + "-w3-17",
        k8s.podName(new WorkerSpec(3, 17, "My_Pool.v2", new byte[0], "t", List.of(), Map.of(), null)));
    String longName = k8s.podName(new WorkerSpec(12, 123456789, "x".repeat(64), new byte[0], "t", List.of(),
        Map.of(), null));
    assertTrue(longName.length() <= 63 && longName.matches("[a-z0-9]([-a-z0-9]*[a-z0-9])?"), longName);
    assertTrue(longName.endsWith("-" + id + "-w12-123456789"), longName);
    assertEquals("procpool-" + id + "-w0-1",
        k8s.podName(new WorkerSpec(0, 1, "--", new byte[0], "t", List.of(), Map.of(), null)));
    assertNotEquals(k8s.podName(spec(0, 1)), launcher().build().podName(spec(0, 1)),
        "two launchers (two pools of the same name) never share a name");
  }

  @Test
  void launch_ownerPodSet_podAndSecretOwnedByParentAndSecretByPod() throws Exception {
    Pod parent = createPlainPod("parent");
    KubernetesLauncher k8s = launcher()
        .ownerPod("parent")
        .nodeSelector(Map.of("pool", "cpu"))
        .serviceAccount("procpool-workers")
        .imagePullPolicy("IfNotPresent")
        .build();
    try {
      WorkerHandle w = k8s.launch(spec(0, 5));
      String name = k8s.podName(spec(0, 5));
      Pod pod = client.pods().inNamespace(ns).withName(name).get();
      OwnerReference owner = pod.getMetadata().getOwnerReferences().get(0);
      assertEquals(List.of("Pod", "parent", parent.getMetadata().getUid()),
          List.of(owner.getKind(), owner.getName(), owner.getUid()));
      assertEquals(Map.of("pool", "cpu"), pod.getSpec().getNodeSelector());
      assertEquals("procpool-workers", pod.getSpec().getServiceAccountName());
      assertEquals("IfNotPresent", pod.getSpec().getContainers().get(0).getImagePullPolicy());
      assertEquals("unit", pod.getMetadata().getAnnotations().get(KubernetesLauncher.POOL_NAME_ANNOTATION));

      Secret secret = client.secrets().inNamespace(ns).withName(name).get();
      Set<String> owners = secret.getMetadata().getOwnerReferences().stream().map(OwnerReference::getUid)
          .collect(Collectors.toSet());
      assertEquals(Set.of(parent.getMetadata().getUid(), pod.getMetadata().getUid()), owners);
      String value = new String(Base64.getDecoder().decode(secret.getData().get(KubernetesLauncher.SECRET_KEY)),
          StandardCharsets.US_ASCII);
      assertEquals("not a real bootstrap", new String(Base64.getDecoder().decode(value), StandardCharsets.UTF_8));

      assertFalse(w.onExit().isDone(), "a Pod that no kubelet runs stays Pending, which is not a failure");
      w.kill();
      assertEquals(137, w.onExit().get(10, TimeUnit.SECONDS));
      assertEquals(List.of(), pods(k8s));
      assertEquals(List.of(), secrets(k8s));
    } finally {
      k8s.close();
    }
  }

  @Test
  void launch_ownerPodFromPodNameVariable_ownedByThisJvmsPod() throws Exception {
    Pod parent = createPlainPod("me");
    Map<String, String> env = Map.of("POD_NAME", "me", "POD_IP", "192.0.2.7");
    KubernetesLauncher.Builder b = KubernetesLauncher.builder(client).namespace(ns).image(IMAGE);
    b.env = env::get;
    KubernetesLauncher k8s = b.build();
    try {
      assertEquals("192.0.2.7", k8s.network().advertisedHost().orElseThrow());
      assertTrue(k8s.network().isRoutable());
      k8s.launch(spec(1, 9));
      Pod pod = client.pods().inNamespace(ns).withName(k8s.podName(spec(1, 9))).get();
      assertEquals(parent.getMetadata().getUid(), pod.getMetadata().getOwnerReferences().get(0).getUid());
      assertEquals(KubernetesLauncher.DEFAULT_COMMAND, pod.getSpec().getContainers().get(0).getCommand());
    } finally {
      k8s.close();
    }
    assertEquals(List.of(), pods(k8s));

    KubernetesLauncher.Builder nobody =
        KubernetesLauncher.builder(client).namespace(ns).image(IMAGE).parentHost("workers.svc");
    nobody.env = Map.of("POD_NAME", "not-there", "POD_IP", "192.0.2.7")::get;
    KubernetesLauncher orphan = nobody.build();
    try {
      assertEquals("workers.svc", orphan.network().advertisedHost().orElseThrow(), "parentHost wins");
      orphan.launch(spec(0, 1));
      assertEquals(List.of(), client.pods().inNamespace(ns).withName(orphan.podName(spec(0, 1))).get().getMetadata()
          .getOwnerReferences(), "a POD_NAME that names no Pod is no owner, and no failure");
    } finally {
      orphan.close();
    }
    KubernetesLauncher.Builder none = KubernetesLauncher.builder(client).image(IMAGE);
    none.env = Map.<String, String>of()::get;
    KubernetesLauncher plain = none.build();
    assertEquals(client.getNamespace(), plain.namespace(), "the client's namespace by default");
    assertTrue(plain.network().isRoutable());
    assertTrue(plain.network().advertisedHost().isEmpty());
    plain.close();
  }

  @Test
  void launch_ownerPodMissing_failsNamingIt() {
    KubernetesLauncher k8s = launcher().ownerPod("gone").build();
    try {
      IOException e = assertThrows(IOException.class, () -> k8s.launch(spec(0, 1)));
      assertEquals("ownerPod gone is not a Pod in namespace " + ns, e.getMessage());
      assertEquals(List.of(), pods(k8s));
    } finally {
      k8s.close();
    }
  }

  @Test
  void launch_podRefused_secretDeletedAndIOExceptionNamesPod() throws Exception {
    KubernetesLauncher k8s = launcher().build();
    String name = k8s.podName(spec(0, 1));
    createPlainPod(name);
    try {
      IOException e = assertThrows(IOException.class, () -> k8s.launch(spec(0, 1)));
      assertTrue(e.getMessage().startsWith("Cannot create Pod " + ns + "/" + name + " for "), e.getMessage());
      assertTrue(e.getMessage().contains("already exists"), e.getMessage());
      assertEquals(List.of(), secrets(k8s), "the Secret made for the refused Pod is deleted");
    } finally {
      k8s.close();
    }
  }

  @Test
  void launch_afterClose_refused() {
    KubernetesLauncher k8s = launcher().build();
    k8s.close();
    k8s.close();
    assertThrows(IOException.class, () -> k8s.launch(spec(0, 1)));
  }

  @Test
  void exitCode_podPhases_mappedAsDocumented() {
    assertNull(PodExits.exitCode(pod("Pending", null)));
    assertNull(PodExits.exitCode(pod("Running", null)));
    assertEquals(0, PodExits.exitCode(pod("Succeeded", null)));
    assertEquals(1, PodExits.exitCode(pod("Failed", null)));
    assertEquals(1, PodExits.exitCode(pod("Failed", 0)));
    assertEquals(3, PodExits.exitCode(pod("Failed", 3)));
    assertEquals(137, PodExits.deletedExitCode(pod("Running", null)));
    assertEquals(137, PodExits.deletedExitCode(null));
    assertEquals(2, PodExits.deletedExitCode(pod("Running", 2)));
    assertEquals(0, PodExits.deletedExitCode(pod("Succeeded", 0)));
  }

  private static Pod pod(String phase, Integer exitCode) {
    PodBuilder b = new PodBuilder().withNewMetadata().withName("p").endMetadata().withNewStatus().withPhase(phase)
        .endStatus();
    if (exitCode != null) {
      b.editStatus().addToContainerStatuses(new ContainerStatusBuilder().withName(KubernetesLauncher.CONTAINER_NAME)
          .withNewState().withNewTerminated().withExitCode(exitCode).endTerminated().endState().build()).endStatus();
    }
    return b.build();
  }

  @Test
  void containerCommand_poolJvmOptions_followJavaOrLeaveAScriptAlone() {
    List<String> opts = List.of("-Xmx2g", "-Dx=y");
    assertEquals(List.of("/usr/bin/java", "-Xmx2g", "-Dx=y", "-cp", "/app/lib/*", "Main"),
        WorkerPods.containerCommand(List.of("/usr/bin/java", "-cp", "/app/lib/*", "Main"), opts));
    List<String> script = List.of("/app/run-worker.sh");
    assertSame(script, WorkerPods.containerCommand(script, opts), "a script gets them in JDK_JAVA_OPTIONS");
    List<String> plain = List.of("java", "Main");
    assertSame(plain, WorkerPods.containerCommand(plain, List.of()));
  }
}
