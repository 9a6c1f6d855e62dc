package io.procpool.internal.codec;

import io.procpool.proto.v1.Packed;
import io.procpool.proto.v1.TaskRequest;
import io.procpool.proto.v1.TaskResult;
import io.procpool.proto.v1.Value;
import java.util.ArrayList;
import java.util.List;

/**
 * The inputs of a task or the outputs of a result, as they travel: either one {@link Value} each, or
 * small scalars of one type packed into one {@link Packed} message. Every place that reads inputs or
 * outputs goes through this type rather than testing which of the two forms it has.
 */
public sealed interface Payload permits Payload.Separate, Payload.PackedScalars {
  /** The inputs of {@code request}. */
  static Payload inputsOf(TaskRequest request) {
    return request.hasPackedInputs()
        ? new PackedScalars(request.getPackedInputs())
        : new Separate(request.getInputsList());
  }

  /** The outputs of {@code result}. */
  static Payload outputsOf(TaskResult result) {
    return result.hasPackedOutputs()
        ? new PackedScalars(result.getPackedOutputs())
        : new Separate(result.getOutputsList());
  }

  /** How many values. */
  int size();

  /** Decodes every value, in order. The exception names the value's class where it can. */
  List<Object> decodeAll(ValueCodec codec, ClassLoader loader) throws ValueCodec.CodecException;

  /**
   * The values that travel out of the stream, in blob files or arena slots (to be given back once read
   * or no longer needed).
   */
  List<Value> outOfBand();

  /**
   * Reads the values one at a time, in order, decoding each only when asked: a worker decodes an input
   * just before applying the task to it, so a bad input fails only from where it is.
   */
  Cursor cursor(ValueCodec codec, ClassLoader loader);

  /** See {@link #cursor}. */
  interface Cursor {
    /** The next value; call at most {@link Payload#size()} times. */
    Object next() throws ValueCodec.CodecException;
  }

  /** One {@link Value} per element. */
  record Separate(List<Value> values) implements Payload {
    @Override
    public int size() {
      return values.size();
    }

    @Override
    public List<Object> decodeAll(ValueCodec codec, ClassLoader loader) throws ValueCodec.CodecException {
      List<Object> out = new ArrayList<>(values.size());
      for (Value v : values) {
        out.add(codec.decode(v, loader));
      }
      return out;
    }

    @Override
    public Cursor cursor(ValueCodec codec, ClassLoader loader) {
      int[] next = {0};
      return () -> codec.decode(values.get(next[0]++), loader);
    }

    @Override
    public List<Value> outOfBand() {
      List<Value> out = null;
      for (Value v : values) {
        Value.KindCase k = v.getKindCase();
        if (k == Value.KindCase.BLOB || k == Value.KindCase.SLOT) {
          if (out == null) {
            out = new ArrayList<>(2);
          }
          out.add(v);
        }
      }
      return out == null ? List.of() : out;
    }
  }

  /** Scalars of one type (Long, Integer, Double or String) in one message. */
  record PackedScalars(Packed packed) implements Payload {
    @Override
    public int size() {
      return ValueCodec.size(packed);
    }

    @Override
    public List<Object> decodeAll(ValueCodec codec, ClassLoader loader) {
      return ValueCodec.unpack(packed);
    }

    @Override
    public List<Value> outOfBand() {
      return List.of();
    }

    @Override
    public Cursor cursor(ValueCodec codec, ClassLoader loader) {
      List<Object> all = ValueCodec.unpack(packed);
      int[] next = {0};
      return () -> all.get(next[0]++);
    }
  }
}
