package io.procpool.internal.codec;

import io.procpool.proto.v1.ClassFile;
import io.procpool.proto.v1.ClassReply;
import io.procpool.proto.v1.ClassRequest;
import java.lang.ref.WeakReference;
import java.net.URL;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

/**
 * The parent's side of remote class loading: answers a worker's {@link ClassRequest} with class files
 * from the class loaders of this pool's tasks. Thread-safe.
 *
 * <p>What it serves, and to whom: only resources {@code a/b/C.class} of a valid binary name, looked up
 * with {@code getResourceAsStream} in the loaders {@link #register registered} by the encoder (the loader
 * of each task's function class, of its initializer and of every class written into a task's stream),
 * and only when the bytes start with the class-file magic number; never another resource or file. It is
 * reached only through a {@link Session}, which exists only for a stream whose worker has authenticated.
 *
 * <p>Batching: a worker asks for one class at a time, when its own loaders cannot find it. Each answer
 * also carries, unasked, up to {@link #prefetch} classes that the requested class names in its constant
 * pool (transitively) and that come from the same place (the same jar, directory or jshell session),
 * skipping those already sent to that worker; where an answer reaches that limit, the next one goes on
 * from where it stopped. A first task that needs a hundred classes of a plug-in
 * then costs a few round trips instead of a hundred. Rejected: the worker asking for several names at
 * once, which it can only guess after defining a class, so at one round trip per level of references;
 * and sending every class of the loader, which could be a whole application. A class sent ahead that the
 * worker finds on its own class path anyway is never defined from these bytes (the worker's loader asks
 * its parent first), so a wrong guess costs bytes, never behaviour.
 *
 * <p>Threads: {@link Session#serve} is called on a transport thread and returns at once; the lookup,
 * which reads files and may run a class loader's code, runs on the pool's executor, never under the
 * pool's lock.
 */
public final class ClassServer {
  /** Classes sent ahead of one request, by default; the system property {@code procpool.classes.prefetch}. */
  public static final int DEFAULT_PREFETCH = 256;

  /** Bytes of classes sent ahead in one answer stop growing past this. */
  static final int MAX_REPLY_BYTES = 8 << 20;

  /** Names beyond this many in one request are answered as missing, unread. */
  static final int MAX_NAMES_PER_REQUEST = 256;

  private final String pool;
  private final System.Logger log;
  private final Executor executor;
  private final int prefetch;
  private final Object registerLock = new Object();
  /**
   * The loaders of this pool's tasks, in the order first seen (the first that has a class file serves
   * it). Weak: a plug-in's loader that is otherwise gone may be collected. Copy-on-write: read on every
   * class written into a task, changed once per new loader.
   */
  private volatile List<WeakReference<ClassLoader>> loaders = List.of();

  public ClassServer(String pool, System.Logger log, Executor executor) {
    this(pool, log, executor, Integer.getInteger("procpool.classes.prefetch", DEFAULT_PREFETCH));
  }

  /** A server that sends up to {@code prefetch} classes ahead of each request (0: only those asked for). */
  public ClassServer(String pool, System.Logger log, Executor executor, int prefetch) {
    this.pool = pool;
    this.log = log;
    this.executor = executor;
    this.prefetch = Math.max(0, prefetch);
  }

  /** Makes {@code loader}'s class files available to this pool's workers; the JDK's own loaders need not be. */
  public void register(ClassLoader loader) {
    if (ClassCheck.isJdk(loader)) {
      return;
    }
    for (WeakReference<ClassLoader> r : loaders) {
      if (r.get() == loader) {
        return;
      }
    }
    synchronized (registerLock) {
      List<WeakReference<ClassLoader>> next = new ArrayList<>(loaders.size() + 1);
      for (WeakReference<ClassLoader> r : loaders) {
        ClassLoader l = r.get();
        if (l == loader) {
          return;
        }
        if (l != null) {
          next.add(r);
        }
      }
      next.add(new WeakReference<>(loader));
      loaders = List.copyOf(next);
    }
  }

  /** The registered loaders still alive, in order. */
  List<ClassLoader> loaders() {
    List<ClassLoader> out = new ArrayList<>();
    for (WeakReference<ClassLoader> r : loaders) {
      ClassLoader l = r.get();
      if (l != null) {
        out.add(l);
      }
    }
    return out;
  }

  /** The state of one authenticated worker stream: what it has been sent. */
  public Session session(String worker) {
    return new Session(worker);
  }

  /** One worker's stream. Thread-safe: requests of several worker threads may be answered at once. */
  public final class Session {
    private final String worker;
    private final Set<String> sent = ConcurrentHashMap.newKeySet();
    /**
     * Classes sent whose references were not all looked at when an answer reached its limit: the next
     * answer goes on with them, so that a class naming a thousand others costs a few round trips, not
     * one per class beyond the first answer's limit.
     */
    private final ConcurrentLinkedDeque<Found> unexpanded = new ConcurrentLinkedDeque<>();

    private Session(String worker) {
      this.worker = worker;
    }

    /**
     * Answers {@code request} on the pool's executor, handing the answer to {@code reply}. Returns at
     * once. After the pool has terminated (its executor gone), nothing is answered: no worker is left.
     */
    public void serve(ClassRequest request, Consumer<ClassReply> reply) {
      try {
        executor.execute(() -> reply.accept(answerOrExplain(request)));
      } catch (RejectedExecutionException e) {
        // The pool has terminated.
      }
    }

    /**
     * {@link #answer}, or, if looking threw (a class loader's own code can), every name missing with the
     * reason, so that the worker's threads are not left waiting for an answer that will not come.
     */
    private ClassReply answerOrExplain(ClassRequest request) {
      try {
        return answer(request);
      } catch (RuntimeException | LinkageError e) {
        log.log(System.Logger.Level.WARNING, pool + ": looking up classes for " + worker + " failed", e);
        return ClassReply.newBuilder()
            .addAllMissing(request.getNamesList())
            .setSearched("nowhere: the parent failed while looking (" + e + ")")
            .build();
      }
    }

    /** The answer to {@code request}, computed in the calling thread. */
    ClassReply answer(ClassRequest request) {
      List<ClassLoader> live = loaders();
      ClassReply.Builder reply = ClassReply.newBuilder();
      ArrayDeque<Found> frontier = new ArrayDeque<>();
      Set<String> seen = new HashSet<>();
      long bytes = 0;
      // Step 1: the names asked for, each found or missing.
      List<String> names = request.getNamesList();
      for (int i = 0; i < names.size(); i++) {
        String name = names.get(i);
        seen.add(name);
        Found f =
            i < MAX_NAMES_PER_REQUEST && ClassFiles.isBinaryName(name) && !ClassFiles.isReserved(name)
                ? find(name, live)
                : null;
        if (f == null) {
          reply.addMissing(name);
        } else {
          sent.add(name);
          reply.addClasses(f.message());
          bytes += f.bytes.length;
          frontier.add(f);
        }
      }
      // Step 2: classes sent ahead, breadth first from those found, then from earlier answers' leftovers.
      for (Found f; (f = unexpanded.poll()) != null; ) {
        frontier.add(f);
      }
      int ahead = 0;
      while (!frontier.isEmpty() && ahead < prefetch && bytes < MAX_REPLY_BYTES) {
        Found from = frontier.poll();
        Set<String> refs;
        try {
          refs = new ClassFileReader(from.bytes).classNames();
        } catch (RuntimeException e) {
          continue; // Bytes this reader does not understand: nothing to send ahead of them.
        }
        for (String ref : refs) {
          if (ahead >= prefetch || bytes >= MAX_REPLY_BYTES) {
            unexpanded.add(from); // Its references sent already are skipped next time.
            break;
          }
          if (!seen.add(ref) || sent.contains(ref) || ClassFiles.isReserved(ref) || !ClassFiles.isBinaryName(ref)) {
            continue;
          }
          Found f = sameLocation(ref, from);
          if (f != null && sent.add(ref)) {
            reply.addClasses(f.message());
            bytes += f.bytes.length;
            ahead++;
            frontier.add(f);
          }
        }
      }
      if (prefetch > 0) {
        unexpanded.addAll(frontier);
      }
      if (reply.getMissingCount() > 0) {
        reply.setSearched(describe(live));
      }
      log.log(System.Logger.Level.DEBUG,
          "{0}: {1} asked for {2}; sent {3} class files ({4} ahead, {5} bytes), {6} missing",
          pool, worker, names.size() == 1 ? names.get(0) : names.size() + " classes", reply.getClassesCount(),
          ahead, bytes, reply.getMissingCount());
      return reply.build();
    }
  }

  /** A class file and where it came from. */
  private static final class Found {
    final String name;
    final byte[] bytes;
    final ClassLoader loader;
    final String location;

    Found(String name, byte[] bytes, ClassLoader loader, String location) {
      this.name = name;
      this.bytes = bytes;
      this.loader = loader;
      this.location = location;
    }

    ClassFile message() {
      return ClassFile.newBuilder()
          .setName(name)
          .setBytes(com.google.protobuf.UnsafeByteOperations.unsafeWrap(bytes))
          .setLocation(location)
          .build();
    }
  }

  /** Class {@code name} from the first of {@code live} that has its class file, or null. */
  private static Found find(String name, List<ClassLoader> live) {
    String path = ClassFiles.resourceName(name);
    for (ClassLoader loader : live) {
      byte[] bytes = ClassFiles.read(loader, path);
      if (bytes != null) {
        URL url = ClassFiles.resource(loader, path);
        return new Found(name, bytes, loader, url == null ? "" : ClassFiles.location(url, path));
      }
    }
    return null;
  }

  /** Class {@code name} if {@code from}'s loader has it at {@code from}'s location; else null. */
  private static Found sameLocation(String name, Found from) {
    String path = ClassFiles.resourceName(name);
    URL url = ClassFiles.resource(from.loader, path);
    if (url == null || from.location.isEmpty() || !ClassFiles.location(url, path).equals(from.location)) {
      return null;
    }
    byte[] bytes = ClassFiles.read(from.loader, path);
    return bytes == null ? null : new Found(name, bytes, from.loader, from.location);
  }

  private static String describe(List<ClassLoader> live) {
    if (live.isEmpty()) {
      return "no class loader (no task of this pool has named one yet)";
    }
    StringJoiner j = new StringJoiner("; ");
    for (ClassLoader l : live) {
      j.add(ClassFiles.describe(l));
    }
    return j.toString();
  }
}
