/**
 * Launching worker JVMs and watching their operating-system exit: their command line (default heap in
 * {@link io.procpool.internal.supervisor.WorkerHeap}, class-data-sharing archives in {@link
 * io.procpool.internal.supervisor.ClassDataSharing}), killing them with the processes they started
 * ({@link io.procpool.internal.supervisor.ProcessTree}), and the private directory that must not outlive
 * them ({@link io.procpool.internal.supervisor.PoolDirectory}). Launching goes through the public {@link
 * io.procpool.spi.WorkerLauncher}, which {@link io.procpool.internal.supervisor.JvmLauncher} implements,
 * so that other launchers (a cluster scheduler, or threads in a test) fit in without touching dispatch. Not API; may change without notice.
 */
package io.procpool.internal.supervisor;
