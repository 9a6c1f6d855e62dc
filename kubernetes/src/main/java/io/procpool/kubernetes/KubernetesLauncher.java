package io.procpool.kubernetes;

import static java.util.Objects.requireNonNull;

import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.fabric8.kubernetes.api.model.OwnerReference;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Quantity;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.SecretBuilder;
import io.fabric8.kubernetes.api.model.Status;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.informers.ResourceEventHandler;
import io.fabric8.kubernetes.client.informers.SharedIndexInformer;
import io.procpool.spi.Network;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.math.BigDecimal;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * Workers in Kubernetes: each worker runs in a Pod of its own, made from a container image that holds
 * procpool and the tasks' classes, and dials back to this JVM over the network.
 *
 * <pre>{@code
 * Pool pool = Pool.builder()
 *     .workers(16)
 *     .launcher(KubernetesLauncher.builder().image("registry/app:1.2").namespace("batch").build())
 *     .build();
 * }</pre>
 *
 * <p>What each worker start makes, in the launcher's namespace:
 *
 * <ul>
 *   <li>A Secret holding the worker's bootstrap, which holds the pool's secret: it reaches the worker as
 *       the environment variable {@code PROCPOOL_BOOTSTRAP}, through a {@code secretKeyRef}, and appears
 *       in no Pod spec, label, annotation or command line. Once the Pod exists the Secret is owned by it,
 *       so Kubernetes deletes the two together.
 *   <li>A Pod, {@code restartPolicy: Never}, with one container named {@value #CONTAINER_NAME} that runs
 *       the builder's {@link Builder#command(List) command} (by default {@code java -cp /app/lib/*} and
 *       the worker's main class) in the builder's image, with its resources, node selector, service account
 *       and environment. The pool's own worker command, which names this machine's java and class path,
 *       is not used, nor its {@code workingDirectory} (the image's applies). The pool's JVM options ({@code
 *       Pool.builder().jvmOptions(...)}) follow the command's program when that is {@code java}, and go in
 *       {@code JDK_JAVA_OPTIONS} otherwise (a script that starts java). The pool's {@code environment}
 *       variables are passed on.
 *   <li>Both are named {@code procpool-<pool>-<launcher>-w<slot>-<start>} ({@link #podName}) and carry the
 *       labels {@value #MANAGED_BY_LABEL}{@code =procpool}, {@value #POOL_LABEL}{@code =}{@link
 *       #instanceId()} (one value per launcher, so that two pools of the same name never touch each other's
 *       Pods), {@value #WORKER_INDEX_LABEL} and {@value #WORKER_ID_LABEL}, plus the builder's own.
 *   <li>When this JVM itself runs in a Pod (the environment variable {@code POD_NAME} is set, from the
 *       downward API) or {@link Builder#ownerPod(String) ownerPod} names one, every worker Pod and Secret
 *       is owned by that Pod: if it goes, Kubernetes deletes them.
 * </ul>
 *
 * <p>How a worker lives and dies:
 *
 * <ul>
 *   <li>A Pod that stays {@code Pending} (unschedulable, pulling its image) is not a failure: the pool's
 *       {@code startTimeout} bounds the wait for it to connect, and the pool then kills it.
 *   <li>Its exit code ({@link WorkerHandle#onExit()}) is its container's, once the Pod's phase is {@code
 *       Succeeded} or {@code Failed} (0 or 1 when Kubernetes reports none; 1 too for a {@code Failed} Pod
 *       whose container reports 0). A Pod deleted before it ended (by {@link WorkerHandle#kill()}, by
 *       someone else, by an eviction or a lost node) exits with 137, as a process killed by SIGKILL does.
 *       The pool counts either as a worker that died: its task is retried under {@code maxRetries}, and a
 *       new Pod takes its slot.
 *   <li>A Pod that succeeded is deleted at once, with its Secret; one that failed is kept, so that its
 *       logs can be read, until {@link WorkerHandle#kill()} or {@link #close()}; its Secret is deleted at
 *       once.
 *   <li>{@link WorkerHandle#kill()} deletes the Pod (grace period 0) and its Secret.
 *   <li>{@link #close()} deletes every Pod and Secret of this launcher that is left.
 *   <li>If this JVM dies, each worker's gRPC stream breaks and the worker exits by itself (its Pod then
 *       succeeds or fails, and is not restarted); its Pod and Secret are left for the owner Pod's garbage
 *       collection, where there is one.
 * </ul>
 *
 * <p>One informer per launcher watches its Pods (by the {@value #POOL_LABEL} label), started by the first
 * {@link #launch}: it re-lists and re-watches after any disconnection, so no exit is missed. The
 * launcher's service account needs, in its namespace: {@code create}, {@code get}, {@code list}, {@code
 * watch}, {@code delete} and {@code deletecollection} on {@code pods}, and {@code create}, {@code get},
 * {@code patch}, {@code delete} and {@code deletecollection} on {@code secrets}.
 *
 * <p>Workers run on other machines, so {@link #network()} is {@link Network#routable(String)}: they dial
 * {@link Builder#parentHost(String) parentHost}, else this Pod's IP (the environment variable {@code
 * POD_IP}, from the downward API), else the address the pool finds for this machine.
 *
 * <p>This class is thread-safe.
 */
public final class KubernetesLauncher implements WorkerLauncher {
  /** The label that says procpool made a Pod or Secret (value {@code procpool}). */
  public static final String MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
  /** The label whose value is the {@link #instanceId()} of the launcher that made a Pod or Secret. */
  public static final String POOL_LABEL = "procpool.io/pool";
  /** The label whose value is a Pod's worker slot ({@link WorkerSpec#index()}). */
  public static final String WORKER_INDEX_LABEL = "procpool.io/worker-index";
  /** The label whose value is a Pod's worker start id ({@link WorkerSpec#id()}). */
  public static final String WORKER_ID_LABEL = "procpool.io/worker-id";
  /** The annotation whose value is the pool's name, which may not fit in a label. */
  public static final String POOL_NAME_ANNOTATION = "procpool.io/pool-name";
  /** The name of the worker's container in its Pod. */
  public static final String CONTAINER_NAME = "worker";
  /** The key, in a worker's Secret, of its bootstrap (base64, as {@code PROCPOOL_BOOTSTRAP} takes it). */
  public static final String SECRET_KEY = "bootstrap";

  static final String BOOTSTRAP_VARIABLE = "PROCPOOL_BOOTSTRAP";
  static final String BOOTSTRAP_FILE_VARIABLE = "PROCPOOL_BOOTSTRAP_FILE";
  static final List<String> DEFAULT_COMMAND = List.of("java", "-cp", "/app/lib/*", WorkerSpec.WORKER_MAIN_CLASS);

  private static final System.Logger LOG = System.getLogger("io.procpool.kubernetes");
  private static final Pattern DNS_LABEL = Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?");
  private static final Pattern DNS_SUBDOMAIN =
      Pattern.compile("[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*");
  private static final Pattern LABEL_NAME = Pattern.compile("[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?");
  private static final Pattern ENV_NAME = Pattern.compile("[-._a-zA-Z][-._a-zA-Z0-9]*");
  private static final Set<String> PULL_POLICIES = Set.of("Always", "IfNotPresent", "Never");
  /** The longest name or label value Kubernetes takes. */
  static final int MAX_NAME = 63;
  private static final long INFORMER_START_SECONDS = 60;

  private final KubernetesClient client;
  private final boolean ownsClient;
  private final String namespace;
  private final String image;
  /** What each worker's Pod and Secret look like. */
  private final WorkerPods pods;
  /** The launcher as its workers see it. */
  private final PodWorker.Pods forWorkers = new ForWorkers();
  private final String ownerPod;
  private final boolean ownerPodExplicit;
  private final Network network;
  private final String instanceId;

  /** The workers whose Pods may still run, by Pod name; each is added before its Pod is created. */
  private final ConcurrentMap<String, PodWorker> workers = new ConcurrentHashMap<>();

  @GuardedBy("this")
  private SharedIndexInformer<Pod> informer;

  /** The owner references of every Pod and Secret; null until the first launch looks the owner up. */
  @GuardedBy("this")
  private List<OwnerReference> owners;

  private volatile boolean closed;

  private KubernetesLauncher(Builder b, KubernetesClient client, boolean ownsClient) {
    this.client = client;
    this.ownsClient = ownsClient;
    String ns = b.namespace != null ? b.namespace : client.getNamespace();
    this.namespace = ns == null || ns.isBlank() ? "default" : ns;
    this.image = b.image;
    String podName = b.env.apply("POD_NAME");
    this.ownerPodExplicit = b.ownerPod != null;
    this.ownerPod = b.ownerPod != null ? b.ownerPod : podName == null || podName.isBlank() ? null : podName.strip();
    this.network = network(b.parentHost, b.env.apply("POD_IP"));
    this.instanceId = randomId();
    this.pods =
        new WorkerPods(namespace, instanceId, b.image, b.command, b.imagePullPolicy, Map.copyOf(b.requests),
            Map.copyOf(b.limits), Map.copyOf(b.labels), Map.copyOf(b.nodeSelector), b.serviceAccount,
            Collections.unmodifiableMap(new LinkedHashMap<>(b.environment)));
  }

  private static Network network(String parentHost, String podIp) {
    if (parentHost != null) {
      return Network.routable(parentHost);
    }
    if (podIp != null && !podIp.isBlank()) {
      try {
        return Network.routable(podIp);
      } catch (IllegalArgumentException e) {
        LOG.log(System.Logger.Level.WARNING, "POD_IP \"{0}\" is not an address; the pool finds one itself", podIp);
      }
    }
    return Network.routable();
  }

  /** Six characters of [a-z0-9], starting with a letter: 2 billion launchers before two share one. */
  private static String randomId() {
    ThreadLocalRandom r = ThreadLocalRandom.current();
    StringBuilder s = new StringBuilder();
    s.append((char) ('a' + r.nextInt(26)));
    for (int i = 0; i < 5; i++) {
      s.append("abcdefghijklmnopqrstuvwxyz0123456789".charAt(r.nextInt(36)));
    }
    return s.toString();
  }

  /**
   * A builder whose launcher talks to the cluster through {@code client}, which stays the caller's: the
   * launcher does not close it.
   *
   * @param client a client of the cluster to run workers in
   * @return a new builder
   */
  public static Builder builder(KubernetesClient client) {
    return new Builder(requireNonNull(client, "client"));
  }

  /**
   * A builder whose launcher makes its own client, from the usual configuration (the Pod's service
   * account inside a cluster, else {@code ~/.kube/config} and its current context), and closes it in
   * {@link #close()}.
   *
   * @return a new builder
   */
  public static Builder builder() {
    return new Builder(null);
  }

  /**
   * Options of a {@link KubernetesLauncher}. Every setter checks its value at once and throws {@link
   * IllegalArgumentException} (or {@link NullPointerException} for null) naming the option; {@link
   * #image(String)} is the one option without a default.
   */
  public static final class Builder {
    private final KubernetesClient client;
    private String namespace;
    private String image;
    private List<String> command = DEFAULT_COMMAND;
    private String imagePullPolicy;
    private final Map<String, Quantity> requests = new LinkedHashMap<>();
    private final Map<String, Quantity> limits = new LinkedHashMap<>();
    private final Map<String, String> labels = new LinkedHashMap<>();
    private final Map<String, String> nodeSelector = new LinkedHashMap<>();
    private String serviceAccount;
    private final Map<String, String> environment = new LinkedHashMap<>();
    private String parentHost;
    private String ownerPod;
    // The process environment, replaced by tests (POD_NAME, POD_IP).
    Function<String, String> env = System::getenv;

    private Builder(KubernetesClient client) {
      this.client = client;
    }

    /**
     * The namespace of the workers' Pods and Secrets; default: the client's, else {@code default}.
     *
     * @param namespace a namespace name (a DNS-1123 label)
     * @return this builder
     */
    public Builder namespace(String namespace) {
      this.namespace = dnsLabel(namespace, "namespace");
      return this;
    }

    /**
     * The container image of every worker (required): one that holds a JVM, procpool and the classes of
     * the tasks, initializer and their inputs and results, where {@link #command(List) command} finds
     * them.
     *
     * @param image an image reference, such as {@code registry.example.com/app:1.2}
     * @return this builder
     */
    public Builder image(String image) {
      String i = nonBlank(image, "image");
      if (i.chars().anyMatch(Character::isWhitespace)) {
        throw new IllegalArgumentException("image is \"" + image + "\", but must be an image reference without spaces");
      }
      this.image = i;
      return this;
    }

    /**
     * The worker container's command, which must start the worker JVM with its main class {@link
     * WorkerSpec#WORKER_MAIN_CLASS}; default {@code ["java", "-cp", "/app/lib/*",
     * WorkerSpec.WORKER_MAIN_CLASS]}. The pool's JVM options are added after {@code java} (see the class
     * comment); options of the image's own can go here too.
     *
     * @param command the program and its arguments, not empty
     * @return this builder
     */
    public Builder command(List<String> command) {
      requireNonNull(command, "command");
      if (command.isEmpty()) {
        throw new IllegalArgumentException("command is [], but must name at least the program to run");
      }
      for (String c : command) {
        requireNonNull(c, "command argument");
      }
      if (command.get(0).isBlank()) {
        throw new IllegalArgumentException("command is " + command + ", but its program is blank");
      }
      this.command = List.copyOf(command);
      return this;
    }

    /**
     * When the image is pulled: {@code Always}, {@code IfNotPresent} or {@code Never}; default:
     * Kubernetes' ({@code Always} for a {@code :latest} tag, else {@code IfNotPresent}).
     *
     * @param policy one of the three policies
     * @return this builder
     */
    public Builder imagePullPolicy(String policy) {
      requireNonNull(policy, "imagePullPolicy");
      if (!PULL_POLICIES.contains(policy)) {
        throw new IllegalArgumentException(
            "imagePullPolicy is \"" + policy + "\", but must be Always, IfNotPresent or Never");
      }
      this.imagePullPolicy = policy;
      return this;
    }

    /**
     * The CPU each worker's container requests, which the scheduler reserves; default: none.
     *
     * @param cpu a Kubernetes quantity: {@code 500m}, {@code 2}
     * @return this builder
     */
    public Builder cpuRequest(String cpu) {
      requests.put("cpu", quantity(cpu, "cpuRequest", "500m or 2"));
      return this;
    }

    /**
     * The CPU each worker's container may use at most; default: none.
     *
     * @param cpu a Kubernetes quantity: {@code 500m}, {@code 2}
     * @return this builder
     */
    public Builder cpuLimit(String cpu) {
      limits.put("cpu", quantity(cpu, "cpuLimit", "500m or 2"));
      return this;
    }

    /**
     * The memory each worker's container requests, which the scheduler reserves; default: none.
     *
     * @param memory a Kubernetes quantity: {@code 512Mi}, {@code 2Gi}
     * @return this builder
     */
    public Builder memoryRequest(String memory) {
      requests.put("memory", quantity(memory, "memoryRequest", "512Mi or 2Gi"));
      return this;
    }

    /**
     * The memory each worker's container may use at most; over it the worker is killed (and counts as a
     * worker that died). The JVM sizes its default heap from it. Default: none.
     *
     * @param memory a Kubernetes quantity: {@code 512Mi}, {@code 2Gi}
     * @return this builder
     */
    public Builder memoryLimit(String memory) {
      limits.put("memory", quantity(memory, "memoryLimit", "512Mi or 2Gi"));
      return this;
    }

    /**
     * Labels to add to every worker Pod and Secret, besides procpool's own (whose keys they may not use).
     *
     * @param labels label keys and values, as Kubernetes allows them
     * @return this builder
     */
    public Builder labels(Map<String, String> labels) {
      requireNonNull(labels, "labels");
      labels.forEach((k, v) -> {
        checkLabel(k, v, "labels");
        if (k.equals(MANAGED_BY_LABEL) || k.startsWith("procpool.io/")) {
          throw new IllegalArgumentException(
              "labels has the key \"" + k + "\", but " + MANAGED_BY_LABEL
                  + " and procpool.io/ keys are procpool's own");
        }
      });
      this.labels.putAll(labels);
      return this;
    }

    /**
     * Node labels a worker's node must have ({@code nodeSelector}); default: none.
     *
     * @param nodeSelector label keys and values, as Kubernetes allows them
     * @return this builder
     */
    public Builder nodeSelector(Map<String, String> nodeSelector) {
      requireNonNull(nodeSelector, "nodeSelector");
      nodeSelector.forEach((k, v) -> checkLabel(k, v, "nodeSelector"));
      this.nodeSelector.putAll(nodeSelector);
      return this;
    }

    /**
     * The service account the workers run as; default: the namespace's {@code default}.
     *
     * @param name a service account name
     * @return this builder
     */
    public Builder serviceAccount(String name) {
      this.serviceAccount = dnsSubdomain(name, "serviceAccount");
      return this;
    }

    /**
     * Environment variables to add to every worker's container, after the pool's own (so these win).
     *
     * @param environment variable names and values; {@code PROCPOOL_BOOTSTRAP} and {@code
     *     PROCPOOL_BOOTSTRAP_FILE} are procpool's own
     * @return this builder
     */
    public Builder environment(Map<String, String> environment) {
      requireNonNull(environment, "environment");
      environment.forEach((k, v) -> {
        requireNonNull(k, "environment variable name");
        requireNonNull(v, "environment variable " + k);
        if (!ENV_NAME.matcher(k).matches()) {
          throw new IllegalArgumentException(
              "environment has the variable \"" + k + "\", but names must be letters, digits, '_', '-' and '.', "
                  + "not starting with a digit");
        }
        if (k.equals(BOOTSTRAP_VARIABLE) || k.equals(BOOTSTRAP_FILE_VARIABLE)) {
          throw new IllegalArgumentException(
              "environment has the variable " + k + ", but it is procpool's own (the worker's bootstrap)");
        }
      });
      this.environment.putAll(environment);
      return this;
    }

    /**
     * The host the workers dial to reach this JVM: an address or a name that resolves in the workers'
     * Pods (a Service's, say); default: the environment variable {@code POD_IP}, else the address the pool
     * finds for this machine.
     *
     * @param host a host name or address, without a port
     * @return this builder
     */
    public Builder parentHost(String host) {
      requireNonNull(host, "parentHost");
      try {
        Network.routable(host);
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException(
            "parentHost is \"" + host + "\", but must be a host name or address without a port", e);
      }
      this.parentHost = host.strip();
      return this;
    }

    /**
     * The Pod, in the launcher's namespace, that owns every worker Pod and Secret: when it is deleted,
     * Kubernetes deletes them. Default: this JVM's own Pod, named by the environment variable {@code
     * POD_NAME} (set it from the downward API, {@code fieldRef: metadata.name}), when it is set and that
     * Pod can be read; else none. A Pod named here that cannot be read fails each launch.
     *
     * @param podName the owner Pod's name
     * @return this builder
     */
    public Builder ownerPod(String podName) {
      this.ownerPod = dnsSubdomain(podName, "ownerPod");
      return this;
    }

    /**
     * A launcher with these options.
     *
     * @return the launcher
     * @throws IllegalStateException if no image was set, or a request is above its limit
     */
    public KubernetesLauncher build() {
      if (image == null) {
        throw new IllegalStateException(
            "image is not set, but is required: the container image with a JVM, procpool and the tasks' classes");
      }
      for (String r : List.of("cpu", "memory")) {
        Quantity request = requests.get(r);
        Quantity limit = limits.get(r);
        if (request != null && limit != null
            && request.getNumericalAmount().compareTo(limit.getNumericalAmount()) > 0) {
          throw new IllegalStateException(
              r + "Request is " + request + ", but must not be more than " + r + "Limit, " + limit);
        }
      }
      return client == null
          ? new KubernetesLauncher(this, new KubernetesClientBuilder().build(), true)
          : new KubernetesLauncher(this, client, false);
    }

    private static String nonBlank(String s, String what) {
      requireNonNull(s, what);
      if (s.isBlank()) {
        throw new IllegalArgumentException(what + " is blank");
      }
      return s.strip();
    }

    private static String dnsLabel(String s, String what) {
      requireNonNull(s, what);
      if (s.length() > MAX_NAME || !DNS_LABEL.matcher(s).matches()) {
        throw new IllegalArgumentException(
            what + " is \"" + s + "\", but must be at most 63 of [a-z0-9-], starting and ending with [a-z0-9]");
      }
      return s;
    }

    private static String dnsSubdomain(String s, String what) {
      requireNonNull(s, what);
      if (s.length() > 253 || !DNS_SUBDOMAIN.matcher(s).matches()) {
        throw new IllegalArgumentException(
            what + " is \"" + s + "\", but must be a Kubernetes name: at most 253 of [a-z0-9-.], "
                + "starting and ending with [a-z0-9]");
      }
      return s;
    }

    private static void checkLabel(String key, String value, String what) {
      requireNonNull(key, what + " key");
      requireNonNull(value, what + " value of " + key);
      int slash = key.indexOf('/');
      String prefix = slash < 0 ? null : key.substring(0, slash);
      String name = slash < 0 ? key : key.substring(slash + 1);
      boolean keyOk = name.length() <= MAX_NAME && LABEL_NAME.matcher(name).matches()
          && (prefix == null || (prefix.length() <= 253 && DNS_SUBDOMAIN.matcher(prefix).matches()));
      if (!keyOk) {
        throw new IllegalArgumentException(
            what + " has the key \"" + key + "\", but keys must be [prefix/]name, the name at most 63 of "
                + "[A-Za-z0-9-_.] starting and ending with [A-Za-z0-9], the prefix a DNS subdomain");
      }
      if (value.length() > MAX_NAME || !(value.isEmpty() || LABEL_NAME.matcher(value).matches())) {
        throw new IllegalArgumentException(
            what + " has \"" + key + "\" = \"" + value + "\", but values must be at most 63 of [A-Za-z0-9-_.], "
                + "starting and ending with [A-Za-z0-9]");
      }
    }

    private static Quantity quantity(String s, String what, String example) {
      requireNonNull(s, what);
      Quantity q;
      BigDecimal amount;
      try {
        q = Quantity.parse(s);
        amount = q.getNumericalAmount();
      } catch (IllegalArgumentException | ArithmeticException e) {
        throw new IllegalArgumentException(
            what + " is \"" + s + "\", but must be a Kubernetes quantity like " + example, e);
      }
      if (amount.signum() <= 0) {
        throw new IllegalArgumentException(what + " is \"" + s + "\", but must be more than 0");
      }
      return q;
    }
  }

  /**
   * The value of the {@value #POOL_LABEL} label on this launcher's Pods and Secrets: six random
   * characters, also part of their names. {@code kubectl get pods -l procpool.io/pool=<id>} lists them.
   *
   * @return this launcher's id
   */
  public String instanceId() {
    return instanceId;
  }

  /**
   * The namespace of this launcher's Pods and Secrets.
   *
   * @return the namespace
   */
  public String namespace() {
    return namespace;
  }

  /**
   * The name of the Pod, and of the Secret, that {@code spec} runs in: {@code procpool-<pool>-<launcher
   * id>-w<slot>-<start id>}, made a DNS-1123 label (lower case, {@code [a-z0-9-]}, at most 63 characters)
   * by dropping other characters and shortening the pool's name; a pool name that starts with {@code
   * procpool} is not prefixed again.
   *
   * @param spec the worker
   * @return the Pod's name
   */
  public String podName(WorkerSpec spec) {
    return pods.name(spec);
  }

  @Override
  public Network network() {
    return network;
  }

  /**
   * Creates the worker's Secret and Pod and returns once both exist, without waiting for the Pod to be
   * scheduled or to start. The first launch also starts the launcher's informer and looks up the owner
   * Pod.
   *
   * @param spec the worker to start
   * @return the worker's handle
   * @throws IOException if the launcher is closed, its informer cannot start, the owner Pod it was given
   *     cannot be read, or the API server refuses the Secret or the Pod: the message names which and says
   *     what the server said
   */
  @Override
  public WorkerHandle launch(WorkerSpec spec) throws IOException {
    requireNonNull(spec, "spec");
    // Proceed in 4 steps: the informer and owners; the Secret; the Pod; the Secret owned by the Pod.
    List<OwnerReference> parents = prepare();
    String name = podName(spec);
    PodWorker worker = new PodWorker(forWorkers, name);
    // Before the Pod exists, so that no event about it can come before its worker is known.
    workers.put(name, worker);
    try {
      client.secrets().inNamespace(namespace).resource(pods.secret(spec, name, parents)).create();
    } catch (KubernetesClientException e) {
      workers.remove(name, worker);
      throw new IOException("Cannot create Secret " + namespace + "/" + name + " for " + spec + ": " + reason(e), e);
    }
    Pod pod;
    try {
      pod = client.pods().inNamespace(namespace).resource(pods.pod(spec, name, parents)).create();
    } catch (KubernetesClientException e) {
      workers.remove(name, worker);
      deleteSecret(name);
      throw new IOException("Cannot create Pod " + namespace + "/" + name + " for " + spec + ": " + reason(e), e);
    }
    try {
      OwnerReference byPod = WorkerPods.ownerReference(pod);
      client.secrets().inNamespace(namespace).withName(name).edit(s -> new SecretBuilder(s)
          .editMetadata().addToOwnerReferences(byPod).endMetadata().build());
    } catch (KubernetesClientException e) {
      // Not fatal: the launcher deletes the Secret itself when the Pod ends, is killed, or at close().
      LOG.log(System.Logger.Level.WARNING,
          "Cannot make Pod {0}/{1} the owner of its Secret ({2}); it is deleted when the Pod ends",
          namespace, name, reason(e));
    }
    if (closed) {
      // close() ran while this Pod was being made, and may have missed it.
      worker.kill();
      throw new IOException("KubernetesLauncher " + instanceId + " was closed while launching " + spec);
    }
    return worker;
  }

  /** Starts the informer and looks up the owner Pod, the first time; returns the owner references. */
  private synchronized List<OwnerReference> prepare() throws IOException {
    if (closed) {
      throw new IOException("KubernetesLauncher " + instanceId + " is closed");
    }
    if (owners == null) {
      owners = lookUpOwner();
    }
    if (informer == null) {
      informer = startInformer();
    }
    return owners;
  }

  @GuardedBy("this")
  private List<OwnerReference> lookUpOwner() throws IOException {
    if (ownerPod == null) {
      return List.of();
    }
    Pod owner;
    try {
      owner = client.pods().inNamespace(namespace).withName(ownerPod).get();
    } catch (KubernetesClientException e) {
      if (ownerPodExplicit) {
        throw new IOException("Cannot read ownerPod " + namespace + "/" + ownerPod + ": " + reason(e), e);
      }
      LOG.log(System.Logger.Level.WARNING,
          "Cannot read this JVM''s Pod {0}/{1} (POD_NAME) to make it the owner of the workers'' Pods: {2}",
          namespace, ownerPod, reason(e));
      return List.of();
    }
    if (owner == null || owner.getMetadata().getUid() == null) {
      if (ownerPodExplicit) {
        throw new IOException("ownerPod " + ownerPod + " is not a Pod in namespace " + namespace);
      }
      LOG.log(System.Logger.Level.WARNING,
          "This JVM''s Pod {0} (POD_NAME) is not in namespace {1}: the workers'' Pods have no owner",
          ownerPod, namespace);
      return List.of();
    }
    return List.of(WorkerPods.ownerReference(owner));
  }

  @GuardedBy("this")
  private SharedIndexInformer<Pod> startInformer() throws IOException {
    SharedIndexInformer<Pod> inf = client.pods().inNamespace(namespace).withLabel(POOL_LABEL, instanceId)
        .runnableInformer(0);
    // fabric8's default gives up on a watch that closes with an error (other than 410 Gone, after which
    // it re-lists): a launcher whose informer stopped would never learn of another exit. Once started,
    // retry forever (with its back-off); before, fail the launch, which the pool retries.
    inf.exceptionHandler((started, t) -> started && !closed);
    inf.addEventHandler(new ResourceEventHandler<Pod>() {
      @Override
      public void onAdd(Pod pod) {
        PodWorker w = workers.get(pod.getMetadata().getName());
        if (w != null) {
          w.observed(pod);
        }
      }

      @Override
      public void onUpdate(Pod oldPod, Pod pod) {
        onAdd(pod);
      }

      @Override
      public void onDelete(Pod pod, boolean deletedFinalStateUnknown) {
        PodWorker w = workers.get(pod.getMetadata().getName());
        if (w != null) {
          w.deleted(pod);
        }
      }
    });
    try {
      inf.start().toCompletableFuture().get(INFORMER_START_SECONDS, TimeUnit.SECONDS);
      return inf;
    } catch (ExecutionException | TimeoutException e) {
      inf.stop();
      Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
      String why = cause instanceof KubernetesClientException k ? reason(k) : String.valueOf(cause);
      throw new IOException("Cannot watch the Pods of KubernetesLauncher " + instanceId + " in namespace "
          + namespace + ": " + why, cause);
    } catch (InterruptedException e) {
      inf.stop();
      Thread.currentThread().interrupt();
      throw new IOException("Interrupted while starting to watch the Pods of KubernetesLauncher " + instanceId, e);
    }
  }

  /** What the API server said: its status message and code, else the exception's message. */
  private static String reason(KubernetesClientException e) {
    Status s = e.getStatus();
    if (s != null && s.getMessage() != null) {
      return s.getMessage() + " (HTTP " + e.getCode() + (s.getReason() == null ? "" : ", " + s.getReason()) + ")";
    }
    return e.getCode() > 0 ? e.getMessage() + " (HTTP " + e.getCode() + ")" : String.valueOf(e.getMessage());
  }

  private void deletePod(String name) {
    try {
      client.pods().inNamespace(namespace).withName(name).withGracePeriod(0).delete();
    } catch (KubernetesClientException e) {
      LOG.log(System.Logger.Level.WARNING, "Cannot delete Pod {0}/{1}: {2}", namespace, name, reason(e));
      throw e;
    }
  }

  private void deleteSecret(String name) {
    try {
      client.secrets().inNamespace(namespace).withName(name).delete();
    } catch (KubernetesClientException e) {
      LOG.log(System.Logger.Level.WARNING, "Cannot delete Secret {0}/{1}: {2}", namespace, name, reason(e));
    }
  }

  /**
   * Deletes every Pod and Secret of this launcher that is left, and stops its informer; workers whose
   * end it has not seen complete their {@link WorkerHandle#onExit()} with 137. Closes the client if the
   * launcher made it. Problems are logged, not thrown.
   */
  @Override
  public void close() {
    SharedIndexInformer<Pod> inf;
    synchronized (this) {
      if (closed) {
        return;
      }
      closed = true;
      inf = informer;
      informer = null;
    }
    try {
      client.pods().inNamespace(namespace).withLabel(POOL_LABEL, instanceId).withGracePeriod(0).delete();
    } catch (KubernetesClientException e) {
      LOG.log(System.Logger.Level.WARNING, "Cannot delete the Pods of KubernetesLauncher {0} in {1}: {2}",
          instanceId, namespace, reason(e));
    }
    try {
      client.secrets().inNamespace(namespace).withLabel(POOL_LABEL, instanceId).delete();
    } catch (KubernetesClientException e) {
      LOG.log(System.Logger.Level.WARNING, "Cannot delete the Secrets of KubernetesLauncher {0} in {1}: {2}",
          instanceId, namespace, reason(e));
    }
    if (inf != null) {
      inf.stop();
    }
    for (PodWorker w : workers.values()) {
      w.finish(PodExits.deletedExitCode(w.last), false);
    }
    if (ownsClient) {
      client.close();
    }
  }

  /** What a {@link PodWorker} asks of its launcher. */
  private final class ForWorkers implements PodWorker.Pods {
    @Override
    public String namespace() {
      return namespace;
    }

    @Override
    public boolean closed() {
      return closed;
    }

    @Override
    public void ended(String name, PodWorker worker) {
      workers.remove(name, worker);
    }

    @Override
    public void deletePod(String name) {
      KubernetesLauncher.this.deletePod(name);
    }

    @Override
    public void deleteSecret(String name) {
      KubernetesLauncher.this.deleteSecret(name);
    }
  }

  @Override
  public String toString() {
    return "KubernetesLauncher[" + instanceId + ", namespace=" + namespace + ", image=" + image + ", workers="
        + workers.size() + (closed ? ", closed" : "") + "]";
  }
}
