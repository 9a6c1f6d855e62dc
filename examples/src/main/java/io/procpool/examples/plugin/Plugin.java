package io.procpool.examples.plugin;

import java.util.List;

/**
 * What a plug-in implements. The host knows only this interface; the plug-in's classes live in a
 * directory or jar of their own, opened by the host in a new {@code URLClassLoader}.
 */
public interface Plugin {
  /**
   * Runs the plug-in over {@code input}.
   *
   * @param input the lines to work on
   * @return one line of output per input line
   * @throws Exception whatever the plug-in's work throws
   */
  List<String> run(List<String> input) throws Exception;
}
