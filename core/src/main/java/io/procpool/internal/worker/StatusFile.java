package io.procpool.internal.worker;

import io.procpool.internal.codec.Mappings;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A tiny memory-mapped file through which a worker tells its parent which task it is running and since
 * when.
 *
 * <p>Why a file and not a message on the stream: a message is only sent once gRPC gets to it, so a task
 * that calls {@code Runtime.halt} at once, or a SIGKILL, can beat it, and the parent would not know
 * whether the task had started. A store into a shared mapping is visible to the parent at once and
 * survives the worker's death, at the cost of a few nanoseconds per task. {@code System.nanoTime()} on
 * Linux is CLOCK_MONOTONIC, shared by all processes, so the parent can compare start times with its own
 * clock for task timeouts.
 *
 * <p>Layout (native byte order): long at 0: id of the running task, 0 when none; long at 8: its start,
 * in {@code System.nanoTime()}; long at 16: a sequence number, odd while an update is in progress; long
 * at 24: how many tasks this worker has begun. The worker runs tasks in the order they were sent, so the
 * parent knows from that count which of the tasks it sent were begun: a task that finished but whose
 * result had not left when the worker died was begun, and is not silently run again as if it never was.
 */
public final class StatusFile implements TaskProgress, AutoCloseable {
  private static final int SIZE = 64;
  private static final VarHandle LONGS =
      MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

  /** What the worker last wrote. */
  public record Snapshot(long taskId, long startNanos, long begun) {}

  private final Path path;
  private final FileChannel channel;
  private final MappedByteBuffer buffer;

  private StatusFile(Path path, FileChannel channel, MappedByteBuffer buffer) {
    this.path = path;
    this.channel = channel;
    this.buffer = buffer;
  }

  /** Creates (or truncates) the file at {@code path} and maps it; used by the parent. */
  public static StatusFile create(Path path) throws IOException {
    FileChannel ch =
        FileChannel.open(
            path,
            StandardOpenOption.CREATE,
            StandardOpenOption.TRUNCATE_EXISTING,
            StandardOpenOption.READ,
            StandardOpenOption.WRITE);
    return map(path, ch);
  }

  /** Maps an existing status file; used by the worker. */
  public static StatusFile open(Path path) throws IOException {
    return map(
        path, FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE));
  }

  private static StatusFile map(Path path, FileChannel ch) throws IOException {
    try {
      MappedByteBuffer b = ch.map(FileChannel.MapMode.READ_WRITE, 0, SIZE);
      return new StatusFile(path, ch, b);
    } catch (IOException | RuntimeException e) {
      ch.close();
      throw e;
    }
  }

  public Path path() {
    return path;
  }

  /** Records that {@code taskId} starts now. Called by the worker before decoding the task. */
  @Override
  public void begin(long taskId, long startNanos) {
    long seq = (long) LONGS.getOpaque(buffer, 16);
    LONGS.setRelease(buffer, 16, seq + 1);
    LONGS.setRelease(buffer, 8, startNanos);
    LONGS.setRelease(buffer, 0, taskId);
    LONGS.setRelease(buffer, 24, (long) LONGS.getOpaque(buffer, 24) + 1);
    LONGS.setRelease(buffer, 16, seq + 2);
  }

  /** Records that no task is running. */
  @Override
  public void end() {
    long seq = (long) LONGS.getOpaque(buffer, 16);
    LONGS.setRelease(buffer, 16, seq + 1);
    LONGS.setRelease(buffer, 0, 0L);
    LONGS.setRelease(buffer, 16, seq + 2);
  }

  /**
   * Reads a consistent snapshot of what the worker last wrote. Bounded: a worker that died in the middle
   * of an update leaves the sequence odd for ever, and then the last values written are returned.
   */
  public Snapshot read() {
    for (int i = 0; ; i++) {
      long s1 = (long) LONGS.getAcquire(buffer, 16);
      long id = (long) LONGS.getAcquire(buffer, 0);
      long start = (long) LONGS.getAcquire(buffer, 8);
      long begun = (long) LONGS.getAcquire(buffer, 24);
      long s2 = (long) LONGS.getAcquire(buffer, 16);
      if ((s1 == s2 && (s1 & 1) == 0) || i >= 1000) {
        return new Snapshot(id, start, begun);
      }
      Thread.onSpinWait();
    }
  }

  /**
   * Closes the channel, unmaps the file and deletes it. The caller makes sure nothing reads this object
   * afterwards (a read of an unmapped buffer would crash the JVM): the pool drops its reference, under its
   * lock, before closing.
   */
  @Override
  public void close() {
    try {
      channel.close();
    } catch (IOException e) {
      // Nothing to do: the file is deleted with the pool's directory anyway.
    }
    Mappings.unmap(buffer);
    try {
      Files.deleteIfExists(path);
    } catch (IOException e) {
      // Same.
    }
  }
}
