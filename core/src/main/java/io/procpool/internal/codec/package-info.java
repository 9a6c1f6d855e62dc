/**
 * Encoding of task functions, inputs, results and failures into {@code procpool.v1.Value} and {@code
 * Failure} messages. Not API; may change without notice.
 */
package io.procpool.internal.codec;
