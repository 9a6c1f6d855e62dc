package io.procpool.internal.dispatch;

import com.google.protobuf.ByteString;
import io.procpool.internal.codec.SerialFilters;
import io.procpool.internal.codec.SharedArena;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.supervisor.ClassDataSharing;
import io.procpool.internal.supervisor.InProcessLauncher;
import io.procpool.internal.supervisor.JvmCommand;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.supervisor.PoolDirectory;
import io.procpool.internal.transport.AdvertisedHost;
import io.procpool.internal.transport.PoolServer;
import io.procpool.internal.transport.Tls;
import io.procpool.internal.transport.WorkerSecrets;
import io.procpool.internal.transport.WorkerService;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.spi.Network;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * What one pool holds from the operating system and the JVM, made in one place and released in one
 * place: its private directory, its secret, its codec, its launcher, its timer and executor threads and
 * its gRPC server.
 */
final class PoolResources {
  /** The pool's private directory (0700): status files, blobs, capture files, the Unix socket. */
  final PoolDirectory directory;
  final Path dir;
  final ByteString secret;
  /** Each worker's own secret, which its Hello must carry. */
  final WorkerSecrets workerSecrets = WorkerSecrets.random();
  /**
   * Where the launcher's workers run. Routable: the server listens on every interface, inside TLS, and
   * workers get no status file, arenas or blob directory of this machine's.
   */
  final Network network;
  final ValueCodec codec;
  final WorkerLauncher launcher;
  final boolean capture;
  /** The watchdog, grace periods and the hello deadline. Runs no user code. */
  final ScheduledExecutorService timer;
  /**
   * Launches workers, decodes results and completes futures. Threads are made as needed and die after
   * 10 s idle: a listener that blocks (or calls {@code close()}) holds one thread, and every other
   * completion goes on on others. A fixed number of threads would let that many blocking listeners
   * stall every future of the pool.
   */
  final ExecutorService executor;

  /** Where large task inputs travel (see {@link SharedArena}); null if the machine has no shared memory. */
  final SharedArena inputArena;
  /** The directory in shared memory that holds the arenas (0700, swept like the pool's directory). */
  final PoolDirectory arenaDirectory;

  volatile PoolServer server;

  /** How a worker JVM is run on this machine; what {@link #spec} offers every launcher. */
  private final JvmCommand command;
  /** {@link #command} as a command line, made once (it writes the class path's argfile). */
  private List<String> commandLine;

  /** The input arena's size: its pages are touched only as far as inputs in flight at once reach. */
  static final int INPUT_ARENA_BYTES = 512 << 20;
  /** An arena with no live slot for this long gives its memory back (see {@link SharedArena#trimIfIdle}). */
  static final long ARENA_IDLE_NANOS = TimeUnit.SECONDS.toNanos(2);
  /** Each worker's output arena's size. */
  static final int OUTPUT_ARENA_BYTES = 256 << 20;
  /**
   * Where the arenas go: {@code /dev/shm} by default; a directory, or {@code off} for none (large arrays
   * then travel as files in the pool's directory).
   */
  static final String SHARED_MEMORY_PROPERTY = "procpool.sharedMemory";

  private PoolResources(
      PoolDirectory directory, ByteString secret, Network network, ValueCodec codec, WorkerLauncher launcher,
      boolean capture,
      ScheduledExecutorService timer, ExecutorService executor, PoolDirectory arenaDirectory,
      SharedArena inputArena, JvmCommand command) {
    this.directory = directory;
    this.command = command;
    this.arenaDirectory = arenaDirectory;
    this.inputArena = inputArena;
    this.dir = directory.path();
    this.secret = secret;
    this.network = network;
    this.codec = codec;
    this.launcher = launcher;
    this.capture = capture;
    this.timer = timer;
    this.executor = executor;
  }

  static PoolResources create(PoolConfig config, String name) {
    byte[] s = new byte[32];
    new SecureRandom().nextBytes(s);
    PoolDirectory directory;
    try {
      directory = PoolDirectory.create("procpool-");
    } catch (IOException e) {
      throw new UncheckedIOException("Cannot create the pool's private directory: " + e.getMessage(), e);
    }
    Path dir = directory.path();
    PoolDirectory arenaDirectory = null;
    SharedArena inputArena = null;
    try {
      Network network = network(config.launcher());
      Path shm = network.isRoutable() ? null : sharedMemory();
      if (shm != null) {
        try {
          arenaDirectory = PoolDirectory.create(shm, "procpool-");
          inputArena = SharedArena.create(arenaDirectory.path().resolve("in"), INPUT_ARENA_BYTES, true);
        } catch (IOException | RuntimeException e) {
          // Large arrays go as files instead: slower, not wrong.
          System.getLogger("io.procpool.Pool").log(System.Logger.Level.DEBUG,
              "{0}: no shared-memory arena in {1}: {2}", name, shm, e);
          if (arenaDirectory != null) {
            arenaDirectory.delete();
            arenaDirectory = null;
          }
        }
      }
      ValueCodec codec =
          new ValueCodec(SerialFilters.filter(SerialFilters.pattern(config.serialFilter())),
              network.isRoutable() ? null : dir, inputArena, null);
      JvmCommand command;
      WorkerLauncher launcher;
      if (config.launcher() != null) {
        // Another launcher may run the command elsewhere, where this machine's archive does not exist.
        command = config.command();
        launcher = config.launcher();
      } else {
        command = ClassDataSharing.apply(config.command(), dir, name);
        launcher = new JvmLauncher(command, dir, config.output(), config.name());
      }
      boolean capture = Capture.enabled(config.output(), launcher instanceof InProcessLauncher);
      ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, name + "-timer"));
      if (inputArena != null) {
        SharedArena arena = inputArena;
        var unused = timer.scheduleWithFixedDelay(
            () -> arena.trimIfIdle(System.nanoTime(), ARENA_IDLE_NANOS), 1, 1, TimeUnit.SECONDS);
      }
      AtomicInteger n = new AtomicInteger();
      ThreadPoolExecutor executor =
          new ThreadPoolExecutor(0, Integer.MAX_VALUE, 10, TimeUnit.SECONDS, new SynchronousQueue<>(),
              r -> daemon(r, name + "-exec-" + n.incrementAndGet()));
      return new PoolResources(directory, ByteString.copyFrom(s), network, codec, launcher, capture, timer, executor,
          arenaDirectory, inputArena, command);
    } catch (RuntimeException e) {
      if (inputArena != null) {
        inputArena.close();
      }
      if (arenaDirectory != null) {
        arenaDirectory.delete();
      }
      directory.delete();
      throw e;
    }
  }

  /** Where {@code launcher}'s workers run; asked once. */
  private static Network network(WorkerLauncher launcher) {
    if (launcher == null) {
      return Network.thisMachine();
    }
    Network n = launcher.network();
    if (n == null) {
      throw new NullPointerException(launcher.getClass().getName() + ".network() returned null; expected a Network");
    }
    return n;
  }

  /** The directory the arenas go in, or null for none (see {@link #SHARED_MEMORY_PROPERTY}). */
  static Path sharedMemory() {
    String p = System.getProperty(SHARED_MEMORY_PROPERTY, "/dev/shm");
    if (p.isBlank() || p.equalsIgnoreCase("off") || p.equalsIgnoreCase("false")) {
      return null;
    }
    Path dir = Path.of(p);
    return Files.isDirectory(dir) && Files.isWritable(dir) ? dir : null;
  }

  /** What the launcher is given to start the worker {@code bootstrap} is for. */
  WorkerSpec spec(Bootstrap bootstrap) throws IOException {
    List<String> line;
    synchronized (this) {
      if (commandLine == null) {
        commandLine = command == null ? List.of() : command.toCommand(dir, JvmLauncher.MAIN_CLASS);
      }
      line = commandLine;
    }
    Bootstrap own =
        bootstrap.toBuilder()
            .setWorkerSecret(ByteString.copyFrom(workerSecrets.of(bootstrap.getWorkerId(), bootstrap.getWorkerIndex())))
            .build();
    return new WorkerSpec(bootstrap.getWorkerIndex(), bootstrap.getWorkerId(), bootstrap.getPoolName(),
        delimited(own), bootstrap.getTarget(), line,
        command == null ? Map.of() : command.environment(), command == null ? null : command.workingDirectory(),
        command == null ? List.of() : command.jvmOptions());
  }

  /** {@code bootstrap} as a worker reads it: length-delimited. */
  static byte[] delimited(Bootstrap bootstrap) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(bootstrap.getSerializedSize() + 8);
    try {
      bootstrap.writeDelimitedTo(out);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  private static Thread daemon(Runnable r, String name) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }

  PoolServer startServer(WorkerService service, boolean inProcess, String name) throws IOException {
    if (inProcess) {
      server = PoolServer.startInProcess(service, dir.getFileName().toString());
    } else if (network.isRoutable()) {
      try {
        tls = Tls.selfSigned(name, Duration.ofDays(30));
      } catch (GeneralSecurityException e) {
        throw new IOException("Cannot make the pool's TLS certificate: " + e.getMessage(), e);
      }
      server = PoolServer.startRoutable(service, tls, AdvertisedHost.of(network));
    } else {
      server = PoolServer.startLocal(service, dir);
    }
    return server;
  }

  /** The pool's TLS identity once a routable server has started; null otherwise. */
  volatile Tls tls;

  /** Releases everything; the executor finishes the jobs it has (this may be one of them). */
  void close() {
    launcher.close();
    PoolServer s = server;
    if (s != null) {
      s.close();
    }
    timer.shutdownNow();
    executor.shutdown();
    if (inputArena != null) {
      inputArena.close();
    }
    if (arenaDirectory != null) {
      arenaDirectory.delete();
    }
    directory.delete();
  }
}
