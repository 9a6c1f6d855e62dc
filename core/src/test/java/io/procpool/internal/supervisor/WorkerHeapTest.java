package io.procpool.internal.supervisor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WorkerHeapTest {
  private static final long MIB = 1L << 20;
  private static final long GIB = 1L << 30;

  @TempDir Path dir;

  @Test
  void defaultMaxHeap_eightWorkersOn16GiB_allHeapsFitBesideTheParent() {
    long each = WorkerHeap.defaultMaxHeapBytes(16 * GIB, 8, 4 * GIB);
    // (16384 - 4096 - 9 * 128) / 8 = 1392 MiB, where the JVM's default would be 4 GiB each.
    assertEquals(1392 * MIB, each);
    assertTrue(8 * (each + 128 * MIB) + 4 * GIB + 128 * MIB <= 16 * GIB);
  }

  @Test
  void defaultMaxHeap_oneWorkerOnABigMachine_neverAboveTheJvmDefaultQuarter() {
    assertEquals(16 * GIB, WorkerHeap.defaultMaxHeapBytes(64 * GIB, 1, 1 * GIB));
  }

  @Test
  void defaultMaxHeap_tinyContainer_isTheFloor() {
    assertEquals(64 * MIB, WorkerHeap.defaultMaxHeapBytes(512 * MIB, 16, 128 * MIB));
  }

  @Test
  void defaultMaxHeap_parentWithoutHeapLimit_countsTheParentAsAQuarter() {
    assertEquals(
        WorkerHeap.defaultMaxHeapBytes(8 * GIB, 2, 2 * GIB),
        WorkerHeap.defaultMaxHeapBytes(8 * GIB, 2, Long.MAX_VALUE));
  }

  @Test
  void defaultMaxHeap_memoryUnknown_isZeroSoTheJvmDecides() {
    assertEquals(0, WorkerHeap.defaultMaxHeapBytes(0, 4, GIB));
  }

  @Test
  void defaultMaxHeap_wholeMiB() {
    assertEquals(0, WorkerHeap.defaultMaxHeapBytes(10 * GIB + 12345, 3, GIB + 777) % MIB);
  }

  @Test
  void withDefaultMaxHeap_noHeapOption_addsXmxThatFitsThisMachine() {
    List<String> out = WorkerHeap.withDefaultMaxHeap(List.of("-Dk=v"), Map.of("JAVA_TOOL_OPTIONS", ""), 8);
    assertEquals(2, out.size(), out.toString());
    assertTrue(out.get(0).matches("-Xmx\\d+m"), out.toString());
    assertEquals("-Dk=v", out.get(1));
    long each = WorkerHeap.explicitMaxHeapBytes(out);
    long physical = WorkerHeap.physicalMemory();
    assertTrue(
        each == 64 * MIB || 8 * each + Runtime.getRuntime().maxMemory() <= physical,
        "8 x " + each + " + parent " + Runtime.getRuntime().maxMemory() + " must fit in " + physical);
  }

  @Test
  void withDefaultMaxHeap_explicitHeapOption_wins() {
    for (String o :
        List.of("-Xmx2g", "-XX:MaxHeapSize=1073741824", "-XX:MaxRAMPercentage=50", "-XX:MaxRAM=4g",
            "-XX:MinRAMPercentage=30")) {
      List<String> options = List.of("-Dk=v", o);
      assertEquals(options, WorkerHeap.withDefaultMaxHeap(options, Map.of("JAVA_TOOL_OPTIONS", ""), 8), o);
    }
  }

  @Test
  void withDefaultMaxHeap_heapLimitInJavaToolOptions_wins() {
    List<String> options = List.of("-Dk=v");
    assertEquals(
        options, WorkerHeap.withDefaultMaxHeap(options, Map.of("JAVA_TOOL_OPTIONS", "-Dx=y  -Xmx300m"), 8));
  }

  @Test
  void setsMaxHeap_otherOptions_false() {
    assertFalse(WorkerHeap.setsMaxHeap(List.of("-Xms16m", "-Xss1m", "-XX:+UseSerialGC", "-XX:InitialRAMPercentage=5")));
  }

  @Test
  void parseSize_jvmSuffixes() {
    assertEquals(512 * MIB, WorkerHeap.parseSize("512m"));
    assertEquals(2 * GIB, WorkerHeap.parseSize("2G"));
    assertEquals(1024, WorkerHeap.parseSize("1k"));
    assertEquals(1000, WorkerHeap.parseSize("1000"));
    assertEquals(-1, WorkerHeap.parseSize("lots"));
  }

  @Test
  void toCommand_explicitXmxBelow16m_omitsTheDefaultXmsTheJvmWouldRefuse() throws Exception {
    List<String> cmd =
        new JvmCommand(Path.of("java"), List.of("-Xmx8m"), "cp", Map.of(), null).toCommand(dir, "Main");
    assertFalse(cmd.contains("-Xms16m"), cmd.toString());
    List<String> big =
        new JvmCommand(Path.of("java"), List.of("-Xmx2g"), "cp", Map.of(), null).toCommand(dir, "Main");
    assertTrue(big.contains("-Xms16m"), big.toString());
  }
}
