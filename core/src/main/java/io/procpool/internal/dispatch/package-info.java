/**
 * The heart of a pool: the task queue, the in-flight table, worker slots and their lifecycle, chunking of
 * maps, and completion of futures. Not API; may change without notice.
 */
package io.procpool.internal.dispatch;
