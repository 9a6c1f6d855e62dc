package io.procpool.internal.supervisor;

import java.io.File;
import java.io.IOException;
import java.lang.module.ResolvedModule;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Deque;
import java.util.Enumeration;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.jar.Manifest;

/**
 * Where a worker JVM finds its classes: a class path of absolute entries and, when this JVM runs from a
 * Spring Boot executable jar, the Boot launcher that opens it.
 *
 * <p>The default ({@link #detect}) is computed by walking class loaders, as Gradle's {@code
 * ClassLoaderVisitor} and Beam's resource detection do. Each loader given is followed up to (not
 * including) the platform loader, and its chain is visited root first, so that an entry a parent loader
 * would find first also comes first in the worker:
 *
 * <ul>
 *   <li>the application (system) loader gives {@code java.class.path}, each entry made absolute against
 *       this JVM's {@code user.dir} (so a relative class path still works when workers run in another
 *       {@code workingDirectory}), a class path of one manifest-only "pathing" jar (surefire's booter,
 *       IntelliJ's {@code classpath.jar}) replaced by its {@code Class-Path}, then the module path: the jar or directory of
 *       every module of the boot layer that does not come from the run-time image;
 *   <li>a {@link URLClassLoader} gives its {@code file:} URLs, decoded ({@code %20} is a space); other
 *       schemes ({@code http:}, Boot's {@code jar:nested:}) have no path a worker could open;
 *   <li>a class in a named module of a layer other than the boot layer (a plug-in layer) gives the
 *       locations of that layer's modules and its parents'.
 * </ul>
 *
 * <p>Entries keep the order of their first appearance; duplicates and entries that do not exist are
 * dropped. Module-path modules go on the worker's <em>class path</em>: the worker then runs them as
 * ordinary classes in the unnamed module. Rejected alternative: starting the worker on the module path,
 * which needs procpool's own dependencies (gRPC, Netty, protobuf) to resolve as modules, which they do
 * not all do. The cost: in the worker, module encapsulation is not enforced, and services a module
 * declares only with {@code provides} in {@code module-info} (without {@code META-INF/services}) are not
 * found by {@code ServiceLoader}.
 *
 * <p>A Spring Boot executable jar ({@code java -jar app.jar}, whose classes are in {@code
 * BOOT-INF/classes} and libraries nested in {@code BOOT-INF/lib}) cannot be put on a class path entry
 * by entry; instead the worker runs the same jar through Boot's {@code PropertiesLauncher} with {@code
 * loader.main} set to the worker's main class, which sees every nested jar ({@link JvmCommand}).
 *
 * <p>Instances are immutable.
 */
public final class WorkerClasspath {
  /** Boot 3.2+ (and 4.x) launchers; their {@code PropertiesLauncher}. */
  static final String BOOT_LAUNCH = "org.springframework.boot.loader.launch.";
  /** Boot's classic launchers (up to 3.1, and 3.2+ with {@code loaderImplementation CLASSIC}). */
  static final String BOOT_CLASSIC = "org.springframework.boot.loader.";

  private static final Set<String> BOOT_MAINS = Set.of("JarLauncher", "WarLauncher", "PropertiesLauncher");

  private final List<String> entries;
  private final String bootLauncher;

  private WorkerClasspath(List<String> entries, String bootLauncher) {
    this.entries = List.copyOf(entries);
    this.bootLauncher = bootLauncher;
  }

  /** The class path entries, absolute, in order. */
  public List<String> entries() {
    return entries;
  }

  /** The entries joined with the platform's path separator. */
  public String classpath() {
    return String.join(File.pathSeparator, entries);
  }

  /**
   * The Spring Boot {@code PropertiesLauncher} that must start the worker's main class (as {@code
   * loader.main}), or null when the main class runs directly.
   */
  public String bootLauncher() {
    return bootLauncher;
  }

  @Override
  public String toString() {
    return "WorkerClasspath[" + (bootLauncher != null ? "boot " + bootLauncher + ", " : "") + classpath() + "]";
  }

  /**
   * A class path the user set: taken as is, except that relative entries are made absolute against this
   * JVM's working directory, where the user wrote them, since workers may run elsewhere.
   */
  public static WorkerClasspath of(String classpath) {
    return of(classpath, Path.of(System.getProperty("user.dir", "")));
  }

  static WorkerClasspath of(String classpath, Path userDir) {
    List<String> out = new ArrayList<>();
    for (String e : classpath.split(File.pathSeparator, -1)) {
      if (!e.isEmpty()) {
        out.add(absolute(e, userDir));
      }
    }
    return new WorkerClasspath(out, null);
  }

  /**
   * The default: what the given loaders and the modules of the given classes see, or the Boot launcher
   * when this JVM runs from a Spring Boot executable jar. Nulls among the arguments are skipped.
   */
  public static WorkerClasspath detect(Collection<ClassLoader> loaders, Collection<Class<?>> classes) {
    return detect(loaders, classes, Host.current());
  }

  /**
   * The default for a pool or process started now by {@code caller} with {@code tasks} known at once
   * (the initializer, a process's target): the loaders of this thread's context, of the caller, of each
   * task's class (a lambda's class is its capturing class's loader's) and of procpool itself, and the
   * modules of those classes. Tasks that come later are not looked at: workers are started by then.
   */
  public static WorkerClasspath detectFor(Class<?> caller, Object... tasks) {
    List<ClassLoader> loaders = new ArrayList<>();
    List<Class<?>> classes = new ArrayList<>();
    loaders.add(Thread.currentThread().getContextClassLoader());
    if (caller != null) {
      loaders.add(caller.getClassLoader());
      classes.add(caller);
    }
    for (Object t : tasks) {
      if (t != null) {
        loaders.add(t.getClass().getClassLoader());
        classes.add(t.getClass());
      }
    }
    loaders.add(WorkerClasspath.class.getClassLoader());
    classes.add(WorkerClasspath.class);
    return detect(loaders, classes);
  }

  /** What {@link #detect} reads of this JVM; tests give their own. */
  record Host(
      String javaClassPath,
      Path userDir,
      ClassLoader systemLoader,
      ClassLoader platformLoader,
      ModuleLayer bootLayer) {
    static Host current() {
      return new Host(
          System.getProperty("java.class.path", ""),
          Path.of(System.getProperty("user.dir", "")),
          ClassLoader.getSystemClassLoader(),
          ClassLoader.getPlatformClassLoader(),
          ModuleLayer.boot());
    }
  }

  static WorkerClasspath detect(Collection<ClassLoader> loaders, Collection<Class<?>> classes, Host host) {
    List<String> cp = splitClassPath(host.javaClassPath());
    if (cp.size() == 1) {
      Path jar = Path.of(absolute(cp.get(0), host.userDir()));
      String launcher = bootLauncherOf(jar);
      if (launcher != null) {
        // Everything this JVM runs is inside the fat jar: the worker opens it the same way. Loaders
        // other than Boot's own are not looked at (their classes would be split from Boot's).
        return new WorkerClasspath(List.of(jar.toString()), launcher);
      }
    }
    Walk walk = new Walk(host);
    for (ClassLoader l : loaders) {
      if (l != null) {
        walk.loader(l);
      }
    }
    for (Class<?> c : classes) {
      if (c != null) {
        walk.module(c.getModule());
      }
    }
    return new WorkerClasspath(new ArrayList<>(walk.entries), null);
  }

  /**
   * The {@code PropertiesLauncher} matching a Boot executable jar's {@code Main-Class}, or null when
   * {@code jar} is not one (not a jar, unreadable, or another main class).
   */
  static String bootLauncherOf(Path jar) {
    if (!Files.isRegularFile(jar)) {
      return null;
    }
    try (JarFile f = new JarFile(jar.toFile(), false)) {
      Manifest m = f.getManifest();
      String main = m == null ? null : m.getMainAttributes().getValue(Attributes.Name.MAIN_CLASS);
      if (main == null) {
        return null;
      }
      main = main.trim();
      for (String pkg : List.of(BOOT_LAUNCH, BOOT_CLASSIC)) {
        if (main.startsWith(pkg) && BOOT_MAINS.contains(main.substring(pkg.length()))) {
          return pkg + "PropertiesLauncher";
        }
      }
      return null;
    } catch (IOException | SecurityException e) {
      return null;
    }
  }

  /** One walk over loaders and modules, collecting entries in order. */
  private static final class Walk {
    private final Host host;
    private final Set<String> entries = new LinkedHashSet<>();
    private final Set<ClassLoader> seenLoaders = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    private final Set<ModuleLayer> seenLayers = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());

    Walk(Host host) {
      this.host = host;
    }

    void loader(ClassLoader leaf) {
      Deque<ClassLoader> chain = new ArrayDeque<>();
      for (ClassLoader l = leaf; l != null && l != host.platformLoader(); l = l.getParent()) {
        chain.push(l);
      }
      while (!chain.isEmpty()) {
        ClassLoader l = chain.pop();
        if (!seenLoaders.add(l)) {
          continue;
        }
        if (l == host.systemLoader()) {
          List<String> cp = splitClassPath(host.javaClassPath());
          if (cp.size() == 1) {
            // Only a lone jar can be a pathing jar (that is what they are for), so only one jar's
            // manifest is ever read, however long the class path.
            classPathEntry(absolute(cp.get(0), host.userDir()), true);
          } else {
            cp.forEach(e -> classPathEntry(absolute(e, host.userDir()), false));
          }
          layer(host.bootLayer());
        } else if (l instanceof URLClassLoader u) {
          for (URL url : u.getURLs()) {
            Path p = pathOf(url);
            if (p != null) {
              add(p);
            }
          }
        }
      }
    }

    void module(Module m) {
      if (m.isNamed() && m.getLayer() != null) {
        layer(m.getLayer());
      }
    }

    /** The file locations of a layer's modules, its parents' first; the run-time image's are skipped. */
    private void layer(ModuleLayer layer) {
      if (layer == null || !seenLayers.add(layer)) {
        return;
      }
      for (ModuleLayer parent : layer.parents()) {
        layer(parent);
      }
      // Sorted by name: a configuration's set has no order, and a stable command line keeps the argfile
      // (and a CDS archive's class path check) the same from run to run.
      layer.configuration().modules().stream()
          .map(ResolvedModule::reference)
          .sorted(java.util.Comparator.comparing(r -> r.descriptor().name()))
          .forEach(r -> r.location().filter(u -> "file".equalsIgnoreCase(u.getScheme())).ifPresent(u -> {
            try {
              add(Path.of(u));
            } catch (IllegalArgumentException | java.nio.file.FileSystemNotFoundException e) {
              // Not a path of the default file system: nothing a worker could open.
            }
          }));
    }

    /** A {@code java.class.path} entry; a manifest-only jar is replaced by what it lists if {@code expand}. */
    private void classPathEntry(String entry, boolean expand) {
      if (entry.endsWith("*")) {
        // A wildcard the launcher did not expand (it only reaches here from a property set by hand).
        entries.add(entry);
        return;
      }
      Path p = Path.of(entry);
      List<Path> listed = expand ? pathingJarClassPath(p) : null;
      if (listed == null) {
        add(p);
      } else {
        listed.forEach(this::add);
      }
    }

    private void add(Path p) {
      if (Files.exists(p)) {
        entries.add(p.toAbsolutePath().normalize().toString());
      }
    }
  }

  /**
   * The {@code Class-Path} of a jar that holds nothing but its manifest (surefire's booter jar,
   * IntelliJ's and Gradle's path-shortening jars), resolved against the jar's location; null for any
   * other file. Resolving it lets duplicates with other loaders' entries be seen; the worker would follow
   * the manifest by itself otherwise.
   */
  static List<Path> pathingJarClassPath(Path jar) {
    if (!Files.isRegularFile(jar) || !jar.getFileName().toString().endsWith(".jar")) {
      return null;
    }
    try (JarFile f = new JarFile(jar.toFile(), false)) {
      Manifest m = f.getManifest();
      String classPath = m == null ? null : m.getMainAttributes().getValue(Attributes.Name.CLASS_PATH);
      if (classPath == null || classPath.isBlank()) {
        return null;
      }
      for (Enumeration<JarEntry> es = f.entries(); es.hasMoreElements(); ) {
        String name = es.nextElement().getName();
        if (!name.startsWith("META-INF/")) {
          return null;
        }
      }
      URI base = jar.toAbsolutePath().toUri();
      List<Path> out = new ArrayList<>();
      Set<Path> seen = new HashSet<>();
      for (String e : classPath.trim().split("\\s+", -1)) {
        if (e.isEmpty()) {
          continue;
        }
        try {
          Path p = pathOf(base.resolve(e).toURL());
          if (p != null && seen.add(p)) {
            out.add(p);
          }
        } catch (IllegalArgumentException | java.net.MalformedURLException ex) {
          // The JVM skips an entry it cannot parse too.
        }
      }
      return out;
    } catch (IOException | SecurityException e) {
      return null;
    }
  }

  /**
   * The path of a {@code file:} URL, decoded; null for other schemes. A URL made by the deprecated
   * {@code File.toURL()} holds raw spaces and is no valid URI: its path is taken literally then.
   */
  static Path pathOf(URL url) {
    if (!"file".equalsIgnoreCase(url.getProtocol())) {
      return null;
    }
    try {
      URI uri = url.toURI();
      if (uri.getAuthority() != null && !uri.getAuthority().isEmpty()) {
        // file://host/share: a UNC path on Windows, no local path elsewhere.
        return File.separatorChar == '\\' ? Path.of(uri) : null;
      }
      return Path.of(uri);
    } catch (URISyntaxException | IllegalArgumentException e) {
      try {
        return Path.of(new File(url.getPath()).getPath());
      } catch (InvalidPathException ex) {
        return null;
      }
    }
  }

  private static List<String> splitClassPath(String cp) {
    List<String> out = new ArrayList<>();
    for (String e : Objects.requireNonNullElse(cp, "").split(File.pathSeparator, -1)) {
      if (!e.isEmpty()) {
        out.add(e);
      }
    }
    return out;
  }

  private static String absolute(String entry, Path userDir) {
    if (entry.equals("*") || entry.endsWith(File.separator + "*") || entry.endsWith("/*")) {
      // A class path wildcard: the directory is made absolute, the star kept for the worker's launcher.
      String dir = entry.substring(0, entry.length() - 1);
      return absolute(dir.isEmpty() ? "." : dir, userDir) + File.separator + "*";
    }
    Path p = Path.of(entry);
    return (p.isAbsolute() ? p : userDir.resolve(p)).normalize().toString();
  }
}
