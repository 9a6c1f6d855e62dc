/**
 * The parent's gRPC side: a server bound to loopback only, one authenticated stream per worker. Not API;
 * may change without notice.
 */
package io.procpool.internal.transport;
