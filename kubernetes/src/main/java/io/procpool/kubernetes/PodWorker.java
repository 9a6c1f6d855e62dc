package io.procpool.kubernetes;

import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.procpool.spi.WorkerHandle;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;

/** A worker as its Pod: what the launcher's informer last saw of it, and its exit. */
final class PodWorker implements WorkerHandle {
  /** What a worker needs of its launcher. */
  interface Pods {
    String namespace();

    /** Whether the launcher is closed: then its {@code close()} deletes whatever is left. */
    boolean closed();

    /** The worker has ended: the launcher need not follow its Pod any more. */
    void ended(String name, PodWorker worker);

    /** Deletes the Pod now (grace period 0); logs and rethrows what the API server refused. */
    void deletePod(String name);

    /** Deletes the Secret; logs what the API server refused. */
    void deleteSecret(String name);
  }

  private final Pods pods;
  private final String name;
  private final CompletableFuture<Integer> exit = new CompletableFuture<>();
  private final AtomicBoolean killed = new AtomicBoolean();
  volatile Pod last;

  PodWorker(Pods pods, String name) {
    this.pods = pods;
    this.name = name;
  }

  /** The informer saw the Pod made or changed. */
  void observed(Pod pod) {
    last = pod;
    Integer code = PodExits.exitCode(pod);
    if (code != null) {
      // A Pod that succeeded has nothing to show; one that failed is kept for its logs.
      finish(code, code == 0 && "Succeeded".equals(pod.getStatus().getPhase()));
    }
  }

  /** The informer saw the Pod deleted. */
  void deleted(Pod pod) {
    finish(PodExits.deletedExitCode(pod != null ? pod : last), false);
  }

  void finish(int code, boolean deletePod) {
    if (!exit.complete(code)) {
      return;
    }
    pods.ended(name, this);
    if (pods.closed()) {
      return; // close() deletes everything left.
    }
    pods.deleteSecret(name);
    if (deletePod) {
      try {
        pods.deletePod(name);
      } catch (KubernetesClientException e) {
        // Logged; close() tries again.
      }
    }
  }

  @Override
  public CompletableFuture<Integer> onExit() {
    return exit;
  }

  /**
   * Deletes the Pod, with grace period 0, and its Secret. {@link #onExit()} completes when the informer
   * sees the Pod gone; at once with 137 if the API server cannot be asked.
   */
  @Override
  public void kill() {
    if (!killed.compareAndSet(false, true)) {
      return;
    }
    try {
      pods.deletePod(name);
    } catch (KubernetesClientException e) {
      // The worker may run on; it exits by itself once the pool drops its stream.
      finish(PodExits.deletedExitCode(last), false);
    }
    pods.deleteSecret(name);
  }

  @Override
  public long pid() {
    return -1;
  }

  @Override
  public String description() {
    Pod p = last;
    String node = p == null || p.getSpec() == null ? null : p.getSpec().getNodeName();
    return "Pod " + pods.namespace() + "/" + name + (node == null ? "" : " on node " + node);
  }

  @Override
  public String toString() {
    return description();
  }
}
