package io.procpool.bench.jmh;

import com.google.protobuf.ByteString;
import io.procpool.internal.codec.SerialFilters;
import io.procpool.internal.codec.ValueCodec;
import io.procpool.proto.v1.Packed;
import io.procpool.proto.v1.Value;
import java.io.Serializable;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The codec's micro-paths, in one JVM: one value to its wire form and back (an {@code Integer}, a
 * 100-character {@code String}, a 1 KiB {@code byte[]}, a small record through Java serialization), and a
 * chunk of 1,000 {@code Integer}s packed and unpacked, as a map's chunks travel.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class CodecBenchmark {
  /** A small user type: Java-serialized, the general path. */
  public record Point(int x, int y, String label) implements Serializable {}

  private final ClassLoader loader = CodecBenchmark.class.getClassLoader();
  private ValueCodec codec;
  private final Integer integer = 123_456;
  private final String string = "x".repeat(100);
  private final byte[] kib = new byte[1024];
  private final Point point = new Point(3, 4, "a point");
  private final List<Integer> chunk = new ArrayList<>();
  private Value integerValue;
  private Value stringValue;
  private Value kibValue;
  private Value pointValue;
  private Packed packedChunk;
  private ByteString serializedPoint;

  @Setup
  public void setUp() throws Exception {
    codec = new ValueCodec(SerialFilters.filter(SerialFilters.pattern("")));
    for (int i = 0; i < 1_000; i++) {
      chunk.add(i * 7);
    }
    integerValue = codec.encode(integer);
    stringValue = codec.encode(string);
    kibValue = codec.encode(kib);
    pointValue = codec.encode(point);
    packedChunk = ValueCodec.pack(chunk);
    serializedPoint = ValueCodec.serialize(point);
  }

  @Benchmark
  public Value encodeInteger() throws Exception {
    return codec.encode(integer);
  }

  @Benchmark
  public Object decodeInteger() throws Exception {
    return codec.decode(integerValue, loader);
  }

  @Benchmark
  public Value encodeString100() throws Exception {
    return codec.encode(string);
  }

  @Benchmark
  public Object decodeString100() throws Exception {
    return codec.decode(stringValue, loader);
  }

  @Benchmark
  public Value encodeBytes1KiB() throws Exception {
    return codec.encode(kib);
  }

  @Benchmark
  public Object decodeBytes1KiB() throws Exception {
    return codec.decode(kibValue, loader);
  }

  @Benchmark
  public Value encodeRecord() throws Exception {
    return codec.encode(point);
  }

  @Benchmark
  public Object decodeRecord() throws Exception {
    return codec.decode(pointValue, loader);
  }

  @Benchmark
  public Object deserializeRecord() throws Exception {
    return codec.deserialize(serializedPoint, loader);
  }

  @Benchmark
  public Packed packChunkOf1000Integers() {
    return ValueCodec.pack(chunk);
  }

  @Benchmark
  public List<Object> unpackChunkOf1000Integers() {
    return ValueCodec.unpack(packedChunk);
  }
}
