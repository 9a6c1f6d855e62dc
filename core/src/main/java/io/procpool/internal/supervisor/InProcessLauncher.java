package io.procpool.internal.supervisor;

import io.procpool.spi.WorkerLauncher;

/**
 * A launcher whose workers run as threads of this JVM and so need the pool's in-process transport (tests);
 * the pool also lets such workers write to its own stdout instead of capturing.
 */
public interface InProcessLauncher extends WorkerLauncher {}
