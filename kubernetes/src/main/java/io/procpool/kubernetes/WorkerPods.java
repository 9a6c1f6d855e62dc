package io.procpool.kubernetes;

import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarBuilder;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.OwnerReferenceBuilder;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodBuilder;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.ResourceRequirementsBuilder;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.procpool.spi.WorkerSpec;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What a launcher's worker Pods and Secrets look like: their names, labels, container and environment,
 * from the launcher's options and each {@link WorkerSpec}. Makes objects only; talks to no API server.
 */
final class WorkerPods {
  private final String namespace;
  private final String instanceId;
  private final String image;
  private final List<String> command;
  private final String imagePullPolicy;
  private final Map<String, Quantity> requests;
  private final Map<String, Quantity> limits;
  private final Map<String, String> labels;
  private final Map<String, String> nodeSelector;
  private final String serviceAccount;
  private final Map<String, String> environment;

  WorkerPods(
      String namespace, String instanceId, String image, List<String> command, String imagePullPolicy,
      Map<String, Quantity> requests, Map<String, Quantity> limits, Map<String, String> labels,
      Map<String, String> nodeSelector, String serviceAccount, Map<String, String> environment) {
    this.namespace = namespace;
    this.instanceId = instanceId;
    this.image = image;
    this.command = command;
    this.imagePullPolicy = imagePullPolicy;
    this.requests = requests;
    this.limits = limits;
    this.labels = labels;
    this.nodeSelector = nodeSelector;
    this.serviceAccount = serviceAccount;
    this.environment = environment;
  }

  /** The name of the Pod and the Secret of {@code spec}: see {@link KubernetesLauncher#podName}. */
  String name(WorkerSpec spec) {
    String tail = "-" + instanceId + "-w" + spec.index() + "-" + Long.toUnsignedString(spec.id());
    String pool = spec.poolName().toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]+", "-").replaceAll("^-+|-+$", "");
    String base = pool.startsWith("procpool") ? pool : pool.isEmpty() ? "procpool" : "procpool-" + pool;
    if (base.length() + tail.length() > KubernetesLauncher.MAX_NAME) {
      base = base.substring(0, KubernetesLauncher.MAX_NAME - tail.length()).replaceAll("-+$", "");
    }
    return base + tail;
  }

  private Map<String, String> labels(WorkerSpec spec) {
    Map<String, String> l = new LinkedHashMap<>(labels);
    l.put(KubernetesLauncher.MANAGED_BY_LABEL, "procpool");
    l.put(KubernetesLauncher.POOL_LABEL, instanceId);
    l.put(KubernetesLauncher.WORKER_INDEX_LABEL, Integer.toString(spec.index()));
    l.put(KubernetesLauncher.WORKER_ID_LABEL, Long.toUnsignedString(spec.id()));
    return l;
  }

  /**
   * The Secret for {@code spec}'s bootstrap. Its {@code data} is base64 of what the worker's variable
   * holds, which is base64 itself: the kubelet decodes {@code data} once as it sets the variable.
   */
  Secret secret(WorkerSpec spec, String name, List<OwnerReference> parents) {
    String value = Base64.getEncoder().encodeToString(spec.bootstrap());
    return new SecretBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(namespace)
        .withLabels(labels(spec))
        .addToAnnotations(KubernetesLauncher.POOL_NAME_ANNOTATION, spec.poolName())
        .withOwnerReferences(parents)
        .endMetadata()
        .withType("Opaque")
        .withImmutable(true)
        .addToData(KubernetesLauncher.SECRET_KEY, Base64.getEncoder().encodeToString(value.getBytes(StandardCharsets.US_ASCII)))
        .build();
  }

  /**
   * The container's command for a pool with JVM options {@code jvmOptions} ({@code
   * Pool.builder().jvmOptions(...)}): right after the program when the program is {@code java}; else
   * {@code command} itself, and the options go in {@code JDK_JAVA_OPTIONS}.
   */
  static List<String> containerCommand(List<String> command, List<String> jvmOptions) {
    String program = command.get(0);
    String base = program.substring(program.lastIndexOf('/') + 1);
    if (jvmOptions.isEmpty() || !base.equals("java")) {
      return command;
    }
    List<String> out = new ArrayList<>(command.size() + jvmOptions.size());
    out.add(program);
    out.addAll(jvmOptions);
    out.addAll(command.subList(1, command.size()));
    return out;
  }

  /** The Pod for {@code spec}; its bootstrap is in the Secret {@code name}, never here. */
  Pod pod(WorkerSpec spec, String name, List<OwnerReference> parents) {
    Map<String, String> vars = new LinkedHashMap<>(spec.environment());
    vars.remove(KubernetesLauncher.BOOTSTRAP_VARIABLE);
    vars.remove(KubernetesLauncher.BOOTSTRAP_FILE_VARIABLE);
    vars.putAll(environment);
    List<String> containerCommand = containerCommand(command, spec.jvmOptions());
    if (containerCommand == command && !spec.jvmOptions().isEmpty()) {
      // A wrapper (a script that execs java): the java launcher reads its options from here.
      vars.merge("JDK_JAVA_OPTIONS", String.join(" ", spec.jvmOptions()), (mine, pool) -> pool + " " + mine);
    }
    List<EnvVar> env = new ArrayList<>();
    vars.forEach((k, v) -> env.add(new EnvVar(k, v, null)));
    env.add(new EnvVarBuilder().withName(KubernetesLauncher.BOOTSTRAP_VARIABLE)
        .withNewValueFrom().withNewSecretKeyRef().withName(name).withKey(KubernetesLauncher.SECRET_KEY).endSecretKeyRef().endValueFrom()
        .build());
    // The downward API, for tasks that want to know where they run (and for a pool a task makes itself).
    for (String[] field : new String[][] {
        {"POD_NAME", "metadata.name"}, {"POD_NAMESPACE", "metadata.namespace"}, {"POD_IP", "status.podIP"},
        {"NODE_NAME", "spec.nodeName"}}) {
      if (!vars.containsKey(field[0])) {
        env.add(new EnvVarBuilder().withName(field[0])
            .withNewValueFrom().withNewFieldRef().withFieldPath(field[1]).endFieldRef().endValueFrom().build());
      }
    }
    return new PodBuilder()
        .withNewMetadata()
        .withName(name)
        .withNamespace(namespace)
        .withLabels(labels(spec))
        .addToAnnotations(KubernetesLauncher.POOL_NAME_ANNOTATION, spec.poolName())
        .withOwnerReferences(parents)
        .endMetadata()
        .withNewSpec()
        .withRestartPolicy("Never")
        // A namespace's Services would otherwise each add variables to the worker's environment.
        .withEnableServiceLinks(false)
        .withServiceAccountName(serviceAccount)
        .withNodeSelector(nodeSelector.isEmpty() ? null : nodeSelector)
        .addNewContainer()
        .withName(KubernetesLauncher.CONTAINER_NAME)
        .withImage(image)
        .withImagePullPolicy(imagePullPolicy)
        .withCommand(containerCommand)
        .withEnv(env)
        .withResources(requests.isEmpty() && limits.isEmpty() ? null
            : new ResourceRequirementsBuilder()
                .withRequests(requests.isEmpty() ? null : requests)
                .withLimits(limits.isEmpty() ? null : limits)
                .build())
        .endContainer()
        .endSpec()
        .build();
  }

  static OwnerReference ownerReference(Pod owner) {
    return new OwnerReferenceBuilder()
        .withApiVersion("v1")
        .withKind("Pod")
        .withName(owner.getMetadata().getName())
        .withUid(owner.getMetadata().getUid())
        .build();
  }
}
