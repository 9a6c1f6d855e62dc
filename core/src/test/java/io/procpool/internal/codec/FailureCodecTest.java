package io.procpool.internal.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;

import io.procpool.RemoteTaskException;
import io.procpool.proto.v1.Failure;
import org.junit.jupiter.api.Test;

class FailureCodecTest {
  private final ValueCodec codec = new ValueCodec(SerialFilters.filter("maxdepth=100"));

  static final class Unserializable extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final Object notSerializable = new Object();

    Unserializable(String m, Throwable cause) {
      super(m, cause);
    }
  }

  @Test
  void roundTrip_serializableException_sameClassMessageAndFrames() {
    IllegalStateException e = new IllegalStateException("boom");
    Throwable back = FailureCodec.decode(FailureCodec.encode(Failure.Stage.RUN, e), codec, getClass().getClassLoader());
    assertInstanceOf(IllegalStateException.class, back);
    assertEquals("boom", back.getMessage());
    assertArrayEquals(e.getStackTrace(), back.getStackTrace());
  }

  @Test
  void decode_unserializableException_remoteTaskExceptionWithFramesAndCause() {
    Unserializable e = new Unserializable("no", new ArithmeticException("inner"));
    Failure f = FailureCodec.encode(Failure.Stage.RUN, e);
    assertEquals(Unserializable.class.getName(), f.getClassName());
    RemoteTaskException r =
        assertInstanceOf(RemoteTaskException.class, FailureCodec.decode(f, codec, getClass().getClassLoader()));
    assertEquals(Unserializable.class.getName(), r.remoteClassName());
    assertEquals("no", r.remoteMessage());
    assertArrayEquals(e.getStackTrace(), r.getStackTrace());
    assertEquals(Unserializable.class.getName() + ": no", r.getMessage());
    assertInstanceOf(RemoteTaskException.class, r.getCause());
    assertEquals("inner", ((RemoteTaskException) r.getCause()).remoteMessage());
  }

  @Test
  void encode_causeCycle_terminates() {
    RuntimeException a = new RuntimeException("a");
    RuntimeException b = new RuntimeException("b", a);
    a.initCause(b);
    Failure f = FailureCodec.encode(Failure.Stage.RUN, a);
    assertEquals("b", f.getCause().getMessage());
  }

  @Test
  void decode_codecStageWhoseExceptionCannotBeRecreated_isTaskCodecException() {
    Failure f =
        Failure.newBuilder()
            .setStage(Failure.Stage.ENCODE_RESULT)
            .setClassName("com.example.GoneException")
            .setMessage("Cannot send result of task Primes::count: com.example.Gone is not serializable")
            .build();
    Throwable back = FailureCodec.decode(f, codec, getClass().getClassLoader());
    io.procpool.TaskCodecException e = assertInstanceOf(io.procpool.TaskCodecException.class, back);
    assertEquals("Cannot send result of task Primes::count: com.example.Gone is not serializable", e.getMessage());
    assertEquals("com.example.GoneException", assertInstanceOf(RemoteTaskException.class, e.getCause()).remoteClassName());
  }

  @Test
  void decode_runStage_keepsTheTasksOwnException() {
    Failure f = Failure.newBuilder().setStage(Failure.Stage.RUN).setClassName("com.example.Gone").setMessage("m").build();
    assertInstanceOf(RemoteTaskException.class, FailureCodec.decode(f, codec, getClass().getClassLoader()));
  }
}
