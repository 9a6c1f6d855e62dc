package io.procpool.internal.transport;

import java.text.MessageFormat;
import java.util.List;
import java.util.ResourceBundle;
import java.util.concurrent.CopyOnWriteArrayList;

/** A System.Logger that keeps every line, formatted, with its level. */
final class RecordingLogger implements System.Logger {
  record Line(Level level, String message) {}

  final List<Line> lines = new CopyOnWriteArrayList<>();

  long count(Level level, String fragment) {
    return lines.stream().filter(l -> l.level() == level && l.message().contains(fragment)).count();
  }

  @Override
  public String getName() {
    return "recording";
  }

  @Override
  public boolean isLoggable(Level level) {
    return true;
  }

  @Override
  public void log(Level level, ResourceBundle bundle, String msg, Throwable thrown) {
    lines.add(new Line(level, msg));
  }

  @Override
  public void log(Level level, ResourceBundle bundle, String format, Object... params) {
    lines.add(new Line(level, params == null || params.length == 0 ? format : MessageFormat.format(format, params)));
  }
}
