package io.procpool;

/**
 * A task threw an exception whose class could not be loaded or deserialized in the parent. It carries the
 * remote class name and message; its stack trace is the worker-side stack trace.
 */
public final class RemoteTaskException extends Exception {
  private static final long serialVersionUID = 1L;

  /** The remote exception's class name. */
  private final String remoteClassName;

  /** The remote exception's message, or null. */
  private final String remoteMessage;

  /**
   * Creates the stand-in for a remote exception.
   *
   * @param remoteClassName the fully qualified class name of the exception thrown in the worker
   * @param remoteMessage its message, or null
   * @param cause its cause, re-created the same way, or null
   */
  public RemoteTaskException(String remoteClassName, String remoteMessage, Throwable cause) {
    super(remoteClassName + (remoteMessage == null ? "" : ": " + remoteMessage), cause);
    this.remoteClassName = remoteClassName;
    this.remoteMessage = remoteMessage;
  }

  /**
   * The fully qualified class name of the exception thrown in the worker.
   *
   * @return a class name, such as {@code com.example.BadInput}
   */
  public String remoteClassName() {
    return remoteClassName;
  }

  /**
   * The message of the exception thrown in the worker, or null if it had none.
   *
   * @return the message, or null
   */
  public String remoteMessage() {
    return remoteMessage;
  }
}
