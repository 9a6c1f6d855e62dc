package io.procpool.internal.codec;

import io.procpool.RemoteTaskException;
import io.procpool.TaskCodecException;
import io.procpool.proto.v1.Failure;
import io.procpool.proto.v1.Frame;
import java.util.IdentityHashMap;
import java.util.Map;

/**
 * Encodes a worker-side {@link Throwable} as a {@link Failure} and re-creates it in the parent: with its
 * own class when that class loads and deserializes there, else as a {@link RemoteTaskException} carrying
 * the remote class name and message. Either way the re-created exception's stack trace is the worker's.
 */
public final class FailureCodec {
  private static final int MAX_CAUSES = 32;

  private FailureCodec() {}

  /** Describes {@code t} (and its causes) for the wire. Never throws. */
  public static Failure encode(Failure.Stage stage, Throwable t) {
    return encode(stage, t, new IdentityHashMap<>(), 0, true);
  }

  private static Failure encode(
      Failure.Stage stage, Throwable t, Map<Throwable, Boolean> seen, int depth, boolean serialize) {
    seen.put(t, Boolean.TRUE);
    Failure.Builder b = Failure.newBuilder().setStage(stage).setClassName(t.getClass().getName());
    String message = safeMessage(t);
    if (message != null) {
      b.setMessage(message);
    }
    for (StackTraceElement e : t.getStackTrace()) {
      Frame.Builder f =
          Frame.newBuilder().setClassName(e.getClassName()).setMethodName(e.getMethodName());
      if (e.getFileName() != null) {
        f.setFileName(e.getFileName());
      }
      f.setLineNumber(e.getLineNumber());
      if (e.getModuleName() != null) {
        f.setModuleName(e.getModuleName());
      }
      if (e.getModuleVersion() != null) {
        f.setModuleVersion(e.getModuleVersion());
      }
      if (e.getClassLoaderName() != null) {
        f.setClassLoaderName(e.getClassLoaderName());
      }
      b.addFrames(f);
    }
    if (serialize) {
      try {
        b.setSerialized(ValueCodec.serialize(t));
      } catch (Throwable e) {
        // Not serializable (a field of the exception, or its cause, is not), or serializing it failed
        // otherwise (a StackOverflowError from a deep object graph): the parent falls back to a
        // RemoteTaskException built from the fields above.
      }
    }
    Throwable cause = t.getCause();
    if (cause != null && !seen.containsKey(cause) && depth < MAX_CAUSES) {
      b.setCause(encode(stage, cause, seen, depth + 1, false));
    }
    return b.build();
  }

  /**
   * {@code t}'s class and message for an error text ({@code "java.lang.StackOverflowError: deep"}), or its
   * class alone when it has no message or {@code getMessage()} throws. A codec exception's message alone.
   */
  public static String describe(Throwable t) {
    if (t instanceof ValueCodec.CodecException) {
      return t.getMessage();
    }
    String m;
    try {
      m = t.getMessage();
    } catch (RuntimeException e) {
      m = null;
    }
    return m == null ? t.getClass().getName() : t.getClass().getName() + ": " + m;
  }

  private static String safeMessage(Throwable t) {
    try {
      return t.getMessage();
    } catch (Throwable e) {
      return "(getMessage() threw " + e.getClass().getName() + ")";
    }
  }

  /**
   * Re-creates the exception described by {@code failure}: the original when it deserializes with {@code
   * loader}, else a {@link RemoteTaskException} with the remote frames. A failure of a codec stage
   * (decoding the task in the worker, encoding its result) is always a {@link TaskCodecException}, even
   * when the worker's own could not be re-created here.
   */
  public static Throwable decode(Failure failure, ValueCodec codec, ClassLoader loader) {
    Throwable t = decodeOne(failure, codec, loader);
    boolean codecStage =
        failure.getStage() == Failure.Stage.DECODE_TASK || failure.getStage() == Failure.Stage.ENCODE_RESULT;
    if (codecStage && !(t instanceof TaskCodecException)) {
      String message = failure.getMessage().isEmpty() ? failure.getClassName() : failure.getMessage();
      return new TaskCodecException(message, t);
    }
    return t;
  }

  private static Throwable decodeOne(Failure failure, ValueCodec codec, ClassLoader loader) {
    if (!failure.getSerialized().isEmpty()) {
      try {
        Object o = codec.deserialize(failure.getSerialized(), loader);
        if (o instanceof Throwable t) {
          return t;
        }
      } catch (Throwable e) {
        // Fall through to the portable form (whatever went wrong: a StackOverflowError from a deep
        // graph, an initializer that threw).
      }
    }
    Throwable cause = failure.hasCause() ? decodeOne(failure.getCause(), codec, loader) : null;
    RemoteTaskException r =
        new RemoteTaskException(
            failure.getClassName(), failure.getMessage().isEmpty() ? null : failure.getMessage(), cause);
    r.setStackTrace(frames(failure));
    return r;
  }

  /** The worker-side stack trace of {@code failure}. */
  public static StackTraceElement[] frames(Failure failure) {
    StackTraceElement[] trace = new StackTraceElement[failure.getFramesCount()];
    for (int i = 0; i < trace.length; i++) {
      Frame f = failure.getFrames(i);
      trace[i] =
          new StackTraceElement(
              f.getClassLoaderName().isEmpty() ? null : f.getClassLoaderName(),
              f.getModuleName().isEmpty() ? null : f.getModuleName(),
              f.getModuleVersion().isEmpty() ? null : f.getModuleVersion(),
              f.getClassName(),
              f.getMethodName(),
              f.getFileName().isEmpty() ? null : f.getFileName(),
              f.getLineNumber());
    }
    return trace;
  }
}
