package io.procpool.internal.dispatch;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One JVM shutdown hook for all pools: when the parent exits (System.exit, SIGINT, SIGTERM) it kills every
 * live pool's workers at once rather than leaving them to notice the parent's death. (A SIGKILLed parent
 * runs no hook; the workers' own parent watch covers that.) One hook rather than one per pool, so that
 * creating and closing many pools does not churn the JVM's hook table.
 */
final class ShutdownHooks {
  private static final Set<PoolCore> LIVE = ConcurrentHashMap.newKeySet();

  static {
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  for (PoolCore p : LIVE) {
                    p.killAll();
                  }
                },
                "procpool-shutdown"));
  }

  private ShutdownHooks() {}

  static void register(PoolCore pool) {
    LIVE.add(pool);
  }

  static void unregister(PoolCore pool) {
    LIVE.remove(pool);
  }
}
