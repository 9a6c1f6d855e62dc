package io.procpool.internal.supervisor;

import java.util.List;
import java.util.stream.Collectors;

/**
 * Killing a process together with the processes it started (a native tool, a Python script, a shell and
 * its children), so that a killed worker takes its task's processes with it.
 *
 * <p>The descendants are listed <em>before</em> the process is killed: once it has died, the kernel
 * reparents its children (to init or a subreaper) and nothing links them to it any more. A process that
 * the worker starts between that snapshot and its death escapes; the window is the few microseconds
 * between two system calls.
 */
public final class ProcessTree {
  private ProcessTree() {}

  /** SIGKILLs {@code process} and every process descended from it. */
  public static void killTree(ProcessHandle process) {
    List<ProcessHandle> descendants = process.descendants().collect(Collectors.toList());
    // The root first, so that it starts no more; then what it had started.
    process.destroyForcibly();
    descendants.forEach(ProcessHandle::destroyForcibly);
  }

  /** SIGKILLs every process descended from this JVM: what a worker does as it exits. */
  public static void killDescendants() {
    List<ProcessHandle> descendants = ProcessHandle.current().descendants().collect(Collectors.toList());
    descendants.forEach(ProcessHandle::destroyForcibly);
  }
}
