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
  private final ClassServer classes;
  private final System.Logger log;
  private final Map<Class<?>, Function> stateless = new ConcurrentHashMap<>();
  private final AtomicLong ids = new AtomicLong();
  /**
   * Sees every class written into a function or input: refuses one no worker can have ({@link
   * ClassCheck}), and offers the class files of its loader to this pool's workers ({@link ClassServer}).
   */
  private final ValueCodec.ClassWatcher watcher;

  /**
   * An encoder whose functions and inputs may only use classes that workers can have; their class
   * loaders are registered with {@code classes}, which serves their class files to workers. Warnings
   * (a jshell lambda that reads a top-level variable) go to {@code log}.
   */
  public TaskEncoder(ValueCodec codec, ClassServer classes, System.Logger log) {
    this.codec = codec;
    this.classes = classes;
    this.log = log;
    this.watcher =
        c -> {
          ClassCheck.require(c);
          classes.register(c.getClassLoader());
        };
  }

  /**
   * Encodes {@code function}; {@code what} names its role in messages ("task", "initializer").
   *
   * @throws TaskCodecException if it cannot be serialized, or uses a class no worker can have; the
   *     message names the class
   */
  public Function function(Task<?, ?> function, String what) {
    Class<?> c = function.getClass();
    Function cached = stateless.get(c);
    if (cached != null) {
      return cached;
    }
    String description = TaskDescriptions.describe(function);
    // The function's own loader first: a lambda's capturing class is in the stream, but a class that
    // implements Task directly need not name its loader's other classes there.
    classes.register(c.getClassLoader());
    JShellTrap.check(function, description, log);
    Value bytes;
    try {
      bytes = Value.newBuilder().setJava(ValueCodec.serialize(function, watcher)).build();
    } catch (ValueCodec.CodecException e) {
      throw new TaskCodecException(
          "Cannot send " + what + " " + description + ": "
              + (e.getCause() instanceof ClassCheck.UnavailableClassException ? "" : "captured ")
              + e.getMessage(),
          e);
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
      return codec.encode(input, watcher);
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
