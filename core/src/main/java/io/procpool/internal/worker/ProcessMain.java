package io.procpool.internal.worker;

import io.procpool.WorkerProcess;
import io.procpool.internal.codec.SerialFilters;
import io.procpool.internal.codec.ValueCodec;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Entry point of a {@link WorkerProcess} JVM: reads the target and its argument from stdin, runs the
 * target, and exits with 0 when it returns or 1 (stack trace on stderr) when it throws.
 *
 * <p>Stdin framing: an int length, then a Java-serialized {@code Object[]{target, argument}}, then an int
 * length and the ObjectInputFilter pattern in UTF-8. Nothing else follows; the pipe stays open until the
 * parent dies (see {@link ParentWatch}).
 */
public final class ProcessMain {
  private ProcessMain() {}

  public static void main(String[] args) throws IOException {
    InputStream stdin = System.in;
    DataInputStream in = new DataInputStream(stdin);
    byte[] payload;
    String filter;
    try {
      payload = in.readNBytes(in.readInt());
      filter = new String(in.readNBytes(in.readInt()), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      System.err.println(
          "procpool process: no target on stdin; this class is started by io.procpool.WorkerProcess");
      System.exit(WorkerRuntime.EXIT_BAD_BOOTSTRAP);
      return;
    }
    System.setIn(new ByteArrayInputStream(new byte[0]));
    ParentWatch.start(stdin, WorkerRuntime.EXIT_PARENT_GONE);
    ParentWatch.killDescendantsOnExit();
    int code;
    try {
      Object[] call =
          (Object[])
              new ValueCodec(SerialFilters.filter(filter))
                  .deserialize(
                      com.google.protobuf.ByteString.copyFrom(payload),
                      WorkerMain.taskLoader());
      @SuppressWarnings("unchecked")
      WorkerProcess.Target<Object> target = (WorkerProcess.Target<Object>) call[0];
      target.run(call[1]);
      code = 0;
    } catch (Throwable t) {
      t.printStackTrace();
      code = WorkerRuntime.EXIT_TARGET_FAILED;
    }
    System.out.flush();
    System.err.flush();
    System.exit(code);
  }
}
