package io.procpool.internal.dispatch;

import com.google.common.util.concurrent.AbstractFuture;
import com.google.common.util.concurrent.ListenableFuture;
import com.google.common.util.concurrent.MoreExecutors;
import com.google.common.util.concurrent.UncheckedExecutionException;
import io.procpool.Task;
import io.procpool.proto.v1.Value;
import java.util.ArrayDeque;
import java.util.ArrayList;
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
 * each), and the chunks' outputs are put back together in input order or completion order.
 *
 * <p>Chunk sizes: an eager map knows its length and, like multiprocessing's {@code Pool.map}, makes about
 * four chunks per worker (so the last chunks balance the load), capped at {@link #MAX_CHUNK} items and
 * {@link #MAX_CHUNK_BYTES} bytes. A lazy imap does not know its length; like joblib, it sizes chunks so
 * each runs for about {@link #TARGET_CHUNK_NANOS}, going by the pool's recent per-item run time, starting
 * from one. With a task timeout every chunk holds one item, since the timeout is per task.
 */
public final class Maps {
  static final int MAX_CHUNK = 20_000;
  static final long MAX_CHUNK_BYTES = 4L << 20;
  static final long TARGET_CHUNK_NANOS = TimeUnit.MILLISECONDS.toNanos(5);
  static final int LAZY_MAX_CHUNK = 4096;

  private Maps() {}

  /** Ordered map; the returned future fails with the first chunk failure and cancels the rest. */
  public static <I, O> ListenableFuture<List<O>> mapAsync(PoolCore core, Task<I, O> fn, List<I> inputs) {
    if (inputs.isEmpty()) {
      MapFuture<O> f = new MapFuture<>(0);
      f.finish();
      return f;
    }
    int chunk = eagerChunkSize(core, inputs.size());
    core.encodeFunction(fn, "task");
    List<List<Value>> chunks = new ArrayList<>();
    List<Value> current = new ArrayList<>();
    long bytes = 0;
    for (I in : inputs) {
      Value v = core.encodeInput(fn, in);
      if (!current.isEmpty() && (current.size() >= chunk || bytes + v.getSerializedSize() > MAX_CHUNK_BYTES)) {
        chunks.add(current);
        current = new ArrayList<>();
        bytes = 0;
      }
      current.add(v);
      bytes += v.getSerializedSize();
    }
    chunks.add(current);
    MapFuture<O> result = new MapFuture<>(chunks.size());
    try {
      for (int i = 0; i < chunks.size(); i++) {
        TaskFuture<List<Object>> f = core.enqueueEncoded(fn, chunks.get(i), false);
        result.add(i, f);
      }
    } catch (RuntimeException e) {
      result.cancel(false);
      throw e;
    }
    return result;
  }

  static int eagerChunkSize(PoolCore core, int n) {
    if (core.taskTimeout() != null) {
      return 1;
    }
    long chunk = (n + core.workerCount() * 4L - 1) / (core.workerCount() * 4L);
    chunk = Math.min(chunk, MAX_CHUNK);
    if (core.maxTasksPerWorker() > 0) {
      chunk = Math.min(chunk, core.maxTasksPerWorker());
    }
    return (int) Math.max(1, chunk);
  }

  /** Puts chunk outputs back in order. Fails with the first failure; cancelling it cancels every chunk. */
  static final class MapFuture<O> extends AbstractFuture<List<O>> {
    private final Object[][] parts;
    private final List<TaskFuture<List<Object>>> chunks;
    private int remaining;

    MapFuture(int n) {
      this.parts = new Object[n][];
      this.chunks = new ArrayList<>(n);
      this.remaining = n;
    }

    void add(int index, TaskFuture<List<Object>> f) {
      synchronized (this) {
        chunks.add(f);
      }
      if (isCancelled()) {
        f.cancel(true);
      }
      f.addListener(() -> onChunkDone(index, f), MoreExecutors.directExecutor());
    }

    private void onChunkDone(int index, TaskFuture<List<Object>> f) {
      List<Object> out;
      try {
        out = com.google.common.util.concurrent.Futures.getDone(f);
      } catch (ExecutionException e) {
        if (setException(e.getCause())) {
          cancelChunks();
        }
        return;
      } catch (CancellationException e) {
        if (cancel(false)) {
          cancelChunks();
        }
        return;
      }
      boolean last;
      synchronized (this) {
        parts[index] = out.toArray();
        last = --remaining == 0;
      }
      if (last) {
        finish();
      }
    }

    @SuppressWarnings("unchecked")
    void finish() {
      int total = 0;
      for (Object[] p : parts) {
        total += p.length;
      }
      List<O> all = new ArrayList<>(total);
      for (Object[] p : parts) {
        for (Object o : p) {
          all.add((O) o);
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
      }
    }
  }

  /** Lazy map: pulls from {@code inputs} only as results are consumed, with bounded read-ahead. */
  public static <I, O> Stream<O> imap(PoolCore core, Task<I, O> fn, Iterable<I> inputs, boolean ordered) {
    core.encodeFunction(fn, "task");
    LazyIterator<I, O> it = new LazyIterator<>(core, fn, inputs.iterator(), ordered);
    int characteristics = ordered ? Spliterator.ORDERED : 0;
    return StreamSupport.stream(Spliterators.spliteratorUnknownSize(it, characteristics), false)
        .onClose(it::close);
  }

  static final class LazyIterator<I, O> implements Iterator<O> {
    private final PoolCore core;
    private final Task<I, O> fn;
    private final Iterator<I> source;
    private final boolean ordered;
    private final int maxOutstanding;
    // Ordered: chunks in input order. Unordered: chunks not yet completed (for close()).
    private final ArrayDeque<TaskFuture<List<Object>>> outstanding = new ArrayDeque<>();
    private final LinkedBlockingQueue<TaskFuture<List<Object>>> completed = new LinkedBlockingQueue<>();
    private Iterator<Object> current = java.util.Collections.emptyIterator();
    private boolean failed;

    LazyIterator(PoolCore core, Task<I, O> fn, Iterator<I> source, boolean ordered) {
      this.core = core;
      this.fn = fn;
      this.source = source;
      this.ordered = ordered;
      this.maxOutstanding = core.workerCount() * 4;
    }

    private int chunkSize() {
      if (core.taskTimeout() != null) {
        return 1;
      }
      long perItem = core.recentItemNanos();
      if (perItem < 0) {
        return 1;
      }
      long n = TARGET_CHUNK_NANOS / Math.max(1, perItem);
      if (core.maxTasksPerWorker() > 0) {
        n = Math.min(n, core.maxTasksPerWorker());
      }
      return (int) Math.max(1, Math.min(LAZY_MAX_CHUNK, n));
    }

    private void fill() {
      while (outstanding.size() < maxOutstanding && source.hasNext()) {
        int n = chunkSize();
        List<Value> chunk = new ArrayList<>(n);
        long bytes = 0;
        while (chunk.size() < n && bytes < MAX_CHUNK_BYTES && source.hasNext()) {
          Value v = core.encodeInput(fn, source.next());
          chunk.add(v);
          bytes += v.getSerializedSize();
        }
        TaskFuture<List<Object>> f = core.enqueueEncoded(fn, chunk, false);
        outstanding.add(f);
        if (!ordered) {
          f.addListener(() -> completed.add(f), MoreExecutors.directExecutor());
        }
      }
    }

    @Override
    public boolean hasNext() {
      while (!current.hasNext()) {
        if (failed) {
          return false;
        }
        fill();
        if (outstanding.isEmpty()) {
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
          current = com.google.common.util.concurrent.Uninterruptibles.getUninterruptibly(next).iterator();
        } catch (ExecutionException e) {
          failed = true;
          close();
          throw new UncheckedExecutionException(e.getCause());
        } catch (CancellationException e) {
          failed = true;
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
      failed = true;
      for (TaskFuture<List<Object>> f : outstanding) {
        f.cancel(true);
      }
      outstanding.clear();
    }
  }
}
