package io.procpool.internal.worker;

import io.procpool.internal.codec.ClassFiles;
import io.procpool.proto.v1.ClassFile;
import io.procpool.proto.v1.ClassReply;
import io.procpool.proto.v1.ClassRequest;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URI;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;
import java.security.CodeSource;
import java.security.ProtectionDomain;
import java.security.cert.Certificate;
import java.time.Duration;
import java.util.Collections;
import java.util.Enumeration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * The worker's class loader for one pool: the loader the worker would use anyway (its parent), and,
 * for classes that loader cannot find, the parent process, asked over the worker's stream. This is how a
 * worker runs tasks whose classes exist only in the parent JVM: defined in jshell, or in a class loader
 * the parent made at run time from files the worker's class path does not name.
 *
 * <p>Delegation is parent-first, as usual: a class on the worker's class path is always the worker's own,
 * and only a class its parent loader does not have is asked for. The parent answers with the class file
 * and, unasked, classes that class names from the same jar, directory or jshell session (see {@code
 * ClassServer}); those are kept until needed. Names the parent does not have are remembered for the
 * worker's life, so that a library probing for an optional class costs one round trip, not one each time.
 *
 * <p>Only class files travel, as resources {@code a/b/C.class}: {@link #findResource} serves those too
 * (bytecode libraries read them), and no other resource.
 *
 * <p>Thread-safe and parallel capable: several threads may load classes at once; one request per name is
 * outstanding at a time, and every thread that needs that name waits for the same answer, up to a
 * deadline. Once the stream to the parent is gone, requests fail at once.
 */
public final class RemoteClassLoader extends ClassLoader {
  static {
    registerAsParallelCapable();
  }

  /** How long a class request waits for the parent's answer by default. */
  public static final Duration DEFAULT_TIMEOUT = Duration.ofSeconds(30);

  private static final String PROTOCOL = "procpool-class";

  /** A class file received from the parent. */
  private static final class Received {
    final byte[] bytes;
    final String location;

    Received(byte[] bytes, String location) {
      this.bytes = bytes;
      this.location = location;
    }
  }

  private final long timeoutNanos;
  private final ConcurrentHashMap<String, Received> received = new ConcurrentHashMap<>();
  /** Names the parent does not have, with where it looked. */
  private final ConcurrentHashMap<String, String> missing = new ConcurrentHashMap<>();
  /** The one outstanding request per name; completed (never exceptionally) when an answer arrives. */
  private final ConcurrentHashMap<String, CompletableFuture<Void>> pending = new ConcurrentHashMap<>();
  private final ConcurrentHashMap<String, ProtectionDomain> domains = new ConcurrentHashMap<>();
  private final AtomicLong requests = new AtomicLong();
  private final AtomicLong defined = new AtomicLong();
  private volatile Consumer<ClassRequest> sender;
  /** Why the parent can no longer be asked; null while it can. */
  private volatile String gone;

  /** A loader over {@code parent}, which it asks first, waiting up to 30 s for the parent process. */
  public RemoteClassLoader(ClassLoader parent) {
    this(parent, DEFAULT_TIMEOUT);
  }

  RemoteClassLoader(ClassLoader parent, Duration timeout) {
    super("procpool-remote", parent);
    this.timeoutNanos = timeout.toNanos();
  }

  /** Sends this loader's requests with {@code sender}, from now on. */
  void connect(Consumer<ClassRequest> sender) {
    this.sender = sender;
  }

  /**
   * The stream to the parent is gone ({@code reason} says how): requests waiting fail now, later ones
   * at once. Classes already received can still be defined.
   */
  void disconnect(String reason) {
    if (gone == null) {
      gone = reason;
    }
    for (CompletableFuture<Void> f : pending.values()) {
      f.complete(null);
    }
  }

  /** The parent's answer to a request of ours (or to another thread's). Called on a transport thread. */
  void onReply(ClassReply reply) {
    // Step 1: record what arrived, then step 2: wake who waits for it, who then finds it recorded.
    for (ClassFile f : reply.getClassesList()) {
      received.putIfAbsent(f.getName(), new Received(f.getBytes().toByteArray(), f.getLocation()));
    }
    String searched = reply.getSearched().isEmpty() ? "its class loaders" : reply.getSearched();
    for (String name : reply.getMissingList()) {
      missing.putIfAbsent(name, searched);
    }
    for (ClassFile f : reply.getClassesList()) {
      wake(f.getName());
    }
    for (String name : reply.getMissingList()) {
      wake(name);
    }
  }

  private void wake(String name) {
    CompletableFuture<Void> f = pending.remove(name);
    if (f != null) {
      f.complete(null);
    }
  }

  /** Requests sent to the parent so far (one per name asked for). */
  long requests() {
    return requests.get();
  }

  /** Classes defined from the parent's class files so far. */
  long defined() {
    return defined.get();
  }

  @Override
  protected Class<?> findClass(String name) throws ClassNotFoundException {
    Received r = fetch(name);
    Class<?> c = defineClass(name, r.bytes, 0, r.bytes.length, domain(r.location));
    defined.incrementAndGet();
    return c;
  }

  /** The class file of a class this loader's parent does not have, as a resource of this loader. */
  @Override
  protected URL findResource(String name) {
    String className = ClassFiles.classNameOf(name);
    if (className == null) {
      return null;
    }
    Received r;
    try {
      r = fetch(className);
    } catch (ClassNotFoundException e) {
      return null;
    }
    try {
      return new URL(PROTOCOL, "", -1, "/" + name, new BytesHandler(r.bytes));
    } catch (MalformedURLException e) {
      throw new AssertionError("a URL with its own handler is never malformed", e);
    }
  }

  @Override
  protected Enumeration<URL> findResources(String name) {
    URL url = findResource(name);
    return url == null ? Collections.emptyEnumeration() : Collections.enumeration(java.util.List.of(url));
  }

  /**
   * Class {@code name}'s file: received already, or asked for now (or joined, if another thread asked),
   * waiting up to the deadline.
   *
   * @throws ClassNotFoundException naming the class and why it could not be had
   */
  private Received fetch(String name) throws ClassNotFoundException {
    if (!ClassFiles.isBinaryName(name) || ClassFiles.isReserved(name)) {
      throw new ClassNotFoundException(name);
    }
    long deadline = System.nanoTime() + timeoutNanos;
    while (true) {
      Received r = received.get(name);
      if (r != null) {
        return r;
      }
      String searched = missing.get(name);
      if (searched != null) {
        throw notFound(name, "the parent has no class file for it either (it looked in " + searched + ")");
      }
      String why = gone;
      if (why != null) {
        throw notFound(name, "the parent cannot be asked for it: " + why);
      }
      CompletableFuture<Void> answer = pending.get(name);
      if (answer == null) {
        CompletableFuture<Void> mine = new CompletableFuture<>();
        answer = pending.putIfAbsent(name, mine);
        if (answer == null) {
          answer = mine;
          // An answer may have landed between our look and our claim: look again before asking.
          if (received.containsKey(name) || missing.containsKey(name)) {
            wake(name);
            continue;
          }
          ask(name, mine);
        }
      }
      await(name, answer, deadline);
    }
  }

  private void ask(String name, CompletableFuture<Void> answer) throws ClassNotFoundException {
    Consumer<ClassRequest> s = sender;
    if (s == null) {
      pending.remove(name, answer);
      answer.complete(null);
      throw notFound(name, "this worker is not connected to its parent yet");
    }
    requests.incrementAndGet();
    try {
      s.accept(ClassRequest.newBuilder().addNames(name).build());
    } catch (RuntimeException e) {
      pending.remove(name, answer);
      answer.complete(null);
      disconnect("sending the request failed: " + e);
    }
  }

  private void await(String name, CompletableFuture<Void> answer, long deadline) throws ClassNotFoundException {
    long left = deadline - System.nanoTime();
    try {
      if (left <= 0) {
        throw new TimeoutException();
      }
      answer.get(left, TimeUnit.NANOSECONDS);
    } catch (TimeoutException e) {
      // The next thread to need it asks again.
      pending.remove(name, answer);
      throw notFound(name, "the parent did not answer a request for it within "
          + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw notFound(name, "the thread was interrupted while waiting for the parent to send it");
    } catch (ExecutionException e) {
      throw new AssertionError("an answer is never exceptional", e);
    }
  }

  private static ClassNotFoundException notFound(String name, String why) {
    return new ClassNotFoundException(
        "class " + name + " is not on this worker's class path, and " + why);
  }

  /**
   * One protection domain per place the parent found classes at: its code source is that place's URL
   * (a jar or directory of the parent's), or none where it has no URL this JVM can make (jshell's);
   * permissions are the policy's, as for any class loader.
   */
  private ProtectionDomain domain(String location) {
    return domains.computeIfAbsent(location, l -> {
      URL url = null;
      if (!l.isEmpty()) {
        try {
          url = URI.create(l).toURL();
        } catch (IllegalArgumentException | MalformedURLException e) {
          url = null; // A scheme this JVM has no handler for, as jshell's.
        }
      }
      return new ProtectionDomain(new CodeSource(url, (Certificate[]) null), null, this, null);
    });
  }

  /** Serves one class file's bytes as a URL's content. */
  private static final class BytesHandler extends URLStreamHandler {
    private final byte[] bytes;

    BytesHandler(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    protected URLConnection openConnection(URL u) {
      return new URLConnection(u) {
        @Override
        public void connect() {
          connected = true;
        }

        @Override
        public InputStream getInputStream() {
          return new ByteArrayInputStream(bytes);
        }

        @Override
        public long getContentLengthLong() {
          return bytes.length;
        }
      };
    }
  }

  @Override
  public String toString() {
    return "RemoteClassLoader[received=" + received.size() + ", defined=" + defined.get() + ", missing="
        + missing.size() + ", parent=" + getParent() + "]";
  }
}
