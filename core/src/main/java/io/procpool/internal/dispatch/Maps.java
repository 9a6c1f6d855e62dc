package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.AbstractFuture;
import com.google.common.util.concurrent.Futures;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.common.util.concurrent.UncheckedExecutionException;
import com.google.common.util.concurrent.Uninterruptibles;
import com.google.errorprone.annotations.concurrent.GuardedBy;
import io.procpool.ProgressListener;
import io.procpool.Task;
import io.procpool.internal.codec.Payload;
import io.procpool.internal.codec.TaskEncoder;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.proto.v1.Packed;
import io.procpool.proto.v1.Value;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Iterator;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.Spliterator;
import java.util.Spliterators;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

/**
 * map, mapAsync, imap and imapUnordered on top of single tasks: inputs are grouped into chunks (one task
 * each), created lazily as earlier chunks finish, and the outputs are put back together in input order or
 * completion order.
 *
 * <p>Chunk size adapts, as joblib's batches do, to a target run time of {@link #TARGET_CHUNK_NANOS} per
 * chunk, going by the pool's measured run time per input: a trivial function gets chunks of thousands of
 * inputs (so per-message costs vanish), a 50 ms function gets one input per chunk (so the load balances,
 * progress is fine-grained, and a worker death loses little work). Before any measurement a chunk holds
 * one input. A map of known length also caps chunks, like multiprocessing's {@code Pool.map}, at about a
 * quarter of each worker's share, so the last chunks still balance. With a task timeout every chunk holds
 * one input, since the timeout is per task.
 *
 * <p>Read-ahead is bounded: at most {@code 4 x workers} chunks are outstanding per call, so an infinite
 * input works and memory stays bounded.
 */
public final class Maps {
  static final int MAX_CHUNK = 50_000;
  static final long MAX_CHUNK_BYTES = 4L << 20;
  static final long TARGET_CHUNK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

  private Maps() {}

  /** Cuts inputs into adaptively sized chunks and queues them as tasks. Not thread-safe. */
  static final class Feeder<I> {
    private final PoolCore core;
    private final TaskEncoder.Function fn;
    private final Iterator<? extends I> source;
    // A LinkedList, not an ArrayDeque: inputs may be null.
    @SuppressWarnings("JdkObsolete")
    private final java.util.LinkedList<Object> carry = new java.util.LinkedList<>();
    private final long cap;
    final int maxOutstanding;
    private long fed;

    Feeder(PoolCore core, TaskEncoder.Function fn, Iterator<? extends I> source, int knownSize) {
      this.core = core;
      this.fn = fn;
      this.source = source;
      long c = knownSize > 0 ? (knownSize + core.workerCount() * 4L - 1) / (core.workerCount() * 4L) : MAX_CHUNK;
      if (core.maxTasksPerWorker() > 0) {
        c = Math.min(c, core.maxTasksPerWorker());
      }
      this.cap = Math.max(1, Math.min(MAX_CHUNK, c));
      this.maxOutstanding = core.workerCount() * 4;
    }

    boolean hasMore() {
      return !carry.isEmpty() || source.hasNext();
    }

    /** Inputs queued so far. */
    long fed() {
      return fed;
    }

    int chunkSize() {
      if (core.taskTimeout() != null) {
        return 1;
      }
      long perItem = core.recentItemNanos();
      if (perItem < 0) {
        return 1;
      }
      return (int) Math.max(1, Math.min(cap, TARGET_CHUNK_NANOS / Math.max(1, perItem)));
    }

    /**
     * Encodes and queues the next chunk; the caller checked {@link #hasMore()}. A chunk of small scalars
     * (Long, Integer, Double, String) travels packed; anything else value by value, up to {@link
     * #MAX_CHUNK_BYTES}, the inputs left over waiting for the next chunk.
     */
    TaskFuture<List<Object>> next() {
      int n = chunkSize();
      List<Object> raw = new ArrayList<>(Math.min(n, 1024));
      while (raw.size() < n && hasMore()) {
        raw.add(carry.isEmpty() ? source.next() : carry.poll());
      }
      Packed packed = ValueCodec.pack(raw);
      if (packed != null && packed.getSerializedSize() <= MAX_CHUNK_BYTES) {
        fed += raw.size();
        return core.enqueue(fn, new Payload.PackedScalars(packed), false, true);
      }
      List<Value> chunk = new ArrayList<>(raw.size());
      long bytes = 0;
      for (int i = 0; i < raw.size(); i++) {
        if (!chunk.isEmpty() && bytes >= MAX_CHUNK_BYTES) {
          for (int j = raw.size() - 1; j >= i; j--) {
            carry.addFirst(raw.get(j));
          }
          break;
        }
        Value v;
        try {
          v = core.encoder().input(fn, raw.get(i));
        } catch (RuntimeException e) {
          // The chunk's earlier inputs may hold arena slots or blob files.
          core.discardInputs(chunk);
          throw e;
        }
        chunk.add(v);
        bytes += v.getSerializedSize();
      }
      fed += chunk.size();
      return core.enqueue(fn, new Payload.Separate(chunk), false, true);
    }
  }

  /**
   * Ordered map; the returned future fails with the first chunk failure (and cancels the rest), and
   * cancelling it cancels every chunk. An orderly shutdown waits for the whole map. Reports to {@code
   * listener} (may be null) as chunks complete.
   */
  public static <I, O> ListenableFuture<List<O>> mapAsync(
      PoolCore core, Task<I, O> fn, List<I> inputs, ProgressListener listener) {
    TaskEncoder.Function f = core.encoder().function(fn, "task");
    ProgressTracker progress = ProgressTracker.create(listener, inputs.size(), core.name());
    MapFuture<I, O> result =
        new MapFuture<>(new Feeder<I>(core, f, inputs.iterator(), inputs.size()), core, progress);
    core.openMap();
    if (progress != null) {
      progress.start();
    }
    result.fill();
    return progress == null ? result : progress.finishingWith(result);
  }

  /** Collects chunk outputs in order, creating chunks as earlier ones finish. */
  static final class MapFuture<I, O> extends AbstractFuture<List<O>> {
    private final Feeder<I> feeder;
    private final PoolCore core;
    private final ProgressTracker progress;

    @GuardedBy("this")
    private final List<TaskFuture<List<Object>>> chunks = new ArrayList<>();

    @GuardedBy("this")
    private final List<Object[]> parts = new ArrayList<>();

    @GuardedBy("this")
    private int outstanding;

    @GuardedBy("this")
    private boolean closed;

    MapFuture(Feeder<I> feeder, PoolCore core, ProgressTracker progress) {
      this.feeder = feeder;
      this.core = core;
      this.progress = progress;
    }

    /** Queues chunks up to the read-ahead bound; completes the map when everything has come back. */
    void fill() {
      boolean finish = false;
      boolean close = false;
      synchronized (this) {
        try {
          while (!closed && outstanding < feeder.maxOutstanding && feeder.hasMore() && !isDone()) {
            TaskFuture<List<Object>> f = feeder.next();
            int index = chunks.size();
            chunks.add(f);
            parts.add(null);
            outstanding++;
            if (progress != null) {
              progress.watch(f); // Before onChunkDone, so the chunk is counted before the map completes.
            }
            f.addListener(() -> onChunkDone(index, f), MoreExecutors.directExecutor());
          }
        } catch (RuntimeException e) {
          // An input that cannot be encoded (or a pool that stopped): the map fails as a whole.
          closed = true;
          close = true;
          if (setException(e)) {
            cancelChunks();
          }
        }
        if (!closed && (!feeder.hasMore() || isDone())) {
          closed = true;
          close = true;
        }
        finish = closed && outstanding == 0 && !isDone();
      }
      if (close) {
        core.closeMap();
      }
      if (finish) {
        finish();
      }
    }

    private void onChunkDone(int index, TaskFuture<List<Object>> f) {
      List<Object> out;
      try {
        out = Futures.getDone(f);
      } catch (ExecutionException e) {
        if (setException(e.getCause())) {
          cancelChunks();
        }
        closeOnce();
        return;
      } catch (CancellationException e) {
        if (!isDone()) {
          setException(new CancellationException("a task of this map was cancelled"));
          cancelChunks();
        }
        closeOnce();
        return;
      }
      synchronized (this) {
        parts.set(index, out.toArray());
        outstanding--;
      }
      fill();
    }

    private void closeOnce() {
      boolean close;
      synchronized (this) {
        close = !closed;
        closed = true;
      }
      if (close) {
        core.closeMap();
      }
    }

    @SuppressWarnings("unchecked")
    private void finish() {
      List<O> all;
      synchronized (this) {
        int total = 0;
        for (Object[] p : parts) {
          total += p.length;
        }
        all = new ArrayList<>(total);
        for (Object[] p : parts) {
          for (Object o : p) {
            all.add((O) o);
          }
        }
      }
      set(all);
    }

    private void cancelChunks() {
      List<TaskFuture<List<Object>>> copy;
      synchronized (this) {
        copy = new ArrayList<>(chunks);
      }
      for (TaskFuture<List<Object>> c : copy) {
        c.cancel(true);
      }
    }

    @Override
    protected void afterDone() {
      if (isCancelled()) {
        cancelChunks();
        closeOnce();
      }
    }
  }

  /**
   * Lazy map: pulls from {@code inputs} only as results are consumed, with bounded read-ahead. Reports
   * to {@code listener} (may be null) as chunks complete.
   */
  public static <I, O> Stream<O> imap(
      PoolCore core, Task<I, O> fn, Iterable<I> inputs, boolean ordered, ProgressListener listener) {
    TaskEncoder.Function f = core.encoder().function(fn, "task");
    long total = inputs instanceof Collection<?> c ? c.size() : -1;
    ProgressTracker progress = ProgressTracker.create(listener, total, core.name());
    LazyIterator<I, O> it =
        new LazyIterator<>(new Feeder<I>(core, f, inputs.iterator(), -1), ordered, progress);
    if (progress != null) {
      progress.start();
    }
    int characteristics = ordered ? Spliterator.ORDERED : 0;
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, characteristics), false)
        .onClose(it::close);
  }

  /** The iterator behind imap streams; used by one consuming thread at a time, as streams are. */
  static final class LazyIterator<I, O> implements Iterator<O> {
    private final Feeder<I> feeder;
    private final boolean ordered;
    private final ProgressTracker progress;
    // Ordered: chunks in input order. Unordered: chunks not yet taken (for close()).
    private final ArrayDeque<TaskFuture<List<Object>>> outstanding = new ArrayDeque<>();
    private final LinkedBlockingQueue<TaskFuture<List<Object>>> completed = new LinkedBlockingQueue<>();
    private Iterator<Object> current = Collections.emptyIterator();
    private boolean finished;
    private UncheckedExecutionException pendingFailure;

    LazyIterator(Feeder<I> feeder, boolean ordered, ProgressTracker progress) {
      this.feeder = feeder;
      this.ordered = ordered;
      this.progress = progress;
    }

    private void fill() {
      while (outstanding.size() < feeder.maxOutstanding && feeder.hasMore()) {
        TaskFuture<List<Object>> f = feeder.next();
        outstanding.add(f);
        if (progress != null) {
          progress.watch(f);
        }
        if (!ordered) {
          f.addListener(() -> completed.add(f), MoreExecutors.directExecutor());
        }
      }
      if (progress != null && !feeder.hasMore()) {
        progress.totalKnown(feeder.fed());
      }
    }

    private UncheckedExecutionException takeFailure() {
      UncheckedExecutionException e = pendingFailure;
      pendingFailure = null;
      return e;
    }

    @Override
    public boolean hasNext() {
      while (!current.hasNext()) {
        if (pendingFailure != null) {
          throw takeFailure();
        }
        if (finished) {
          return false;
        }
        fill();
        if (outstanding.isEmpty()) {
          finished = true;
          finishProgress();
          return false;
        }
        TaskFuture<List<Object>> next;
        if (ordered) {
          next = outstanding.poll();
        } else {
          try {
            next = completed.take();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            close();
            throw new CancellationException("Interrupted while waiting for a result");
          }
          outstanding.remove(next);
        }
        try {
          current = Uninterruptibles.getUninterruptibly(next).iterator();
        } catch (ExecutionException e) {
          close();
          // The inputs of the chunk before the failed one did succeed: yield them, then the failure.
          List<Object> partial = next.partialOutputs();
          pendingFailure = new UncheckedExecutionException(e.getCause());
          if (partial.isEmpty()) {
            throw takeFailure();
          }
          current = partial.iterator();
          return true;
        } catch (CancellationException e) {
          close();
          throw e;
        }
      }
      return true;
    }

    @Override
    @SuppressWarnings("unchecked")
    public O next() {
      if (!hasNext()) {
        throw new NoSuchElementException();
      }
      return (O) current.next();
    }

    void close() {
      finished = true;
      for (TaskFuture<List<Object>> f : outstanding) {
        f.cancel(true);
      }
      outstanding.clear();
      finishProgress();
    }

    private void finishProgress() {
      if (progress != null) {
        progress.totalKnown(feeder.fed());
        progress.finish();
      }
    }
  }
}
