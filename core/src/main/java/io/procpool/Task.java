package io.procpool;

import java.io.Serializable;

/**
 * A unit of work run in a worker JVM: a function from one input to one output.
 *
 * <p>Lambdas and method references that target this interface are serializable, which is how they
 * travel to the worker. Whatever a lambda captures must be serializable too, and every class it refers
 * to must be on the worker's classpath (by default the parent's).
 *
 * @param <I> the input type
 * @param <O> the output type
 */
@FunctionalInterface
public interface Task<I, O> extends Serializable {
  /**
   * Computes the output for {@code input}; runs in a worker JVM.
   *
   * @param input the task's argument, as submitted
   * @return the output, sent back to the parent
   * @throws Exception any exception: it fails the task's future, re-created in the parent
   */
  O apply(I input) throws Exception;
}
