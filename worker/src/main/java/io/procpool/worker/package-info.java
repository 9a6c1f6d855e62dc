/**
 * The standalone worker agent: {@code java -jar procpool-worker-VERSION-agent.jar}, for launchers that
 * start workers on hosts other than the parent's (a cluster scheduler). Pools on one machine do not need
 * it: they start {@code io.procpool.internal.worker.WorkerMain} from the parent's own classpath.
 */
package io.procpool.worker;
