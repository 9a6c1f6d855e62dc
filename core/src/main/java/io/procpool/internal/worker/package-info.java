/**
 * What runs inside a worker JVM: {@link io.procpool.internal.worker.WorkerMain} for pool workers, {@link
 * io.procpool.internal.worker.ProcessMain} for {@code WorkerProcess}, and the shared machinery (status
 * file, parent watch). Not API; may change without notice.
 */
package io.procpool.internal.worker;
