package io.procpool.examples.plugin.letters;

import com.google.common.base.CharMatcher;
import io.procpool.Pool;
import io.procpool.Task;
import io.procpool.examples.plugin.Plugin;
import java.util.ArrayList;
import java.util.List;

/**
 * A plug-in, compiled apart from the host (into {@code target/plugin-classes}) and loaded by it through a
 * {@code URLClassLoader}: counts the letters of each word in worker JVMs, with a capturing lambda that
 * uses Guava's {@code CharMatcher}.
 */
public final class LetterCounts implements Plugin {
  @Override
  public List<String> run(List<String> words) throws Exception {
    CharMatcher letters = CharMatcher.inRange('a', 'z').or(CharMatcher.inRange('A', 'Z'));
    String unit = " letters";
    long host = ProcessHandle.current().pid();
    // CharMatcher is not Serializable: the lambda captures the String and the pid, and makes its
    // matcher in the worker.
    Task<String, String> count =
        w -> w + ": " + CharMatcher.inRange('a', 'z').or(CharMatcher.inRange('A', 'Z')).countIn(w) + unit
            + (ProcessHandle.current().pid() != host ? " (in a worker)" : " (in the host!)");
    try (Pool pool = Pool.builder().workers(2).build()) {
      List<String> out = new ArrayList<>(pool.map(count, words));
      out.add("total: " + words.stream().mapToInt(letters::countIn).sum() + unit);
      return out;
    }
  }
}
