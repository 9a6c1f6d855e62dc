package io.procpool.internal.worker;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.proto.v1.Bootstrap;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapSourceTest {
  @TempDir Path dir;

  private static final Bootstrap B = Bootstrap.newBuilder().setPoolName("p").setWorkerIndex(3).setTarget("unix:/x").build();

  private static byte[] delimited(Bootstrap b) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    b.writeDelimitedTo(out);
    return out.toByteArray();
  }

  @Test
  void read_fileVariable_readsTheFileDeletesItAndDoesNotTouchStdin() throws Exception {
    Path file = Files.write(dir.resolve("bootstrap"), delimited(B));
    ByteArrayInputStream stdin = new ByteArrayInputStream(delimited(B.toBuilder().setWorkerIndex(9).build()));
    BootstrapSource.Read r = BootstrapSource.read(Map.of(BootstrapSource.FILE_VARIABLE, file.toString()), stdin);
    assertNull(r.problem());
    assertEquals(B, r.bootstrap());
    assertFalse(r.fromStdin(), "stdin is then not the parent's lifeline");
    assertFalse(Files.exists(file), "the file holds the secret: deleted once read");
    assertTrue(stdin.available() > 0, "stdin left unread");
  }

  @Test
  void read_valueVariable_decodesBase64() throws Exception {
    String value = Base64.getEncoder().encodeToString(delimited(B));
    BootstrapSource.Read r =
        BootstrapSource.read(Map.of(BootstrapSource.VALUE_VARIABLE, value), new ByteArrayInputStream(new byte[0]));
    assertEquals(B, r.bootstrap());
    assertFalse(r.fromStdin());
  }

  @Test
  void read_noVariable_readsStdin() throws Exception {
    BootstrapSource.Read r = BootstrapSource.read(Map.of(), new ByteArrayInputStream(delimited(B)));
    assertEquals(B, r.bootstrap());
    assertTrue(r.fromStdin());
    BootstrapSource.Read empty = BootstrapSource.read(Map.of(), new ByteArrayInputStream(new byte[0]));
    assertNull(empty.bootstrap());
    assertNull(empty.problem());
  }

  @Test
  void read_missingFileOrBadValue_problemNamesTheSource() {
    BootstrapSource.Read missing = BootstrapSource.read(
        Map.of(BootstrapSource.FILE_VARIABLE, dir.resolve("nope").toString()), new ByteArrayInputStream(new byte[0]));
    assertNull(missing.bootstrap());
    assertTrue(missing.problem().contains("cannot read the bootstrap file " + dir.resolve("nope")), missing.problem());
    BootstrapSource.Read bad = BootstrapSource.read(
        Map.of(BootstrapSource.VALUE_VARIABLE, "not base64!"), new ByteArrayInputStream(new byte[0]));
    assertNull(bad.bootstrap());
    assertTrue(bad.problem().startsWith("PROCPOOL_BOOTSTRAP is not a base64"), bad.problem());
  }
}
