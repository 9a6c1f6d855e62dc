package io.procpool.internal.worker;

import io.procpool.proto.v1.Bootstrap;
import io.procpool.proto.v1.CapturedOutput;
import io.procpool.proto.v1.OutputCapture;
import io.procpool.proto.v1.TaskResult;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.Charset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Captures what each task prints, in a worker of a pool built with {@code WorkerOutput.CAPTURE}.
 *
 * <p>{@link System#out} and {@link System#err} are replaced, once, by streams that write to the
 * worker's own stdout and stderr, except while a task runs ({@link #begin()} to {@link #end}), when they
 * write to two files instead; everything printed meanwhile counts as the task's, from whatever thread.
 * The files are emptied as each task begins. They are written through (no buffer in this JVM), so that
 * when the worker dies mid-task the parent can still read what the task printed last ({@link #tail}).
 * A task that prints more than {@link #MAX_FILE_BYTES} starts its file over, losing the oldest part.
 *
 * <p>Only the task thread calls {@link #begin()} and {@link #end}; printing threads may be any.
 */
public final class TaskCapture {
  /** What is kept of each stream in a result or crash report: its last 1 MiB. */
  public static final int MAX_TAIL_BYTES = 1 << 20;

  static final long MAX_FILE_BYTES = 64L << 20;

  private static final TaskCapture NONE = new TaskCapture(null, null);

  private final Stream out;
  private final Stream err;

  private TaskCapture(Stream out, Stream err) {
    this.out = out;
    this.err = err;
  }

  /**
   * Installs capturing System.out and System.err if {@code bootstrap} asks for it; else a capture that
   * does nothing.
   */
  public static TaskCapture install(Bootstrap bootstrap) {
    if (!bootstrap.hasCapture()) {
      return NONE;
    }
    OutputCapture c = bootstrap.getCapture();
    try {
      Stream out = new Stream(System.out, file(c.getStdoutFile(), "out"));
      Stream err = new Stream(System.err, file(c.getStderrFile(), "err"));
      Charset cs = Charset.defaultCharset();
      System.setOut(new PrintStream(out, true, cs));
      System.setErr(new PrintStream(err, true, cs));
      return new TaskCapture(out, err);
    } catch (IOException e) {
      System.err.println("procpool worker: cannot capture task output, showing it instead: " + e);
      return NONE;
    }
  }

  /**
   * The file the parent named, or for a worker on another machine (whose parent names none: it could not
   * read it) a private temporary file of the worker's own, deleted when the worker exits. Then a task's
   * output still reaches the parent with its result, but not when the worker dies during the task.
   */
  private static Path file(String named, String which) throws IOException {
    if (!named.isEmpty()) {
      return Path.of(named);
    }
    Path f = Files.createTempFile("procpool-task-" + which + "-", ".txt");
    f.toFile().deleteOnExit();
    return f;
  }

  /** A task starts: empty the files and send what is printed to them. */
  void begin() {
    if (out != null) {
      out.begin();
      err.begin();
    }
  }

  /** The task ended: print to the worker's own streams again, and put what it printed in {@code result}. */
  void end(TaskResult.Builder result) {
    if (out == null) {
      return;
    }
    System.out.flush();
    System.err.flush();
    out.end();
    err.end();
    Tail o = tail(out.file, MAX_TAIL_BYTES);
    Tail e = tail(err.file, MAX_TAIL_BYTES);
    result.setOutput(
        CapturedOutput.newBuilder()
            .setStdout(o.text())
            .setStderr(e.text())
            .setTruncated(o.truncated() || e.truncated() || out.wrapped || err.wrapped));
  }

  /** The last bytes of a capture file, decoded. */
  public record Tail(String text, boolean truncated) {}

  /**
   * Reads the last {@code maxBytes} of {@code file}, decoded in the default charset (a character cut at
   * the start becomes U+FFFD); an empty tail if the file cannot be read.
   */
  public static Tail tail(Path file, int maxBytes) {
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
      long size = ch.size();
      long from = Math.max(0, size - maxBytes);
      ByteBuffer buf = ByteBuffer.allocate((int) (size - from));
      while (buf.hasRemaining() && ch.read(buf, from + buf.position()) > 0) {
        // Read until full or end of file (it may shrink if a task is starting over).
      }
      buf.flip();
      return new Tail(Charset.defaultCharset().decode(buf).toString(), from > 0);
    } catch (IOException e) {
      return new Tail("", false);
    }
  }

  /**
   * One of System.out and System.err: to the worker's own stream, or to the capture file while a task
   * runs.
   */
  private static final class Stream extends OutputStream {
    private final OutputStream own;
    private final Path file;
    private final FileChannel channel;
    private final OutputStream toFile;
    private volatile boolean capturing;
    // Written and read under this stream's monitor.
    private boolean wrapped;

    Stream(OutputStream own, Path file) throws IOException {
      this.own = own;
      this.file = file;
      this.channel =
          FileChannel.open(
              file, StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
      this.toFile = java.nio.channels.Channels.newOutputStream(channel);
    }

    synchronized void begin() {
      try {
        channel.truncate(0);
      } catch (IOException e) {
        // Then the output of the task before may show too; better than none.
      }
      wrapped = false;
      capturing = true;
    }

    synchronized void end() {
      capturing = false;
    }

    @Override
    public synchronized void write(int b) throws IOException {
      write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public synchronized void write(byte[] b, int off, int len) throws IOException {
      if (!capturing) {
        own.write(b, off, len);
        return;
      }
      if (channel.position() + len > MAX_FILE_BYTES) {
        channel.truncate(0);
        wrapped = true;
      }
      toFile.write(b, off, len);
    }

    @Override
    public synchronized void flush() throws IOException {
      if (!capturing) {
        own.flush();
      }
    }
  }
}
