/**
 * Launching worker JVMs and watching their operating-system exit. Launching goes through {@link
 * io.procpool.internal.supervisor.WorkerLauncher}, so that other launchers (a cluster scheduler, or
 * threads in a test) fit in without touching dispatch. Not API; may change without notice.
 */
package io.procpool.internal.supervisor;
