package io.procpool.internal.codec;

import io.procpool.Task;
import io.procpool.TaskCodecException;
import io.procpool.proto.v1.Value;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Encodes what the parent sends: task functions and inputs. A function is serialized once per submit (or
 * once per map); a stateless one (a lambda or method reference that captures nothing) only once per pool,
 * and it gets an id so that each worker is sent its bytes only once. Thread-safe.
 */
public final class TaskEncoder {
  /**
   * An encoded function.
   *
   * @param bytes its serialized form
   * @param cacheId non-zero for a stateless function: its id, the same for every task using it
   * @param description how messages name it ({@code Primes::count})
   * @param loader the class loader its results and exceptions are decoded with
   */
  public record Function(Value bytes, long cacheId, String description, ClassLoader loader) {}

  private final ValueCodec codec;
  private final Map<Class<?>, Function> stateless = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();

  public TaskEncoder(ValueCodec codec) {
    this.codec = codec;
  }

  /**
   * Encodes {@code function}; {@code what} names its role in messages ("task", "initializer").
   *
   * @throws TaskCodecException if it cannot be serialized; the message names the captured class
   */
  public Function function(Task<?, ?> function, String what) {
    Class<?> c = function.getClass();
    Function cached = stateless.get(c);
    if (cached != null) {
      return cached;
    }
    String description = TaskDescriptions.describe(function);
    Value bytes;
    try {
      bytes = Value.newBuilder().setJava(ValueCodec.serialize(function)).build();
    } catch (ValueCodec.CodecException e) {
      throw new TaskCodecException(
          "Cannot send " + what + " " + description + ": captured " + e.getMessage(), e);
    } catch (RuntimeException | StackOverflowError e) {
      throw new TaskCodecException("Cannot send " + what + " " + description + ": " + e, e);
    }
    if (!isStateless(c)) {
      return new Function(bytes, 0, description, c.getClassLoader());
    }
    return stateless.computeIfAbsent(
        c, k -> new Function(bytes, ids.incrementAndGet(), description, c.getClassLoader()));
  }

  /**
   * Encodes one input of {@code function}.
   *
   * @throws TaskCodecException naming the task and the offending class
   */
  public Value input(Function function, Object input) {
    try {
      return codec.encode(input);
    } catch (ValueCodec.CodecException e) {
      throw new TaskCodecException(
          "Cannot send input of task " + function.description() + ": " + e.getMessage(), e);
    } catch (RuntimeException | StackOverflowError e) {
      throw new TaskCodecException(
          "Cannot send input of task " + function.description() + ": " + e, e);
    }
  }

  /** A lambda or method reference with no captured state: its bytes never change. */
  private static boolean isStateless(Class<?> c) {
    for (Field f : c.getDeclaredFields()) {
      if (!Modifier.isStatic(f.getModifiers())) {
        return false;
      }
    }
    return c.isSynthetic() || c.getName().contains("$$Lambda");
  }
}
