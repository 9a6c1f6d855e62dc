package io.procpool;

/**
 * A task threw an exception whose class could not be loaded or deserialized in the parent. It carries the
 * remote class name and message; its stack trace is the worker-side stack trace.
 */
public final class RemoteTaskException extends Exception {
  private static final long serialVersionUID = 1L;

  private final String remoteClassName;
  private final String remoteMessage;

  public RemoteTaskException(String remoteClassName, String remoteMessage, Throwable cause) {
    super(remoteClassName + (remoteMessage == null ? "" : ": " + remoteMessage), cause);
    this.remoteClassName = remoteClassName;
    this.remoteMessage = remoteMessage;
  }

  /** The fully qualified class name of the exception thrown in the worker. */
  public String remoteClassName() {
    return remoteClassName;
  }

  /** The message of the exception thrown in the worker, or null if it had none. */
  public String remoteMessage() {
    return remoteMessage;
  }
}
