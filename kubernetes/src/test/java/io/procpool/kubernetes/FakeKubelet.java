package io.procpool.kubernetes;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerStatusBuilder;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;

/**
 * A kubelet for the mock API server: it runs each new Pod's container as a local process, as a node
 * would, and reports the Pod's life through its status.
 *
 * <ul>
 *   <li>A new Pod is bound to {@value #NODE} and made {@code Running} with the IP 127.0.0.1; its
 *       container's command then runs with an environment of only {@code PATH} and the container's
 *       variables: plain values, {@code secretKeyRef}s read from the Secret in the API (decoded once, as a
 *       kubelet does) and the downward API fields procpool uses.
 *   <li>When the process exits the Pod becomes {@code Succeeded} (exit 0) or {@code Failed}, with the
 *       code in its container's {@code state.terminated.exitCode}.
 *   <li>A deleted Pod's process is killed (SIGKILL).
 * </ul>
 *
 * <p>Output goes to one log file per Pod under {@code logDir}, never to this JVM's stdout, which is the
 * surefire fork's. {@link #close()} kills every process it started and waits for them.
 */
final class FakeKubelet implements AutoCloseable {
  static final String NODE = "fake-node";
  static final String POD_IP = "127.0.0.1";

  private final KubernetesClient client;
  private final String namespace;
  private final Path logDir;
  private final SharedIndexInformer<Pod> informer;
  // One thread: Pods start in the order they were seen, and no start races a deletion's kill.
  private final ExecutorService runner = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "fake-kubelet");
    t.setDaemon(true);
    return t;
  });
  private final Map<String, Container> containers = new ConcurrentHashMap<>();
  private final Set<String> seen = ConcurrentHashMap.newKeySet();
  private final Set<String> deleted = ConcurrentHashMap.newKeySet();
  private final Map<String, Process> processes = new ConcurrentHashMap<>();
  private final List<Process> started = new CopyOnWriteArrayList<>();
  private final List<String> errors = new CopyOnWriteArrayList<>();
  private volatile boolean closed;

  FakeKubelet(KubernetesClient client, String namespace, Path logDir) throws IOException {
    this.client = client;
    this.namespace = namespace;
    this.logDir = Files.createDirectories(logDir);
    this.informer = client.pods().inNamespace(namespace).inform(new ResourceEventHandler<Pod>() {
      @Override
      public void onAdd(Pod pod) {
        seenPod(pod);
      }

      @Override
      public void onUpdate(Pod oldPod, Pod pod) {
        seenPod(pod);
      }

      @Override
      public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
        String uid = pod.getMetadata().getUid();
        deleted.add(uid);
        runner.execute(() -> kill(uid));
      }
    }, 0);
  }

  private void seenPod(Pod pod) {
    String uid = pod.getMetadata().getUid();
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    boolean pending = phase == null || phase.equals("Pending");
    if (pending && pod.getMetadata().getDeletionTimestamp() == null && seen.add(uid)) {
      runner.execute(() -> start(pod));
    }
  }

  private void start(Pod pod) {
    String uid = pod.getMetadata().getUid();
    String name = pod.getMetadata().getName();
    if (closed || deleted.contains(uid)) {
      return;
    }
    try {
      Container c = pod.getSpec().getContainers().get(0);
      Map<String, String> env = environment(pod, c);
      // Bind the Pod to this node (the scheduler's part), then report it running.
      client.pods().inNamespace(namespace).withName(name)
          .edit(p -> new PodBuilder(p).editSpec().withNodeName(NODE).endSpec().build());
      editStatus(name, p -> new PodBuilder(p).editOrNewStatus()
          .withPhase("Running").withPodIP(POD_IP).withHostIP(POD_IP).endStatus().build());
      ProcessBuilder pb = new ProcessBuilder(c.getCommand());
      pb.environment().keySet().retainAll(Set.of("PATH"));
      pb.environment().putAll(env);
      Path log = logDir.resolve(name + ".log");
      pb.redirectErrorStream(true).redirectOutput(log.toFile());
      Process p = pb.start();
      started.add(p);
      processes.put(uid, p);
      containers.put(uid, c);
      var unused = p.onExit().thenRun(() -> exited(name, uid, p.exitValue()));
      if (deleted.contains(uid)) {
        kill(uid);
      }
    } catch (IOException | RuntimeException e) {
      errors.add("Pod " + name + ": " + e);
      if (!(e instanceof KubernetesClientException)) {
        exited(name, uid, 127);
      }
    }
  }

  /** The container's environment, as the kubelet resolves it. */
  private Map<String, String> environment(Pod pod, Container c) {
    Map<String, String> env = new LinkedHashMap<>();
    for (EnvVar v : c.getEnv()) {
      EnvVarSource from = v.getValueFrom();
      if (from == null) {
        env.put(v.getName(), v.getValue() == null ? "" : v.getValue());
      } else if (from.getSecretKeyRef() != null) {
        Secret s = client.secrets().inNamespace(namespace).withName(from.getSecretKeyRef().getName()).get();
        if (s == null || s.getData() == null || !s.getData().containsKey(from.getSecretKeyRef().getKey())) {
          throw new IllegalStateException("CreateContainerConfigError: no key " + from.getSecretKeyRef().getKey()
              + " in Secret " + from.getSecretKeyRef().getName());
        }
        byte[] value = Base64.getDecoder().decode(s.getData().get(from.getSecretKeyRef().getKey()));
        env.put(v.getName(), new String(value, StandardCharsets.UTF_8));
      } else if (from.getFieldRef() != null) {
        String path = from.getFieldRef().getFieldPath();
        switch (path) {
          case "metadata.name" -> env.put(v.getName(), pod.getMetadata().getName());
          case "metadata.namespace" -> env.put(v.getName(), pod.getMetadata().getNamespace());
          case "status.podIP" -> env.put(v.getName(), POD_IP);
          case "spec.nodeName" -> env.put(v.getName(), NODE);
          default -> throw new IllegalStateException("fieldRef " + path + " is not supported here");
        }
      } else {
        throw new IllegalStateException("valueFrom " + from + " is not supported here");
      }
    }
    return env;
  }

  private void exited(String name, String uid, int code) {
    processes.remove(uid);
    if (closed) {
      return;
    }
    try {
      editStatus(name, p -> new PodBuilder(p).editOrNewStatus()
          .withPhase(code == 0 ? "Succeeded" : "Failed")
          .withContainerStatuses(new ContainerStatusBuilder()
              .withName(containers.getOrDefault(uid, new Container()).getName())
              .withNewState().withNewTerminated().withExitCode(code).endTerminated().endState()
              .build())
          .endStatus().build());
    } catch (KubernetesClientException e) {
      // The Pod is gone (deleted, or the mock server closed): nothing to report on.
    }
  }

  private void editStatus(String name, UnaryOperator<Pod> edit) {
    client.pods().inNamespace(namespace).withName(name).editStatus(edit);
  }

  private void kill(String uid) {
    Process p = processes.get(uid);
    if (p != null) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
  }

  /**
   * The pids of every process started so far.
   *
   * @return the pids
   */
  Set<Long> pids() {
    return started.stream().map(Process::pid).collect(Collectors.toSet());
  }

  /**
   * Whether every process started so far has exited.
   *
   * @return true when none runs
   */
  boolean allExited() {
    return started.stream().noneMatch(Process::isAlive);
  }

  int startedCount() {
    return started.size();
  }

  /**
   * For a failing test's message: problems starting Pods, and the last lines of each Pod's log.
   *
   * @return a report, many lines
   */
  String report() {
    StringBuilder s = new StringBuilder();
    errors.forEach(e -> s.append("\n  kubelet error: ").append(e));
    try (var logs = Files.list(logDir)) {
      for (Path log : logs.sorted().collect(Collectors.toList())) {
        List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
        s.append("\n  --- ").append(log.getFileName()).append(" (last 20 lines)");
        lines.subList(Math.max(0, lines.size() - 20), lines.size()).forEach(l -> s.append("\n    ").append(l));
      }
    } catch (IOException e) {
      s.append("\n  (cannot read the logs: ").append(e).append(')');
    }
    return s.toString();
  }

  /** Stops watching, kills every process it started and waits for them. */
  @Override
  public void close() throws InterruptedException {
    closed = true;
    informer.stop();
    runner.shutdownNow();
    runner.awaitTermination(10, TimeUnit.SECONDS);
    List<String> stuck = new ArrayList<>();
    for (Process p : started) {
      p.descendants().forEach(ProcessHandle::destroyForcibly);
      p.destroyForcibly();
    }
    for (Process p : started) {
      if (!p.waitFor(10, TimeUnit.SECONDS)) {
        stuck.add(Long.toString(p.pid()));
      }
    }
    if (!stuck.isEmpty()) {
      throw new IllegalStateException("processes " + stuck + " did not exit after SIGKILL");
    }
  }
}
