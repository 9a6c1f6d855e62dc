package io.procpool.internal.codec;

import java.io.IOException;
import java.io.InputStream;
import java.io.InvalidClassException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectStreamClass;

/**
 * Reads one Java-serialized value under a filter, resolving classes through a given loader first, and
 * remembers enough of what it read to say which class a failure came from.
 *
 * <p>Why this bookkeeping: an exception thrown by a class's {@code readObject} (or {@code readResolve},
 * {@code readExternal}, a record's constructor) reaches the caller without any mention of that class, and
 * a filter rejection says only "filter status: REJECTED". Alternatives rejected: the last class resolved
 * alone names the wrong class when the failing one read a field of another class before throwing; and
 * ObjectInputStream's own notion of the object being read is private.
 */
final class ObjectReader extends ObjectInputStream {
  private final ClassLoader loader;
  // Only touched on the reading thread.
  private String firstClass;
  private String lastClass;
  private String rejected;

  ObjectReader(InputStream in, ClassLoader loader, ObjectInputFilter filter) throws IOException {
    super(in);
    this.loader = loader;
    setObjectInputFilter(
        info -> {
          ObjectInputFilter.Status status = filter.checkInput(info);
          Class<?> c = info.serialClass();
          if (c != null) {
            lastClass = c.getTypeName();
            if (firstClass == null) {
              firstClass = lastClass;
            }
          }
          if (status == ObjectInputFilter.Status.REJECTED) {
            rejected =
                (c != null ? "class " + c.getTypeName() : "a reference")
                    + (info.arrayLength() >= 0 ? ", array length " + info.arrayLength() : "")
                    + ", depth " + info.depth()
                    + ", references " + info.references()
                    + ", stream bytes " + info.streamBytes();
          }
          return status;
        });
  }

  @Override
  protected Class<?> resolveClass(ObjectStreamClass desc) throws IOException, ClassNotFoundException {
    try {
      return Class.forName(desc.getName(), false, loader);
    } catch (ClassNotFoundException e) {
      try {
        return super.resolveClass(desc);
      } catch (ClassNotFoundException again) {
        // The given loader's exception says more (a worker's remote loader says where it looked).
        throw e;
      }
    }
  }

  /**
   * Makes a proxy class from interfaces resolved through the given loader; the default resolves them
   * through the caller's loader, which in a worker cannot see interfaces sent by the parent.
   */
  @Override
  @SuppressWarnings("deprecation") // Proxy.getProxyClass is what ObjectInputStream itself uses.
  protected Class<?> resolveProxyClass(String[] interfaces) throws IOException, ClassNotFoundException {
    Class<?>[] types = new Class<?>[interfaces.length];
    ClassLoader definer = loader;
    for (int i = 0; i < interfaces.length; i++) {
      try {
        types[i] = Class.forName(interfaces[i], false, loader);
      } catch (ClassNotFoundException e) {
        try {
          return super.resolveProxyClass(interfaces);
        } catch (ClassNotFoundException again) {
          throw e;
        }
      }
      if (!java.lang.reflect.Modifier.isPublic(types[i].getModifiers())) {
        // A proxy of a non-public interface must be defined in that interface's loader.
        definer = types[i].getClassLoader();
      }
    }
    try {
      return java.lang.reflect.Proxy.getProxyClass(definer, types);
    } catch (IllegalArgumentException e) {
      throw new ClassNotFoundException("no proxy class for " + java.util.Arrays.toString(interfaces), e);
    }
  }

  /**
   * A message for a failure of {@link #readObject} that names the class concerned: the class whose
   * deserialization hook threw, else the class the filter rejected, else the last class read.
   */
  String describeFailure(Throwable e, String filterDescription) {
    if (rejected != null) {
      return "value rejected by the serialization filter \"" + filterDescription + "\" at " + rejected
          + outer(rejectedClass());
    }
    String hook = hookClass(e);
    String culprit =
        hook != null ? hook
            : e instanceof InvalidClassException ice && ice.classname != null ? ice.classname
            : lastClass;
    if (culprit == null) {
      return "Java-serialized value could not be read: " + e;
    }
    return "class " + culprit + outer(culprit) + " could not be deserialized: " + e;
  }

  private String rejectedClass() {
    return rejected.startsWith("class ") ? rejected.substring(6).split(",", 2)[0] : null;
  }

  private String outer(String culprit) {
    return firstClass != null && !firstClass.equals(culprit) ? " (in a value of class " + firstClass + ")" : "";
  }

  /**
   * The class whose code the serialization machinery called when {@code e} (or one of its causes) was
   * thrown: the frame just inside the outermost run of reflection frames below the first
   * ObjectInputStream or ObjectStreamClass frame. Null when the machinery itself threw.
   */
  static String hookClass(Throwable e) {
    for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
      StackTraceElement[] frames = t.getStackTrace();
      for (int i = 0; i < frames.length; i++) {
        if (isSerializationMachinery(frames[i].getClassName())) {
          for (int j = i - 1; j >= 0; j--) {
            if (!isReflection(frames[j].getClassName())) {
              return frames[j].getClassName();
            }
          }
          break;
        }
      }
    }
    return null;
  }

  private static boolean isSerializationMachinery(String className) {
    return className.startsWith("java.io.ObjectInputStream") || className.startsWith("java.io.ObjectStreamClass");
  }

  private static boolean isReflection(String className) {
    return className.startsWith("jdk.internal.reflect.")
        || className.startsWith("java.lang.reflect.")
        || className.startsWith("java.lang.invoke.")
        || className.startsWith("jdk.internal.invoke.");
  }
}
