package io.procpool.examples.plugin;

import java.io.PrintStream;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A host that loads a plug-in from a directory or jar that is not on its class path, through a new
 * {@link URLClassLoader}, as application servers, build tools and IDE run configurations do. The
 * plug-in maps over a pool of its own; the pool finds the plug-in's classes for its workers in the
 * loader's URLs, with no settings.
 */
public final class PluginHost {
  /** The plug-in this module builds (src/plugin/java, compiled into target/plugin-classes). */
  static final String DEFAULT_PLUGIN = "io.procpool.examples.plugin.letters.LetterCounts";

  static final List<String> WORDS = List.of("process", "pool", "Worker", "class-loader", "plug-in");

  private PluginHost() {}

  /**
   * Runs a plug-in over a few words.
   *
   * @param args the plug-in's directory or jar (default {@code examples/target/plugin-classes}), and
   *     optionally its class name
   * @throws Exception if the plug-in cannot be loaded or fails
   */
  public static void main(String[] args) throws Exception {
    Path location = Path.of(args.length > 0 ? args[0] : "examples/target/plugin-classes");
    run(location, args.length > 1 ? args[1] : DEFAULT_PLUGIN, System.out);
  }

  /**
   * Loads the plug-in class {@code className} from {@code location} and runs it over a few words.
   *
   * @param location the plug-in's directory or jar
   * @param className the plug-in's class, which implements {@link Plugin}
   * @param out where the plug-in's lines are printed
   * @return the plug-in's lines
   * @throws Exception if the plug-in cannot be loaded or fails
   */
  public static List<String> run(Path location, String className, PrintStream out) throws Exception {
    if (!Files.exists(location)) {
      throw new IllegalArgumentException("plug-in location " + location.toAbsolutePath() + " does not exist");
    }
    // The parent is the host's own loader: the plug-in shares the host's procpool and Plugin interface,
    // and brings only its own classes.
    try (URLClassLoader loader =
        new URLClassLoader(
            "plugin", new URL[] {location.toUri().toURL()}, PluginHost.class.getClassLoader())) {
      Plugin plugin = loader.loadClass(className).asSubclass(Plugin.class).getConstructor().newInstance();
      out.println("plug-in " + className + " loaded by class loader '" + plugin.getClass().getClassLoader().getName() + "'");
      List<String> lines = plugin.run(WORDS);
      lines.forEach(out::println);
      return lines;
    }
  }
}
