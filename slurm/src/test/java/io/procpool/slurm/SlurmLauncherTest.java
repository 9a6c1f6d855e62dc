package io.procpool.slurm;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.procpool.spi.WorkerSpec;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The srun command lines the options make: no process. */
class SlurmLauncherTest {
  private static WorkerSpec spec(Path dir) {
    return new WorkerSpec(2, 17, "p-1", new byte[] {1}, "unix:/x", List.of("java", "-cp", "x", "Main"), Map.of(), dir);
  }

  @Test
  void command_defaults_oneTaskOneCpuNamedAfterPoolSlotAndStart() {
    List<String> cmd = SlurmLauncher.builder().build().command(spec(null));
    assertEquals(List.of("srun", "--ntasks=1", "--nodes=1", "--job-name=procpool-p-1-w2-17", "--cpus-per-task=1",
        "--quiet", "java", "-cp", "x", "Main"), cmd);
  }

  @Test
  void command_everyOption_becomesItsSrunFlagBeforeTheWorkerCommand() {
    List<String> cmd =
        SlurmLauncher.builder()
            .partition("debug")
            .account("lab")
            .cpusPerWorker(4)
            .memoryPerWorker("2G")
            .timeLimit(Duration.ofSeconds(90))
            .srunArgs("--qos=long")
            .commands("/opt/slurm/bin/srun", "/opt/slurm/bin/scancel")
            .build()
            .command(spec(Path.of("/work")));
    assertEquals(List.of("/opt/slurm/bin/srun", "--ntasks=1", "--nodes=1", "--job-name=procpool-p-1-w2-17",
        "--cpus-per-task=4", "--quiet", "--partition=debug", "--account=lab", "--mem=2G", "--time=2",
        "--chdir=/work", "--qos=long", "java", "-cp", "x", "Main"), cmd);
  }

  @Test
  void builder_badValues_refusedAtOnceNamingTheOption() {
    IllegalArgumentException cpus =
        assertThrows(IllegalArgumentException.class, () -> SlurmLauncher.builder().cpusPerWorker(0));
    assertEquals("cpusPerWorker is 0, but must be at least 1", cpus.getMessage());
    IllegalArgumentException mem =
        assertThrows(IllegalArgumentException.class, () -> SlurmLauncher.builder().memoryPerWorker("lots"));
    assertTrue(mem.getMessage().startsWith("memoryPerWorker is \"lots\""), mem.getMessage());
    assertThrows(IllegalArgumentException.class, () -> SlurmLauncher.builder().timeLimit(Duration.ZERO));
    assertThrows(IllegalArgumentException.class, () -> SlurmLauncher.builder().partition(" "));
  }
}
