package io.procpool.internal.dispatch;

import io.grpc.stub.ServerCallStreamObserver;
import io.procpool.internal.supervisor.LaunchedWorker;
import io.procpool.internal.worker.StatusFile;
import io.procpool.proto.v1.ParentMessage;
import java.util.LinkedHashMap;

/**
 * One worker process and what the dispatcher knows of it. A replacement worker is a new Slot with the
 * same index. Mutable fields are guarded by the owning {@link PoolCore}'s lock, except the stream, which
 * is guarded by {@link #sendLock} (a gRPC stream observer is not thread-safe).
 */
final class Slot {
  /**
   * A worker's life, in order. LAUNCHING: the process is being started or has not said Hello yet.
   * CONNECTED: Hello accepted, the initializer is running. READY: takes tasks. RETIRING: told to shut
   * down (pool shutdown, or maxTasksPerWorker reached); takes no new tasks, finishes those it has. DEAD:
   * its process has exited and its in-flight tasks have been settled.
   */
  enum State {
    LAUNCHING,
    CONNECTED,
    READY,
    RETIRING,
    DEAD
  }

  final int index;
  final long workerId;
  final StatusFile status;
  final long launchedNanos = System.nanoTime();

  // Guarded by PoolCore.lock.
  State state = State.LAUNCHING;
  LaunchedWorker process;
  final LinkedHashMap<Long, TaskRecord> inFlight = new LinkedHashMap<>();
  /** Task batches sent and not yet fully answered: sequence number -> tasks still out. */
  final java.util.HashMap<Integer, Integer> openBatches = new java.util.HashMap<>();
  int batchSeq;
  /** Ids of the stateless functions whose bytes this worker has been sent. */
  final java.util.Set<Long> knownFunctions = new java.util.HashSet<>();
  long inFlightBytes;
  long assigned;
  long completed;
  long busyNanos;
  Throwable startFailure;
  boolean exited;
  boolean streamClosed;
  boolean settled;
  int exitCode = -1;
  long lastHeardNanos = System.nanoTime();
  long heapUsed = -1;
  long rss = -1;
  long gcMillis = -1;
  long readyNanos;
  long helloPid;
  boolean killRequested;

  final Object sendLock = new Object();
  // Guarded by sendLock.
  private ServerCallStreamObserver<ParentMessage> out;
  private boolean outClosed;

  Slot(int index, long workerId, StatusFile status) {
    this.index = index;
    this.workerId = workerId;
    this.status = status;
  }

  /** Takes {@code r} out of the in-flight table and its batch. */
  void release(TaskRecord r) {
    if (inFlight.remove(r.id) == null) {
      return;
    }
    inFlightBytes -= r.bytes;
    openBatches.computeIfPresent(r.batch, (k, n) -> n == 1 ? null : n - 1);
  }

  long pid() {
    LaunchedWorker p = process;
    return p == null ? -1 : p.pid();
  }

  void attach(ServerCallStreamObserver<ParentMessage> stream) {
    synchronized (sendLock) {
      out = stream;
    }
  }

  /** Sends {@code message} if the stream is open; a closed stream is settled by the exit handling. */
  void send(ParentMessage message) {
    synchronized (sendLock) {
      if (out != null && !outClosed) {
        try {
          out.onNext(message);
        } catch (RuntimeException e) {
          // Cancelled by the worker side: its exit will be noticed.
        }
      }
    }
  }

  void closeStream() {
    synchronized (sendLock) {
      if (out != null && !outClosed) {
        outClosed = true;
        try {
          out.onCompleted();
        } catch (RuntimeException e) {
          // Already gone.
        }
      }
    }
  }

  @Override
  public String toString() {
    return "Worker#" + index + "[pid=" + pid() + ", " + state + "]";
  }
}
