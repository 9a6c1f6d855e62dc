package io.procpool;

/**
 * A task, its input or its result could not be encoded on one side or decoded on the other. The message
 * names the offending class and the stage ("Cannot send task Primes::count: captured value of type
 * java.net.Socket is not serializable"). Only the task concerned fails; the pool is unharmed.
 */
public final class TaskCodecException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  /**
   * Creates the exception.
   *
   * @param message names the task, the value and the offending class
   * @param cause the codec's own exception
   */
  public TaskCodecException(String message, Throwable cause) {
    super(message, cause);
  }
}
