package io.procpool.internal.supervisor;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.Charset;
import java.util.function.Supplier;

/**
 * Copies a worker's stdout or stderr pipe to this JVM's {@link System#out} or {@link System#err}, a line
 * at a time with a prefix naming the worker: {@code [procpool-w2 4122] }. One daemon thread per stream,
 * named after the pool and worker, ending at end-of-file (when the worker and anything it started that
 * holds the pipe have exited).
 *
 * <p>Each line is one {@link PrintStream#println(String)} call, which PrintStream makes atomic, so lines of
 * different workers may interleave but never mix within a line. The target stream is looked up for every
 * line, so {@code System.setOut} takes effect at once. Worker output is decoded in the default charset,
 * which the worker, on the same machine, also writes in.
 */
final class OutputPump implements Runnable {
  private final InputStream in;
  private final Supplier<PrintStream> target;
  private final String prefix;

  private OutputPump(InputStream in, Supplier<PrintStream> target, String prefix) {
    this.in = in;
    this.target = target;
    this.prefix = prefix;
  }

  /** The line prefix of a worker: {@code [name-wINDEX PID] }. */
  static String prefix(String name, int workerIndex, long pid) {
    return "[" + name + "-w" + workerIndex + " " + pid + "] ";
  }

  /** Starts pumping both of {@code process}'s output pipes; threads are named {@code threadName-stdout}. */
  static void start(Process process, String name, int workerIndex, String threadName) {
    String prefix = prefix(name, workerIndex, process.pid());
    start(process.getInputStream(), () -> System.out, prefix, threadName + "-stdout");
    start(process.getErrorStream(), () -> System.err, prefix, threadName + "-stderr");
  }

  static Thread start(InputStream in, Supplier<PrintStream> target, String prefix, String threadName) {
    Thread t = new Thread(new OutputPump(in, target, prefix), threadName);
    t.setDaemon(true);
    t.start();
    return t;
  }

  @Override
  public void run() {
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, Charset.defaultCharset()))) {
      String line;
      while ((line = r.readLine()) != null) {
        target.get().println(prefix + line);
      }
    } catch (IOException e) {
      // The pipe broke: the worker is gone, and so is anything more it could have said.
    }
  }
}
