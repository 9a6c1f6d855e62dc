/**
 * procpool: process pools for the JVM.
 *
 * <p>Entry points: {@link io.procpool.Pool#builder()} for a pool of worker JVMs that run {@link
 * io.procpool.Task}s and return Guava {@code ListenableFuture}s; {@link io.procpool.WorkerProcess#start}
 * for a single process running one target, like Python's {@code multiprocessing.Process}.
 */
package io.procpool;
