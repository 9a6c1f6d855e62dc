package io.procpool.bench;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One flat JSON object, written on one line with its fields in insertion order, as the Python
 * peer's {@code json.dumps} writes them. Values are strings, integers, doubles (six significant
 * digits; NaN and infinities become {@code null}), lists of those, or {@code null}.
 *
 * <p>Hand-written rather than a JSON library so that the fat jar carries nothing the benchmark does
 * not measure; the values it sees are few and simple.
 */
final class JsonLine {
  private static final MathContext DIGITS = new MathContext(6);

  private final Map<String, Object> fields = new LinkedHashMap<>();

  JsonLine(String workload, String system, int workers) {
    put("workload", workload);
    put("system", system);
    put("workers", workers);
  }

  JsonLine put(String key, Object value) {
    if (value != null
        && !(value instanceof String
            || value instanceof Integer
            || value instanceof Long
            || value instanceof Double
            || value instanceof List<?>)) {
      throw new IllegalArgumentException(
          "Field "
              + key
              + " has a value of type "
              + value.getClass().getName()
              + ", but only String, Integer, Long, Double, List or null can be written");
    }
    fields.put(key, value);
    return this;
  }

  @Override
  public String toString() {
    StringBuilder b = new StringBuilder("{");
    for (Map.Entry<String, Object> e : fields.entrySet()) {
      if (b.length() > 1) {
        b.append(", ");
      }
      appendString(b, e.getKey());
      b.append(": ");
      appendValue(b, e.getValue());
    }
    return b.append('}').toString();
  }

  private static void appendValue(StringBuilder b, Object v) {
    if (v == null) {
      b.append("null");
    } else if (v instanceof String s) {
      appendString(b, s);
    } else if (v instanceof Double d) {
      if (d.isNaN() || d.isInfinite()) {
        b.append("null");
      } else {
        b.append(new BigDecimal(d).round(DIGITS).stripTrailingZeros().toPlainString());
      }
    } else if (v instanceof List<?> list) {
      b.append('[');
      for (int i = 0; i < list.size(); i++) {
        if (i > 0) {
          b.append(", ");
        }
        appendValue(b, list.get(i));
      }
      b.append(']');
    } else {
      b.append(v);
    }
  }

  private static void appendString(StringBuilder b, String s) {
    b.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '"' || c == '\\') {
        b.append('\\').append(c);
      } else if (c < 0x20) {
        b.append(String.format("\\u%04x", (int) c));
      } else {
        b.append(c);
      }
    }
    b.append('"');
  }
}
