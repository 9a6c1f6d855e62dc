package io.procpool.bench.jmh;

import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import io.procpool.Task;
import io.procpool.internal.dispatch.PoolConfig;
import io.procpool.internal.dispatch.PoolCore;
import io.procpool.internal.worker.InJvmWorker;
import io.procpool.internal.worker.WorkerMain;
import io.procpool.proto.v1.Bootstrap;
import io.procpool.spi.WorkerHandle;
import io.procpool.spi.WorkerLauncher;
import io.procpool.spi.WorkerSpec;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The dispatch path without processes: a pool core whose one worker runs on threads of this JVM, over
 * the pool's real transport (its Unix socket on Linux) and the real codec, dispatcher, batching and
 * completion. What a task costs the machinery when no JVM boundary and no second CPU-bound JVM are in
 * the way: a round trip, and the per-task cost of a burst of 1,000 submits.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class DispatchBenchmark {
  private static final Task<Integer, Integer> IDENTITY = DispatchBenchmark::identity;

  private PoolCore core;

  static Integer identity(Integer x) {
    return x;
  }

  /** Runs the worker on threads of this JVM, connected over the pool's server. */
  static final class InJvmLauncher implements WorkerLauncher {
    @Override
    public WorkerHandle launch(WorkerSpec spec) throws IOException {
      Bootstrap bootstrap = InJvmWorker.bootstrapOf(spec);
      return InJvmWorker.start(bootstrap, WorkerMain.channel(bootstrap), ClassLoader.getSystemClassLoader());
    }
  }

  @Setup
  public void setUp() throws Exception {
    PoolConfig config =
        new PoolConfig(
            "jmh", 1, null, null, 0, null, 0, null, Duration.ofSeconds(60), Duration.ofMillis(500),
            Duration.ofSeconds(30), Duration.ofSeconds(2), "", new InJvmLauncher(), null);
    core = new PoolCore(config);
    core.start();
    core.<Object>enqueue(IDENTITY, List.of(0), true).get(60, TimeUnit.SECONDS);
  }

  @TearDown
  public void tearDown() {
    core.shutdownNow();
  }

  @Benchmark
  public Object roundTrip() throws Exception {
    return core.<Object>enqueue(IDENTITY, List.of(1), true).get();
  }

  @Benchmark
  @OperationsPerInvocation(1_000)
  public Object burstOf1000Submits() throws Exception {
    List<ListenableFuture<Object>> futures = new ArrayList<>(1_000);
    for (int i = 0; i < 1_000; i++) {
      futures.add(core.<Object>enqueue(IDENTITY, List.of(i), true));
    }
    return Futures.allAsList(futures).get();
  }

  @Benchmark
  @OperationsPerInvocation(10_000)
  public Object mapOf10000Items() throws Exception {
    List<Integer> items = new ArrayList<>(10_000);
    for (int i = 0; i < 10_000; i++) {
      items.add(i);
    }
    return core.<Object>enqueue(IDENTITY, items, false).get();
  }
}
