package io.procpool.internal.worker;

import io.grpc.ManagedChannel;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.internal.supervisor.JvmLauncher;
import io.procpool.internal.transport.PoolServer;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.Heartbeat;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Entry point of a pool worker JVM. Reads its {@link Bootstrap} from stdin, connects to the parent and
 * runs a {@link WorkerRuntime} until told to shut down or until the parent goes away.
 */
public final class WorkerMain {
  /** An output arena with no live slot for this long gives its memory back. */
  static final long ARENA_IDLE_NANOS = TimeUnit.SECONDS.toNanos(2);

  private WorkerMain() {}

  public static void main(String[] args) {
    InputStream stdin = System.in;
    BootstrapSource.Read read = BootstrapSource.read(System.getenv(), stdin);
    if (read.problem() != null) {
      System.err.println("procpool worker: " + read.problem());
      System.exit(WorkerRuntime.EXIT_BAD_BOOTSTRAP);
      return;
    }
    final Bootstrap bootstrap = read.bootstrap();
    if (bootstrap == null && Boolean.getBoolean(JvmLauncher.STARTED_BY_POOL)) {
      // A JVM a pool started ahead of time, whose pool closed, or died, before needing it.
      System.exit(WorkerRuntime.EXIT_PARENT_GONE);
      return;
    }
    if (bootstrap == null) {
      System.err.println(
          "procpool worker: no bootstrap on stdin (nor in " + BootstrapSource.FILE_VARIABLE + " or "
              + BootstrapSource.VALUE_VARIABLE + "); this class is started by io.procpool.Pool, not by hand");
      System.exit(WorkerRuntime.EXIT_BAD_BOOTSTRAP);
      return;
    }
    // Tasks that read System.in see an empty stream, as under multiprocessing.
    System.setIn(new ByteArrayInputStream(new byte[0]));
    if (read.fromStdin()) {
      // Our parent feeds our stdin: its end (and our parent process's end) means the parent is gone.
      // A worker bootstrapped otherwise may not be our parent's child at all: its stream tells.
      ParentWatch.start(stdin, WorkerRuntime.EXIT_PARENT_GONE);
    }
    ParentWatch.killDescendantsOnExit();
    if (bootstrap.getProtocolVersion() != WorkerRuntime.PROTOCOL_VERSION) {
      System.err.println(
          "procpool worker: parent speaks protocol version " + bootstrap.getProtocolVersion()
              + ", but this worker speaks " + WorkerRuntime.PROTOCOL_VERSION);
      System.exit(WorkerRuntime.EXIT_REFUSED);
      return;
    }
    StatusFile status = null;
    try {
      if (!bootstrap.getReportBegun()) {
        status = StatusFile.open(Path.of(bootstrap.getStatusFile()));
      }
    } catch (IOException e) {
      System.err.println("procpool worker: cannot open status file " + bootstrap.getStatusFile() + ": " + e);
      System.exit(WorkerRuntime.EXIT_BAD_BOOTSTRAP);
      return;
    }
    ValueCodec codec;
    try {
      codec = WorkerRuntime.codec(bootstrap);
    } catch (IOException | RuntimeException e) {
      System.err.println("procpool worker: cannot map the pool's arenas " + bootstrap.getInputArena() + ", "
          + bootstrap.getOutputArena() + ": " + e);
      System.exit(WorkerRuntime.EXIT_BAD_BOOTSTRAP);
      return;
    }
    ManagedChannel channel;
    try {
      channel = channel(bootstrap);
    } catch (IOException e) {
      System.err.println("procpool worker: cannot set up TLS to " + bootstrap.getTarget() + ": " + e);
      System.exit(WorkerRuntime.EXIT_BAD_BOOTSTRAP);
      return;
    }
    WorkerRuntime runtime =
        new WorkerRuntime(
            bootstrap,
            channel,
            status,
            codec,
            () -> ProcessHandle.current().pid(),
            new RemoteClassLoader(taskLoader()),
            new WorkerRuntime.Exit() {
              @Override
              public void leaving() {
                ParentWatch.expectEndOfFile();
              }

              @Override
              public void exit(int code) {
                // The JVM's exit waits ~300 ms for threads blocked in native code: end ours first, the
                // stdin watch (our parent closes the pipe once our stream has ended) and the event loop.
                ParentWatch.awaitEndOfFile(500);
                channel.shutdownNow();
                PoolServer.stopClientEventLoop(200);
                System.exit(code);
              }
            });
    // A task that calls System.exit: send what is already computed before the JVM goes.
    Runtime.getRuntime().addShutdownHook(new Thread(() -> runtime.drainAndClose(1_000), bootstrap.getPoolName() + "-w" + bootstrap.getWorkerIndex() + "-exit"));
    runtime.start();
    ScheduledExecutorService heartbeats =
        Executors.newSingleThreadScheduledExecutor(
            r -> {
              Thread t = new Thread(r, bootstrap.getPoolName() + "-w" + bootstrap.getWorkerIndex() + "-heartbeat");
              t.setDaemon(true);
              return t;
            });
    long period = Math.max(50, bootstrap.getHeartbeatMillis());
    var unused = heartbeats.scheduleAtFixedRate(
        () -> runtime.heartbeat(figures()), period, period, TimeUnit.MILLISECONDS);
    var alsoUnused = heartbeats.scheduleAtFixedRate(
        () -> codec.trimIdleArena(System.nanoTime(), ARENA_IDLE_NANOS), 1, 1, TimeUnit.SECONDS);
  }

  /**
   * The loader task classes are resolved through: this thread's context loader as {@code main} starts.
   * It is the system loader when the worker runs from a class path, and Spring Boot's {@code
   * LaunchedClassLoader} (over {@code BOOT-INF/classes} and the nested jars) when Boot's {@code
   * PropertiesLauncher} started this main.
   */
  static ClassLoader taskLoader() {
    ClassLoader context = Thread.currentThread().getContextClassLoader();
    return context != null ? context : ClassLoader.getSystemClassLoader();
  }

  /**
   * The channel to the parent: plaintext on a Unix socket or loopback, TLS pinned to the pool's certificate
   * to a routable parent; either way after a handshake that sends the pool's secret (the stream is then authenticated again by its Hello), callbacks on the transport
   * thread (the runtime only queues work there), no message size limit (large values are the pool's
   * business), and an 8 MiB flow-control window for bulk results.
   */
  public static ManagedChannel channel(Bootstrap bootstrap) throws IOException {
    return PoolServer.channelBuilder(
            bootstrap.getTarget(), bootstrap.getSecret().toByteArray(),
            bootstrap.getTlsCertificateSha256().toByteArray())
        .directExecutor()
        .maxInboundMessageSize(Integer.MAX_VALUE)
        .flowControlWindow(8 << 20)
        .build();
  }

  /** Resource figures for a heartbeat: heap in use, resident set size, total GC time. */
  static Heartbeat.Builder figures() {
    Runtime rt = Runtime.getRuntime();
    long gcMillis = 0;
    List<GarbageCollectorMXBean> gcs = ManagementFactory.getGarbageCollectorMXBeans();
    for (GarbageCollectorMXBean gc : gcs) {
      gcMillis += Math.max(0, gc.getCollectionTime());
    }
    return Heartbeat.newBuilder()
        .setHeapUsedBytes(rt.totalMemory() - rt.freeMemory())
        .setRssBytes(rssBytes())
        .setGcMillis(gcMillis);
  }

  /** Resident set size from /proc/self/statm (Linux), or -1 where that does not exist. */
  public static long rssBytes() {
    try {
      String[] fields = Files.readString(Path.of("/proc/self/statm")).trim().split("\\s+", -1);
      return Long.parseLong(fields[1]) * 4096L;
    } catch (IOException | RuntimeException e) {
      return -1;
    }
  }
}
