package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.module.Configuration;
import java.lang.module.ModuleFinder;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import javax.tools.ToolProvider;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The class path walk, with made-up loaders and class paths, without starting a process. */
class WorkerClasspathTest {
  @TempDir Path dir;

  /** A loader standing for the JVM's application loader, whose class path is the host's property. */
  private final ClassLoader system = new URLClassLoader(new URL[0], ClassLoader.getPlatformClassLoader());

  private WorkerClasspath.Host host(String javaClassPath, Path userDir) {
    return new WorkerClasspath.Host(
        javaClassPath, userDir, system, ClassLoader.getPlatformClassLoader(), ModuleLayer.empty());
  }

  private static String abs(Path p) {
    return p.toAbsolutePath().normalize().toString();
  }

  @Test
  void systemLoader_relativeClassPath_madeAbsoluteAgainstUserDir() throws IOException {
    Path app = Files.createDirectories(dir.resolve("app"));
    Files.createDirectories(app.resolve("build/classes"));
    jar(app.resolve("lib/a.jar"), null, "a/A.class");
    WorkerClasspath cp =
        WorkerClasspath.detect(
            List.of(system), List.of(), host("build/classes" + File.pathSeparator + "lib/a.jar", app));
    assertEquals(List.of(abs(app.resolve("build/classes")), abs(app.resolve("lib/a.jar"))), cp.entries());
    assertNull(cp.bootLauncher());
  }

  @Test
  void urlClassLoader_fileUrls_decodedInChainOrderWithoutDuplicates() throws IOException {
    Path spaced = Files.createDirectories(dir.resolve("with space %41"));
    Path parentJar = jar(dir.resolve("parent.jar"), null, "p/P.class");
    Path childDir = Files.createDirectories(dir.resolve("child"));
    try (URLClassLoader parent =
            new URLClassLoader(new URL[] {parentJar.toUri().toURL(), spaced.toUri().toURL()}, system);
        URLClassLoader child =
            new URLClassLoader(
                new URL[] {
                  childDir.toUri().toURL(),
                  new URL("http://example.com/remote.jar"),
                  new URL("jar:file:" + parentJar + "!/nested/"),
                  parentJar.toUri().toURL()
                },
                parent)) {
      WorkerClasspath cp = WorkerClasspath.detect(List.of(child, parent), List.of(), host("", dir));
      // The parent's entries first, as the parent finds its classes first; the raw "%41" of the
      // directory name survives decoding; non-file URLs and the repeated jar are gone.
      assertEquals(List.of(abs(parentJar), abs(spaced), abs(childDir)), cp.entries());
    }
  }

  @Test
  void urlClassLoader_deprecatedFileToUrlWithRawSpace_isTakenLiterally() throws Exception {
    Path spaced = Files.createDirectories(dir.resolve("raw space"));
    @SuppressWarnings("deprecation") // How old code (and some plug-in hosts) still make their URLs.
    URL raw = spaced.toFile().toURL();
    assertEquals(spaced, WorkerClasspath.pathOf(raw));
  }

  @Test
  void loaderChain_stopsAtPlatformLoader_andMissingEntriesAreDropped() throws IOException {
    Path real = Files.createDirectories(dir.resolve("real"));
    try (URLClassLoader l =
        new URLClassLoader(
            new URL[] {dir.resolve("missing.jar").toUri().toURL(), real.toUri().toURL()},
            ClassLoader.getPlatformClassLoader())) {
      WorkerClasspath cp = WorkerClasspath.detect(List.of(l), List.of(), host("cp.jar", dir));
      // The system loader is not in this chain: the host's class path is not taken.
      assertEquals(List.of(abs(real)), cp.entries());
    }
  }

  @Test
  void moduleLayer_classInPluginLayer_itsModulesLocationsAdded() throws Exception {
    Path src = Files.createDirectories(dir.resolve("src/plug/plug"));
    Files.writeString(dir.resolve("src/plug/module-info.java"), "module plug { exports plug; }\n");
    Files.writeString(src.resolve("P.java"), "package plug; public class P {}\n");
    Path out = dir.resolve("mods/plug");
    int rc =
        ToolProvider.getSystemJavaCompiler()
            .run(null, null, null, "-d", out.toString(), dir.resolve("src/plug/module-info.java").toString(),
                src.resolve("P.java").toString());
    assertEquals(0, rc, "javac of the plug module");
    Configuration cf =
        ModuleLayer.boot()
            .configuration()
            .resolve(ModuleFinder.of(out), ModuleFinder.of(), Set.of("plug"));
    ModuleLayer layer = ModuleLayer.boot().defineModulesWithOneLoader(cf, ClassLoader.getPlatformClassLoader());
    Class<?> p = layer.findLoader("plug").loadClass("plug.P");
    // The layer's loader is no URLClassLoader: only the module's location can tell where P comes from.
    WorkerClasspath cp = WorkerClasspath.detect(List.of(p.getClassLoader()), List.of(p), host("", dir));
    assertEquals(List.of(abs(out)), cp.entries());
  }

  @Test
  void pathingJar_onClassPath_isReplacedByItsManifestClassPath() throws IOException {
    Path lib = jar(dir.resolve("libs/lib one.jar"), null, "l/L.class");
    Path classes = Files.createDirectories(dir.resolve("classes"));
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    // Surefire writes absolute file: URLs; IntelliJ relative ones: both forms, one percent-encoded.
    m.getMainAttributes().put(Attributes.Name.CLASS_PATH, "libs/lib%20one.jar " + classes.toUri());
    Path booter = jar(dir.resolve("surefirebooter1.jar"), m);
    WorkerClasspath cp = WorkerClasspath.detect(List.of(system), List.of(), host(booter.toString(), dir));
    assertEquals(List.of(abs(lib), abs(classes)), cp.entries());
  }

  @Test
  void jarWithClassesAndClassPath_isKeptAsIs() throws IOException {
    Path other = jar(dir.resolve("other.jar"), null, "o/O.class");
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    m.getMainAttributes().put(Attributes.Name.CLASS_PATH, "other.jar");
    Path app = jar(dir.resolve("app.jar"), m, "a/A.class");
    WorkerClasspath cp = WorkerClasspath.detect(List.of(system), List.of(), host(app.toString(), dir));
    assertEquals(List.of(abs(app)), cp.entries());
    assertEquals(List.of(other), WorkerClasspath.pathingJarClassPath(jar(dir.resolve("p.jar"), m)));
  }

  @Test
  void bootJar_newLoader_runsThroughItsPropertiesLauncher() throws IOException {
    Path app = bootJar("org.springframework.boot.loader.launch.JarLauncher");
    WorkerClasspath cp =
        WorkerClasspath.detect(List.of(system), List.of(), host(dir.relativize(app).toString(), dir));
    assertEquals("org.springframework.boot.loader.launch.PropertiesLauncher", cp.bootLauncher());
    assertEquals(List.of(abs(app)), cp.entries());
  }

  @Test
  void bootJar_classicWarLauncher_runsThroughClassicPropertiesLauncher() throws IOException {
    Path app = bootJar("org.springframework.boot.loader.WarLauncher");
    assertEquals(
        "org.springframework.boot.loader.PropertiesLauncher",
        WorkerClasspath.detect(List.of(system), List.of(), host(app.toString(), dir)).bootLauncher());
  }

  @Test
  void ordinaryExecutableJar_isNoBootJar() throws IOException {
    Path app = bootJar("com.example.Main");
    WorkerClasspath cp = WorkerClasspath.detect(List.of(system), List.of(), host(app.toString(), dir));
    assertNull(cp.bootLauncher());
    assertEquals(List.of(abs(app)), cp.entries());
    // A class in Boot's package that is not one of its launchers is no launcher either.
    assertNull(WorkerClasspath.bootLauncherOf(bootJar("org.springframework.boot.loader.launch.Other")));
  }

  @Test
  void userClasspath_relativeEntriesAndWildcard_resolvedAgainstParentDirectory() {
    Path parentDir = dir.resolve("parent");
    WorkerClasspath cp =
        WorkerClasspath.of(
            "classes" + File.pathSeparator + "lib/*" + File.pathSeparator + abs(dir.resolve("x.jar")),
            parentDir);
    assertEquals(
        List.of(abs(parentDir.resolve("classes")), abs(parentDir.resolve("lib")) + File.separator + "*",
            abs(dir.resolve("x.jar"))),
        cp.entries());
  }

  @Test
  void jvmCommand_bootLauncher_runsMainAsLoaderMainAfterUserOptions() throws IOException {
    JvmCommand c =
        new JvmCommand(Path.of("java"), List.of("-Dloader.main=evil.Main"), "app.jar", java.util.Map.of(), null,
            "org.springframework.boot.loader.launch.PropertiesLauncher");
    List<String> cmd = c.toCommand(dir, "io.procpool.internal.worker.WorkerMain");
    assertEquals(
        List.of("-Dloader.main=io.procpool.internal.worker.WorkerMain",
            "org.springframework.boot.loader.launch.PropertiesLauncher"),
        cmd.subList(cmd.size() - 2, cmd.size()));
    assertEquals("-Dloader.main=evil.Main", cmd.get(cmd.size() - 4));
  }

  private Path bootJar(String mainClass) throws IOException {
    Manifest m = new Manifest();
    m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
    m.getMainAttributes().put(Attributes.Name.MAIN_CLASS, mainClass);
    return jar(dir.resolve("boot-" + mainClass + ".jar"), m, "BOOT-INF/classes/app/App.class");
  }

  private static Path jar(Path path, Manifest manifest, String... entries) throws IOException {
    Files.createDirectories(path.getParent());
    try (OutputStream out = Files.newOutputStream(path);
        JarOutputStream jar = manifest == null ? new JarOutputStream(out) : new JarOutputStream(out, manifest)) {
      for (String e : entries) {
        jar.putNextEntry(new JarEntry(e));
        jar.write(new byte[] {1});
        jar.closeEntry();
      }
    }
    return path;
  }
}
