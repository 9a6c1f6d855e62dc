package io.procpool.internal.codec;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Reads the little of a class file that procpool needs: the classes its constant pool names (what the
 * class server sends ahead of a request) and, for one method, the static fields it reads and the static
 * methods it calls (what the jshell check looks for). Not a verifier: it reads bytes that a class loader
 * of this JVM returned, and throws a {@link RuntimeException} ({@link IllegalArgumentException}, {@link
 * IndexOutOfBoundsException}) where they do not parse; callers treat that as "nothing to learn".
 *
 * <p>Why by hand: the JDK's class-file API is not public before JDK 24, and a bytecode library (ASM) would
 * be a dependency of every user for a hundred lines of reading.
 */
final class ClassFileReader {
  /** A field or method of another class, as an instruction names it. */
  record Member(String owner, String name, String descriptor) {}

  private static final int MAGIC = 0xCAFEBABE;

  private static final int UTF8 = 1;
  private static final int CLASS = 7;
  private static final int FIELDREF = 9;
  private static final int METHODREF = 10;
  private static final int INTERFACE_METHODREF = 11;
  private static final int NAME_AND_TYPE = 12;

  private static final int GETSTATIC = 0xb2;
  private static final int INVOKESTATIC = 0xb8;

  private final byte[] b;
  /** Offset of each constant-pool entry's tag; 0 for the unused slot after a long or double. */
  private final int[] entries;
  /** Offset of the access flags that follow the constant pool. */
  private final int afterPool;

  ClassFileReader(byte[] bytes) {
    this.b = bytes;
    if (bytes.length < 10 || s4(0) != MAGIC) {
      throw new IllegalArgumentException("not a class file (no 0xCAFEBABE at its start)");
    }
    int count = u2(8);
    entries = new int[count];
    int p = 10;
    for (int i = 1; i < count; i++) {
      entries[i] = p;
      int tag = u1(p);
      p += switch (tag) {
        case UTF8 -> 3 + u2(p + 1);
        case 3, 4 -> 5; // Integer, Float
        case 5, 6 -> 9; // Long, Double: take two slots
        case CLASS, 8, 16, 19, 20 -> 3; // Class, String, MethodType, Module, Package
        case FIELDREF, METHODREF, INTERFACE_METHODREF, NAME_AND_TYPE, 17, 18 -> 5; // refs, (Invoke)Dynamic
        case 15 -> 4; // MethodHandle
        default -> throw new IllegalArgumentException("unknown constant-pool tag " + tag + " at " + p);
      };
      if (tag == 5 || tag == 6) {
        i++;
      }
    }
    afterPool = p;
  }

  /** Whether {@code bytes} start as a class file does. */
  static boolean isClassFile(byte[] bytes) {
    return bytes.length >= 10
        && (bytes[0] & 0xff) == 0xCA && (bytes[1] & 0xff) == 0xFE
        && (bytes[2] & 0xff) == 0xBA && (bytes[3] & 0xff) == 0xBE;
  }

  /** This class's name, internal form ({@code a/b/C}). */
  String name() {
    return className(u2(afterPool + 2));
  }

  /**
   * The binary names ({@code a.b.C}) of the classes the constant pool names, arrays reduced to their
   * element class, primitive arrays left out, this class itself left out; in constant-pool order.
   */
  Set<String> classNames() {
    String self = name();
    Set<String> out = new LinkedHashSet<>();
    for (int i = 1; i < entries.length; i++) {
      if (entries[i] != 0 && u1(entries[i]) == CLASS) {
        String n = className(i);
        int dims = 0;
        while (dims < n.length() && n.charAt(dims) == '[') {
          dims++;
        }
        if (dims > 0) {
          if (n.length() < dims + 3 || n.charAt(dims) != 'L' || !n.endsWith(";")) {
            continue; // An array of primitives.
          }
          n = n.substring(dims + 1, n.length() - 1);
        }
        if (!n.equals(self)) {
          out.add(n.replace('/', '.'));
        }
      }
    }
    return out;
  }

  /**
   * The code of method {@code name} with {@code descriptor}, or null if this class has no such method or
   * it has no code (abstract, native).
   */
  private int[] code(String name, String descriptor) {
    int p = afterPool + 6;
    p += 2 * u2(p) + 2; // Interfaces.
    p = skipMembers(p);
    int methods = u2(p);
    p += 2;
    for (int m = 0; m < methods; m++) {
      boolean match = utf8(u2(p + 2)).equals(name) && utf8(u2(p + 4)).equals(descriptor);
      int attributes = u2(p + 6);
      p += 8;
      for (int a = 0; a < attributes; a++) {
        int length = s4(p + 2);
        if (match && utf8(u2(p)).equals("Code")) {
          int codeLength = s4(p + 10);
          return new int[] {p + 14, codeLength};
        }
        p += 6 + length;
      }
    }
    return null;
  }

  private int skipMembers(int p) {
    int count = u2(p);
    p += 2;
    for (int i = 0; i < count; i++) {
      int attributes = u2(p + 6);
      p += 8;
      for (int a = 0; a < attributes; a++) {
        p += 6 + s4(p + 2);
      }
    }
    return p;
  }

  /** The static fields method {@code name}{@code descriptor} reads (GETSTATIC), in code order. */
  List<Member> staticReads(String name, String descriptor) {
    return scan(name, descriptor, GETSTATIC);
  }

  /** The static methods method {@code name}{@code descriptor} calls (INVOKESTATIC), in code order. */
  List<Member> staticCalls(String name, String descriptor) {
    return scan(name, descriptor, INVOKESTATIC);
  }

  private List<Member> scan(String name, String descriptor, int opcode) {
    int[] code = code(name, descriptor);
    List<Member> out = new ArrayList<>();
    if (code == null) {
      return out;
    }
    int start = code[0];
    int end = start + code[1];
    for (int pc = start; pc < end; ) {
      int op = u1(pc);
      if (op == opcode) {
        int ref = entries[u2(pc + 1)];
        int nameAndType = entries[u2(ref + 3)];
        out.add(new Member(className(u2(ref + 1)), utf8(u2(nameAndType + 1)), utf8(u2(nameAndType + 3))));
      }
      int length = instructionLength(pc, start);
      if (length <= 0) {
        break; // Not an opcode we know: stop rather than read operands as instructions.
      }
      pc += length;
    }
    return out;
  }

  /** Length in bytes of the instruction at {@code pc}; {@code start} is where the code begins. */
  private int instructionLength(int pc, int start) {
    int op = u1(pc);
    switch (op) {
      case 0xaa -> { // tableswitch: padding to a multiple of 4 from the code's start, then default, low, high
        int p = pc + 1 + (3 - ((pc - start) & 3));
        int low = s4(p + 4);
        int high = s4(p + 8);
        return p + 12 + 4 * (high - low + 1) - pc;
      }
      case 0xab -> { // lookupswitch: padding, default, npairs, pairs
        int p = pc + 1 + (3 - ((pc - start) & 3));
        return p + 8 + 8 * s4(p + 4) - pc;
      }
      case 0xc4 -> { // wide: iinc takes 4 more operand bytes, the loads and stores 2
        return u1(pc + 1) == 0x84 ? 6 : 4;
      }
      default -> {
        return op < LENGTHS.length ? LENGTHS[op] : 0;
      }
    }
  }

  /** Length of each fixed-length instruction, by opcode (JVMS chapter 6); 0 for the variable ones. */
  private static final int[] LENGTHS = lengths();

  private static int[] lengths() {
    int[] n = new int[0xca];
    java.util.Arrays.fill(n, 1);
    n[0x10] = 2; // bipush
    n[0x11] = 3; // sipush
    n[0x12] = 2; // ldc
    n[0x13] = 3; // ldc_w
    n[0x14] = 3; // ldc2_w
    for (int op = 0x15; op <= 0x19; op++) {
      n[op] = 2; // iload .. aload
    }
    for (int op = 0x36; op <= 0x3a; op++) {
      n[op] = 2; // istore .. astore
    }
    n[0x84] = 3; // iinc
    for (int op = 0x99; op <= 0xa8; op++) {
      n[op] = 3; // if<cond>, if_<cmp>, goto, jsr
    }
    n[0xa9] = 2; // ret
    n[0xaa] = 0; // tableswitch
    n[0xab] = 0; // lookupswitch
    for (int op = 0xb2; op <= 0xb8; op++) {
      n[op] = 3; // get/put static/field, invokevirtual, invokespecial, invokestatic
    }
    n[0xb9] = 5; // invokeinterface
    n[0xba] = 5; // invokedynamic
    n[0xbb] = 3; // new
    n[0xbc] = 2; // newarray
    n[0xbd] = 3; // anewarray
    n[0xc0] = 3; // checkcast
    n[0xc1] = 3; // instanceof
    n[0xc4] = 0; // wide
    n[0xc5] = 4; // multianewarray
    n[0xc6] = 3; // ifnull
    n[0xc7] = 3; // ifnonnull
    n[0xc8] = 5; // goto_w
    n[0xc9] = 5; // jsr_w
    return n;
  }

  private String className(int index) {
    int p = entries[index];
    if (u1(p) != CLASS) {
      throw new IllegalArgumentException("constant " + index + " is not a class");
    }
    return utf8(u2(p + 1));
  }

  private String utf8(int index) {
    int p = entries[index];
    if (u1(p) != UTF8) {
      throw new IllegalArgumentException("constant " + index + " is not a UTF-8 string");
    }
    int length = u2(p + 1);
    // Modified UTF-8 differs from UTF-8 only for NUL and supplementary characters, which class and
    // member names of Java sources do not contain; a name that does comes out garbled, never wrong.
    return new String(b, p + 3, length, StandardCharsets.UTF_8);
  }

  private int u1(int p) {
    return b[p] & 0xff;
  }

  private int u2(int p) {
    return ((b[p] & 0xff) << 8) | (b[p + 1] & 0xff);
  }

  private int s4(int p) {
    return ((b[p] & 0xff) << 24) | ((b[p + 1] & 0xff) << 16) | ((b[p + 2] & 0xff) << 8) | (b[p + 3] & 0xff);
  }
}
