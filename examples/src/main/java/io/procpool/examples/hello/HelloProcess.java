package io.procpool.examples.hello;

import io.procpool.WorkerProcess;
import java.io.PrintStream;

/**
 * The "expanded example" of Python's multiprocessing documentation, in Java:
 *
 * <pre>{@code
 * from multiprocessing import Process
 * import os
 *
 * def info(title):
 *     print title
 *     print 'module name:', __name__
 *     print 'parent process:', os.getppid()
 *     print 'process id:', os.getpid()
 *
 * def f(name):
 *     info('function f')
 *     print 'hello', name
 *
 * if __name__ == '__main__':
 *     info('main line')
 *     p = Process(target=f, args=('bob',))
 *     p.start()
 *     p.join()
 * }</pre>
 *
 * <p>See README.md in this package for what its output shows.
 */
public final class HelloProcess {

  /** The child's pid and how it ended, for callers (and tests) that cannot see its output. */
  public record Child(long pid, int exitCode) {}

  private HelloProcess() {}

  public static void main(String[] args) throws InterruptedException {
    run(System.out);
  }

  /**
   * Runs the example, printing the parent's lines to {@code out}; the child prints to this JVM's
   * stdout, which it inherits.
   */
  public static Child run(PrintStream out) throws InterruptedException {
    info(out, "main line");
    WorkerProcess p = WorkerProcess.start(HelloProcess::f, "bob");
    p.join();
    // join() returned because the child JVM has exited, so its exit code is known now.
    int exitCode = p.exitCode().orElseThrow();
    out.println("joined: process " + p.pid() + " exited with code " + exitCode);
    return new Child(p.pid(), exitCode);
  }

  /** The target: runs in the child JVM, whose System.out is the parent's stdout. */
  static void f(String name) {
    info(System.out, "function f");
    System.out.println("hello " + name);
  }

  static void info(PrintStream out, String title) {
    out.println(title);
    out.println("main class: " + mainClass());
    out.println(
        "parent process: " + ProcessHandle.current().parent().map(ProcessHandle::pid).orElse(-1L));
    out.println("process id: " + ProcessHandle.current().pid());
  }

  /**
   * Java has no {@code __name__}; its nearest analogue is the class whose {@code main} started this
   * JVM, which sits at the bottom of the main thread's stack.
   */
  private static String mainClass() {
    return StackWalker.getInstance()
        .walk(frames -> frames.reduce((newer, older) -> older))
        .map(StackWalker.StackFrame::getClassName)
        .orElseThrow();
  }
}
