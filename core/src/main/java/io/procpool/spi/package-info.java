/**
 * The extension point for where worker JVMs run: a {@link io.procpool.spi.WorkerLauncher} given to
 * {@code Pool.builder().launcher(...)} starts each worker from a {@link io.procpool.spi.WorkerSpec} and
 * returns a {@link io.procpool.spi.WorkerHandle}. The default, child processes of this JVM, goes through
 * the same interface.
 */
package io.procpool.spi;
