/**
 * Workers in Kubernetes: {@link io.procpool.kubernetes.KubernetesLauncher}, given to {@code
 * Pool.builder().launcher(...)}, runs each worker JVM in a Pod of its own.
 */
package io.procpool.kubernetes;
