package io.procpool.internal.codec;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.net.URL;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ClassFilesTest {
  @Test
  void isBinaryName_javaNames_accepted() {
    for (String name : List.of("A", "a.b.C", "a.b.C$1", "REPL.$JShell$12$Point", "_x.y_", "é.Ü")) {
      assertTrue(ClassFiles.isBinaryName(name), name);
    }
  }

  @Test
  void isBinaryName_pathsAndEmptySegments_refused() {
    for (String name : List.of("", ".", "a.", ".a", "a..b", "a/b", "../a", "a.b.C.class/x", "a-b", "1a", "a b",
        "a\\b", "x".repeat(1025))) {
      assertFalse(ClassFiles.isBinaryName(name), name);
    }
  }

  @Test
  void classNameOf_classFilePath_givesBinaryNameElseNull() {
    assertEquals("a.b.C$D", ClassFiles.classNameOf("a/b/C$D.class"));
    assertNull(ClassFiles.classNameOf("a/b/C.txt"));
    assertNull(ClassFiles.classNameOf("/a/b/C.class"));
    assertNull(ClassFiles.classNameOf("../a/C.class"));
    assertNull(ClassFiles.classNameOf("a//C.class"));
    assertNull(ClassFiles.classNameOf("META-INF/x.class"));
  }

  @Test
  void location_jarEntryAndDirectory_givesCodeSourceUrl() throws Exception {
    assertEquals("file:/x/lib.jar",
        ClassFiles.location(new URL("jar:file:/x/lib.jar!/a/B.class"), "a/B.class"));
    assertEquals("file:/x/classes/", ClassFiles.location(new URL("file:/x/classes/a/B.class"), "a/B.class"));
  }

  @Test
  void classFileReader_classNames_areThoseItsConstantPoolNamesWithoutItself() throws Exception {
    ClassFileReader reader = new ClassFileReader(bytesOf(Fixture.class));

    Set<String> names = reader.classNames();

    assertEquals(Fixture.class.getName().replace('.', '/'), reader.name());
    assertTrue(names.contains(Fixture.Other.class.getName()), names::toString);
    assertTrue(names.contains(StringBuilder.class.getName()), names::toString);
    // An array of a class counts as that class; arrays of primitives are left out.
    assertTrue(names.contains(Fixture.Element.class.getName()), names::toString);
    assertFalse(names.contains(Fixture.class.getName()), names::toString);
    assertFalse(names.stream().anyMatch(n -> n.startsWith("[")), names::toString);
  }

  @Test
  void classFileReader_staticReadsAndCalls_foundPastSwitchesOfEitherKind() throws Exception {
    ClassFileReader reader = new ClassFileReader(bytesOf(Fixture.class));
    String owner = Fixture.class.getName().replace('.', '/');

    List<ClassFileReader.Member> reads = reader.staticReads("pick", "(I)I");
    List<ClassFileReader.Member> calls = reader.staticCalls("pick", "(I)I");

    assertEquals(List.of(new ClassFileReader.Member(owner, "first", "I"),
        new ClassFileReader.Member(owner, "last", "I")), reads);
    assertEquals(List.of(new ClassFileReader.Member(owner, "helper", "(I)I")), calls);
    assertEquals(List.of(), reader.staticReads("noSuchMethod", "()V"));
  }

  @Test
  void classFileReader_notAClassFile_throws() {
    assertThrows(IllegalArgumentException.class, () -> new ClassFileReader("not a class".getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
    assertFalse(ClassFileReader.isClassFile(new byte[] {(byte) 0xCA, (byte) 0xFE}));
  }

  private static byte[] bytesOf(Class<?> c) throws Exception {
    try (InputStream in = c.getClassLoader().getResourceAsStream(ClassFiles.resourceName(c.getName()))) {
      return in.readAllBytes();
    }
  }

  /** Bytecode to read: a table switch and a lookup switch between the static reads. */
  @SuppressWarnings("unused")
  static final class Fixture {
    static int first = 1;
    static int last = 2;

    static final class Other {}

    static final class Element {}

    static int helper(int x) {
      return x;
    }

    static int pick(int x) {
      int y = first;
      switch (x) {
        case 0 -> y += 3;
        case 1 -> y += 5;
        case 2 -> y += 7;
        default -> y += 11;
      }
      switch (x) {
        case 10 -> y *= 2;
        case 1000 -> y *= 3;
        case 100000 -> y *= 4;
        default -> y *= 5;
      }
      Object o = new Element[] {new Element()};
      int[] prims = new int[] {y};
      return helper(y + last + prims.length + new StringBuilder().append(o).length() + new Other().hashCode());
    }
  }
}
