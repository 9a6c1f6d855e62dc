/**
 * The procpool benchmark: {@link io.procpool.bench.Bench} runs the workloads of the Python peer
 * ({@code shared/peers/python_bench.py}) on a {@link io.procpool.Pool} and prints one JSON line per
 * workload. Not API; the output format follows the peer's field names.
 */
package io.procpool.bench;
