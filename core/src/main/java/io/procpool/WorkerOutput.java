package io.procpool;

/** Where a worker's stdout and stderr go. */
public enum WorkerOutput {
  /** To this JVM's own stdout and stderr (the default), as with Python's multiprocessing. */
  INHERIT,
  /** Nowhere. */
  DISCARD
}
