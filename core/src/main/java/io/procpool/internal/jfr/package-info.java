/**
 * JDK Flight Recorder events that the parent emits as tasks and workers come and go, so that a JFR
 * recording of a batch job shows the pool: {@code io.procpool.TaskSubmit}, {@code io.procpool.TaskEnd},
 * {@code io.procpool.WorkerStart}, {@code io.procpool.WorkerExit}, all in category "procpool". The event
 * names and fields are documented in the README; the classes are not API and may change without notice.
 */
package io.procpool.internal.jfr;
