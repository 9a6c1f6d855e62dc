package io.procpool.kubernetes;

import io.fabric8.kubernetes.api.model.ContainerStateTerminated;
import io.fabric8.kubernetes.api.model.ContainerStatus;
import io.fabric8.kubernetes.api.model.Pod;

/** What a worker Pod's status says of its worker's exit: the exit code a {@code WorkerHandle} reports. */
final class PodExits {
  /** A deleted Pod's exit code when it had none of its own: that of a process killed by SIGKILL. */
  static final int DELETED = 137;

  private PodExits() {}

  /**
   * The exit code of a Pod that has ended ({@code Succeeded} or {@code Failed}), else null: its worker
   * container's, or 0 and 1 when there is none (1 also for a failed Pod whose container says 0).
   */
  static Integer exitCode(Pod pod) {
    String phase = pod.getStatus() == null ? null : pod.getStatus().getPhase();
    Integer code = terminatedCode(pod);
    if ("Succeeded".equals(phase)) {
      return code != null ? code : 0;
    }
    if ("Failed".equals(phase)) {
      return code != null && code != 0 ? code : 1;
    }
    return null;
  }

  /**
   * The exit code of a Pod that was deleted: as {@link #exitCode} if it had ended, else its container's if
   * that had ended, else {@value #DELETED}.
   */
  static int deletedExitCode(Pod pod) {
    if (pod == null) {
      return DELETED;
    }
    Integer code = exitCode(pod);
    if (code == null) {
      code = terminatedCode(pod);
    }
    return code != null ? code : DELETED;
  }

  private static Integer terminatedCode(Pod pod) {
    if (pod.getStatus() == null || pod.getStatus().getContainerStatuses() == null) {
      return null;
    }
    for (ContainerStatus s : pod.getStatus().getContainerStatuses()) {
      if (KubernetesLauncher.CONTAINER_NAME.equals(s.getName()) && s.getState() != null) {
        ContainerStateTerminated t = s.getState().getTerminated();
        return t == null ? null : t.getExitCode();
      }
    }
    return null;
  }
}
