package io.procpool.internal.dispatch;

import java.util.concurrent.atomic.AtomicReference;

/** A pool lifecycle for supervisor tests: running, replacing workers when told to, recording a failure. */
final class TestLifecycle implements Supervisor.Lifecycle {
  volatile boolean needsWorkers;
  final AtomicReference<Throwable> poolFailure = new AtomicReference<>();

  @Override
  public boolean isStarting() {
    return false;
  }

  @Override
  public boolean needsWorkers() {
    return needsWorkers;
  }

  @Override
  public void workerReady() {}

  @Override
  public void startFailed(Throwable cause) {}

  @Override
  public void cannotKeepWorkers(Throwable cause) {
    poolFailure.set(cause);
  }
}
