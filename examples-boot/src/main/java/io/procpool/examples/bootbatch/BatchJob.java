package io.procpool.examples.bootbatch;

import static java.nio.charset.StandardCharsets.UTF_8;

import com.google.common.base.Splitter;
import com.google.common.hash.Hashing;
import io.procpool.Pool;
import io.procpool.Task;
import java.io.PrintStream;
import java.io.Serializable;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * A batch job shipped the way Spring Boot ships one, as an executable fat jar ({@code java -jar
 * job.jar}): it prices a batch of order lines in worker JVMs. The task is a capturing lambda (it captures
 * the tax rate) that uses a library class (Guava's {@code Splitter} and {@code Hashing}) nested in the
 * fat jar's {@code BOOT-INF/lib}; the pool needs no settings to run it.
 */
public final class BatchJob {
  /** Order lines: id, quantity, unit price. */
  static final List<String> ORDERS =
      List.of(
          "order-1, 3, 2.50",
          "order-2, 1, 19.99",
          "order-3, 12, 0.75",
          "order-4, 2, 120.00",
          "order-5, 7, 3.10",
          "order-6, 5, 8.00");

  private BatchJob() {}

  /** One priced line, as a worker returns it. */
  record Priced(String id, BigDecimal total, String digest, long pid, String loader) implements Serializable {
    private static final long serialVersionUID = 1L;
  }

  /**
   * Runs the job with {@code args[0]} workers (default 2).
   *
   * @param args the number of workers, optional
   * @throws Exception if a line cannot be priced
   */
  public static void main(String[] args) throws Exception {
    run(args.length > 0 ? Integer.parseInt(args[0]) : 2, System.out);
  }

  /** Prices {@link #ORDERS} on {@code workers} worker JVMs, printing each line and the batch total. */
  static BigDecimal run(int workers, PrintStream out) throws Exception {
    BigDecimal taxRate = new BigDecimal("0.20");
    Task<String, Priced> price =
        line -> {
          List<String> f = Splitter.on(',').trimResults().splitToList(line);
          BigDecimal net = new BigDecimal(f.get(2)).multiply(new BigDecimal(f.get(1)));
          BigDecimal gross = net.add(net.multiply(taxRate)).setScale(2, RoundingMode.HALF_UP);
          return new Priced(
              f.get(0),
              gross,
              Hashing.sha256().hashString(line, UTF_8).toString().substring(0, 12),
              ProcessHandle.current().pid(),
              // Where this class came from in the worker: Boot's loader, over the fat jar.
              BatchJob.class.getClassLoader().getClass().getSimpleName());
        };
    try (Pool pool = Pool.builder().workers(workers).build()) {
      BigDecimal sum = BigDecimal.ZERO;
      Set<Long> pids = new TreeSet<>();
      Set<String> loaders = new TreeSet<>();
      for (Priced p : pool.map(price, ORDERS)) {
        out.println(p.id() + " " + p.total() + " sha256:" + p.digest());
        sum = sum.add(p.total());
        pids.add(p.pid());
        loaders.add(p.loader());
      }
      out.println("total " + sum);
      out.println("parent pid " + ProcessHandle.current().pid() + ", worker pids " + pids);
      out.println("job classes loaded in the workers by " + loaders);
      return sum;
    }
  }
}
