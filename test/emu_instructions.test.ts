// Single instructions on the emulator's Cpu, without a guest: results and flags against values worked out by
// hand from the Intel SDM's instruction pages (the comments show the arithmetic).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { type Cpu, CS, DS, ES, FS, TR } from "../src/accel/emu/cpu.js";
import { DE, GP, UD } from "../src/accel/emu/fault.js";
import { flags, type Mode, makeCpu, reg, run, setReg, step, type TestCpu } from "./helpers/emu_cpu.js";

const [RAX, RCX, RDX, RBX, , , RSI, RDI, R8, R9] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9];
const CF = 0x1;
const PF = 0x4;
const AF = 0x10;
const ZF = 0x40;
const SF = 0x80;
const DF = 0x400;
const OF = 0x800;
const FIXED = 0x2;

const hex = (s: string) => s.split(" ").map((b) => Number.parseInt(b, 16));

/** A CPU in `mode` with registers and flags set; runs `code` (one instruction unless `count`). */
function exec(
  mode: Mode,
  code: string,
  regs: Record<number, bigint | number> = {},
  eflags = 0,
  count = 1,
): { t: TestCpu; cpu: Cpu; fault: number } {
  const t = makeCpu(mode);
  const { cpu } = t;
  for (const [r, v] of Object.entries(regs)) setReg(cpu, Number(r), v);
  cpu.setEflags(FIXED | eflags);
  const fault = run(t, hex(code), count);
  return { t, cpu, fault };
}

const x = (v: bigint) => `0x${v.toString(16)}`;
function eqReg(cpu: Cpu, r: number, want: bigint | number): void {
  const got = reg(cpu, r);
  const w = BigInt.asUintN(64, BigInt(want));
  assert.equal(x(got), x(w), `register ${r}`);
}
function eqFlags(cpu: Cpu, want: number, mask = CF | PF | AF | ZF | SF | OF): void {
  const got = flags(cpu) & mask;
  assert.equal(`0x${got.toString(16)}`, `0x${(want & mask).toString(16)}`, "flags");
}

describe("ADD, ADC, SUB, SBB, CMP: carry and overflow edges at each size", () => {
  test("8-bit: 0x7f + 1 overflows to 0x80; 0xff + 1 carries to 0", () => {
    // 0x7f + 0x01 = 0x80: signed overflow, SF, AF (0xf + 1 carries out of bit 3), PF odd (one bit).
    let { cpu } = exec(64, "00 d8", { [RAX]: 0x7f, [RBX]: 1 });
    eqReg(cpu, RAX, 0x80);
    eqFlags(cpu, OF | SF | AF);
    // 0xff + 0x01 = 0x100: CF, ZF, AF, PF (zero has even parity).
    ({ cpu } = exec(64, "00 d8", { [RAX]: 0xff, [RBX]: 1 }));
    eqReg(cpu, RAX, 0);
    eqFlags(cpu, CF | ZF | AF | PF);
  });
  test("16-bit: 0x8000 + 0x8000 = 0 with CF and OF; the upper bits of RAX are kept", () => {
    const { cpu } = exec(64, "66 01 d8", { [RAX]: 0x1111222233338000n, [RBX]: 0x8000 });
    eqReg(cpu, RAX, 0x1111222233330000n);
    eqFlags(cpu, CF | OF | ZF | PF);
  });
  test("32-bit: 0x7fffffff + 1 = 0x80000000 (OF, SF, AF, PF); the write zero-extends", () => {
    const { cpu } = exec(64, "01 d8", { [RAX]: 0xffffffff7fffffffn, [RBX]: 1 });
    eqReg(cpu, RAX, 0x80000000);
    eqFlags(cpu, OF | SF | AF | PF);
  });
  test("64-bit: all-ones + 1 carries out; 0x7fff...f + 1 overflows", () => {
    let { cpu } = exec(64, "48 01 d8", { [RAX]: -1n, [RBX]: 1 });
    eqReg(cpu, RAX, 0);
    eqFlags(cpu, CF | ZF | AF | PF);
    ({ cpu } = exec(64, "48 01 d8", { [RAX]: 0x7fffffffffffffffn, [RBX]: 1 }));
    eqReg(cpu, RAX, 0x8000000000000000n);
    eqFlags(cpu, OF | SF | AF | PF);
  });
  test("ADC: the carry-in makes 0xffffffff + 0 + 1 carry, and all-ones + all-ones + 1 stay all-ones", () => {
    let { cpu } = exec(64, "11 d8", { [RAX]: 0xffffffff, [RBX]: 0 }, CF);
    eqReg(cpu, RAX, 0);
    eqFlags(cpu, CF | ZF | AF | PF);
    // 0xffff...f + 0xffff...f + 1 = 0x1_ffff...f: CF; AF from 0xf + 0xf + 1; no signed overflow (-1 + -1 + 1 = -1).
    ({ cpu } = exec(64, "48 11 d8", { [RAX]: -1n, [RBX]: -1n }, CF));
    eqReg(cpu, RAX, -1n);
    eqFlags(cpu, CF | AF | SF | PF);
    // 16-bit: 0x7fff + 0 + 1 = 0x8000 overflows only because of the carry-in.
    ({ cpu } = exec(64, "66 11 d8", { [RAX]: 0x7fff, [RBX]: 0 }, CF));
    eqReg(cpu, RAX, 0x8000);
    eqFlags(cpu, OF | SF | AF | PF);
  });
  test("SUB 8-bit: 0x80 - 1 overflows; 0 - 1 borrows", () => {
    let { cpu } = exec(64, "28 d8", { [RAX]: 0x80, [RBX]: 1 });
    eqReg(cpu, RAX, 0x7f);
    eqFlags(cpu, OF | AF);
    ({ cpu } = exec(64, "28 d8", { [RAX]: 0, [RBX]: 1 }));
    eqReg(cpu, RAX, 0xff);
    eqFlags(cpu, CF | SF | AF | PF);
  });
  test("SUB 32-bit: 0x80000000 - 1 overflows; 64-bit: 0 - 0x8000000000000000 overflows and borrows", () => {
    let { cpu } = exec(64, "29 d8", { [RAX]: 0x80000000, [RBX]: 1 });
    eqReg(cpu, RAX, 0x7fffffff);
    eqFlags(cpu, OF | AF | PF);
    ({ cpu } = exec(64, "48 29 d8", { [RAX]: 0, [RBX]: 0x8000000000000000n }));
    eqReg(cpu, RAX, 0x8000000000000000n);
    eqFlags(cpu, CF | OF | SF | PF);
  });
  test("SBB: the borrow-in makes 0 - 0xffff - 1 wrap to 0 with CF; 0 - 0 - 1 is all-ones", () => {
    let { cpu } = exec(64, "66 19 d8", { [RAX]: 0, [RBX]: 0xffff }, CF);
    eqReg(cpu, RAX, 0);
    eqFlags(cpu, CF | ZF | AF | PF);
    ({ cpu } = exec(64, "48 19 d8", { [RAX]: 0, [RBX]: 0 }, CF));
    eqReg(cpu, RAX, -1n);
    eqFlags(cpu, CF | SF | AF | PF);
    // 8-bit: 0x80 - 0x7f - 1 = 0: OF clear (-128 - 127 - 1 = -256 wraps to 0, but the sign flips from - to +... )
    // r = 0, a = 0x80, b = 0x7f: (a ^ b) & (a ^ r) = 0xff & 0x80 -> OF set.
    ({ cpu } = exec(64, "18 d8", { [RAX]: 0x80, [RBX]: 0x7f }, CF));
    eqReg(cpu, RAX, 0);
    eqFlags(cpu, OF | ZF | PF | AF);
  });
  test("CMP sets SUB's flags and writes nothing", () => {
    const { cpu } = exec(64, "39 d8", { [RAX]: 1, [RBX]: 2 });
    eqReg(cpu, RAX, 1);
    eqFlags(cpu, CF | SF | AF | PF);
  });
});

describe("INC, DEC, NEG", () => {
  test("INC keeps CF and overflows at 0x7fffffff", () => {
    const { cpu } = exec(64, "ff c0", { [RAX]: 0x7fffffff }, CF);
    eqReg(cpu, RAX, 0x80000000);
    eqFlags(cpu, CF | OF | SF | AF | PF);
  });
  test("DEC r8b from 0 keeps CF clear and the upper bits of R8", () => {
    const { cpu } = exec(64, "41 fe c8", { [R8]: 0x1234567800000000n });
    eqReg(cpu, R8, 0x12345678000000ffn);
    eqFlags(cpu, SF | AF | PF);
  });
  test("INC 64-bit carries into the high half; DEC 16-bit of 0x8000 overflows", () => {
    let { cpu } = exec(64, "48 ff c0", { [RAX]: 0xffffffffn });
    eqReg(cpu, RAX, 0x100000000n);
    eqFlags(cpu, AF | PF);
    ({ cpu } = exec(64, "66 ff c8", { [RAX]: 0x8000 }, CF));
    eqReg(cpu, RAX, 0x7fff);
    eqFlags(cpu, CF | OF | AF | PF);
  });
  test("NEG: 0 clears CF; 0x80000000 overflows to itself; 1 becomes all-ones", () => {
    let { cpu } = exec(64, "f7 d8", { [RAX]: 0 }, CF);
    eqFlags(cpu, ZF | PF);
    ({ cpu } = exec(64, "f7 d8", { [RAX]: 0x80000000 }));
    eqReg(cpu, RAX, 0x80000000);
    eqFlags(cpu, CF | OF | SF | PF);
    ({ cpu } = exec(64, "f7 d8", { [RAX]: 1 }));
    eqReg(cpu, RAX, 0xffffffff);
    eqFlags(cpu, CF | SF | AF | PF);
    ({ cpu } = exec(64, "48 f7 d8", { [RAX]: 1 }));
    eqReg(cpu, RAX, -1n);
    eqFlags(cpu, CF | SF | AF | PF);
  });
});

describe("shifts and rotates", () => {
  const SZPC = CF | ZF | SF | PF;
  test("SHL by 1: OF = MSB(result) XOR CF", () => {
    let { cpu } = exec(64, "d1 e0", { [RAX]: 0x40000000 });
    eqReg(cpu, RAX, 0x80000000);
    eqFlags(cpu, OF | SF | PF, CF | OF | SF | ZF | PF);
    ({ cpu } = exec(64, "d0 e0", { [RAX]: 0x81 }));
    eqReg(cpu, RAX, 0x02);
    eqFlags(cpu, CF | OF, CF | OF | SF | ZF | PF);
  });
  test("a count of 0 changes no flag; a 32-bit register is still written (zero-extended)", () => {
    const all = CF | PF | AF | ZF | SF | OF;
    const { cpu } = exec(64, "c1 e0 00", { [RAX]: 0x12345678 }, all);
    eqReg(cpu, RAX, 0x12345678);
    eqFlags(cpu, all);
    // CL = 32 masks to 0 for a 32-bit operand: no flag changes, but the upper half is cleared (as on Intel).
    let r = exec(64, "d3 e0", { [RAX]: 0xaaaaaaaa12345678n, [RCX]: 32 }, CF);
    eqReg(r.cpu, RAX, 0x12345678);
    eqFlags(r.cpu, CF);
    // A 16-bit operand keeps the rest of the register.
    r = exec(64, "66 d3 e0", { [RAX]: 0xaaaaaaaa12345678n, [RCX]: 32 }, CF);
    eqReg(r.cpu, RAX, 0xaaaaaaaa12345678n);
  });
  test("undefined flags follow Intel: OF of a multi-bit shift is the first step's; ROL/ROR by imm > 1 keep OF", () => {
    // shl al, 2 on 0x40: the first step turns 0x40 into 0x80 (sign change): OF = 1; CF = bit 6 = 1; AF cleared.
    let { cpu } = exec(64, "c0 e0 02", { [RAX]: 0x40 }, AF);
    eqReg(cpu, RAX, 0);
    eqFlags(cpu, CF | ZF | PF | OF);
    // shr eax, cl=4 on 0x80000000: OF = the original MSB.
    ({ cpu } = exec(64, "d3 e8", { [RAX]: 0x80000000, [RCX]: 4 }));
    eqReg(cpu, RAX, 0x08000000);
    eqFlags(cpu, OF | PF);
    // rol al, 2 (immediate) on 1: CF = 0; OF stays as it was.
    ({ cpu } = exec(64, "c0 c0 02", { [RAX]: 1 }, OF | CF));
    eqReg(cpu, RAX, 4);
    eqFlags(cpu, OF);
    // rol al, cl=2 on 0x40: OF from the first step (0x40 -> 0x80: MSB 0 XOR bit 6 1 = 1).
    ({ cpu } = exec(64, "d2 c0", { [RAX]: 0x40, [RCX]: 2 }));
    eqReg(cpu, RAX, 1);
    eqFlags(cpu, CF | OF);
  });
  test("the count is masked to 5 bits (6 for 64-bit operands)", () => {
    // 33 & 31 = 1: 1 << 1 = 2.
    let { cpu } = exec(64, "d3 e0", { [RAX]: 1, [RCX]: 33 });
    eqReg(cpu, RAX, 2);
    eqFlags(cpu, 0, SZPC | OF);
    // 64-bit: 33 stays 33; 65 & 63 = 1.
    ({ cpu } = exec(64, "48 d3 e0", { [RAX]: 1, [RCX]: 33 }));
    eqReg(cpu, RAX, 0x200000000n);
    eqFlags(cpu, PF, SZPC);
    ({ cpu } = exec(64, "48 d3 e0", { [RAX]: 1, [RCX]: 65 }));
    eqReg(cpu, RAX, 2);
  });
  test("SHL of a 16-bit operand by 16: CF is the last bit out (bit 0), the result 0", () => {
    const { cpu } = exec(64, "66 c1 e0 10", { [RAX]: 0xffff0001n });
    eqReg(cpu, RAX, 0xffff0000n);
    eqFlags(cpu, CF | ZF | PF, SZPC);
  });
  test("SHR: CF is the last bit out, OF (count 1) the original MSB", () => {
    let { cpu } = exec(64, "d1 e8", { [RAX]: 0x80000001 });
    eqReg(cpu, RAX, 0x40000000);
    eqFlags(cpu, CF | OF | PF, SZPC | OF);
    // 0xf8 >> 4 = 0x0f, CF = bit 3 = 1, PF (4 bits).
    ({ cpu } = exec(64, "c1 e8 04", { [RAX]: 0xf8 }));
    eqReg(cpu, RAX, 0x0f);
    eqFlags(cpu, CF | PF, SZPC);
    // 64-bit across the halves: 0x0000000180000000 >> 32 = 1, CF = bit 31 = 1.
    ({ cpu } = exec(64, "48 c1 e8 20", { [RAX]: 0x180000000n }));
    eqReg(cpu, RAX, 1);
    eqFlags(cpu, CF, SZPC);
  });
  test("SAR keeps the sign; OF is 0 for a count of 1", () => {
    let { cpu } = exec(64, "d1 f8", { [RAX]: 0x80000001 });
    eqReg(cpu, RAX, 0xc0000000);
    eqFlags(cpu, CF | SF | PF, SZPC | OF);
    // 8-bit by 9 (not masked to 8 bits: 9 & 31 = 9): all sign, CF = the sign too.
    ({ cpu } = exec(64, "d2 f8", { [RAX]: 0x80, [RCX]: 9 }));
    eqReg(cpu, RAX, 0xff);
    eqFlags(cpu, CF | SF | PF, SZPC);
    // 64-bit by 63: all ones; CF = bit 62 = 0.
    ({ cpu } = exec(64, "48 c1 f8 3f", { [RAX]: 0x8000000000000000n }));
    eqReg(cpu, RAX, -1n);
    eqFlags(cpu, SF | PF, SZPC);
  });
  test("ROL/ROR change only CF and OF", () => {
    // 0x81 rol 1 = 0x03: CF = LSB = 1, OF = MSB XOR CF = 1; ZF (set before) stays although the result is not 0.
    let { cpu } = exec(64, "d0 c0", { [RAX]: 0x81 }, ZF | AF);
    eqReg(cpu, RAX, 0x03);
    eqFlags(cpu, ZF | AF | CF | OF);
    // 1 ror 1 = 0x80000000: CF = MSB = 1, OF = MSB XOR next = 1.
    ({ cpu } = exec(64, "d1 c8", { [RAX]: 1 }));
    eqReg(cpu, RAX, 0x80000000);
    eqFlags(cpu, CF | OF);
    ({ cpu } = exec(64, "48 c1 c0 04", { [RAX]: 0xf000000000000001n }));
    eqReg(cpu, RAX, 0x1fn);
    eqFlags(cpu, CF, CF);
    ({ cpu } = exec(64, "66 c1 c8 08", { [RAX]: 0x1234 }, CF));
    eqReg(cpu, RAX, 0x3412);
    eqFlags(cpu, 0, CF);
    // An 8-bit rotate by 8: the value is unchanged, but the count is not 0, so CF = LSB.
    ({ cpu } = exec(64, "c0 c0 08", { [RAX]: 0x01 }));
    eqReg(cpu, RAX, 0x01);
    eqFlags(cpu, CF, CF);
    // ROR 64 by 36: 0x0000000123456789 -> 0x2345678900000001 (rotate right 36 = left 28).
    ({ cpu } = exec(64, "48 c1 c8 24", { [RAX]: 0x123456789n }));
    eqReg(cpu, RAX, 0x1234567890000000n);
  });
  test("RCL/RCR rotate through CF", () => {
    // rcl al,1 with CF=1: 0x80 -> 0x01, CF = 1 (old MSB), OF = MSB XOR CF = 1.
    let { cpu } = exec(64, "d0 d0", { [RAX]: 0x80 }, CF);
    eqReg(cpu, RAX, 0x01);
    eqFlags(cpu, CF | OF);
    // rcr al,1 with CF=1: 0x01 -> 0x80, CF = 1 (old LSB), OF = old MSB XOR old CF = 1.
    ({ cpu } = exec(64, "d0 d8", { [RAX]: 0x01 }, CF));
    eqReg(cpu, RAX, 0x80);
    eqFlags(cpu, CF | OF);
    // rcl al,9: 9 mod 9 = 0: nothing moves, CF stays.
    ({ cpu } = exec(64, "c0 d0 09", { [RAX]: 0x5a }, 0));
    eqReg(cpu, RAX, 0x5a);
    eqFlags(cpu, 0, CF);
    // rcr eax,4 with CF=1 on 0x10: steps 0x80000008, 0x40000004, 0x20000002, 0x10000001; CF ends 0.
    ({ cpu } = exec(64, "c1 d8 04", { [RAX]: 0x10 }, CF));
    eqReg(cpu, RAX, 0x10000001);
    eqFlags(cpu, 0, CF);
    // 64-bit: rcl rax,1 with CF=1 on 0x8000000000000000 -> 1, CF = 1; rcr rax,1 with CF=0 on 1 -> 0, CF = 1.
    ({ cpu } = exec(64, "48 d1 d0", { [RAX]: 0x8000000000000000n }, CF));
    eqReg(cpu, RAX, 1);
    eqFlags(cpu, CF, CF);
    ({ cpu } = exec(64, "48 d1 d8", { [RAX]: 1 }));
    eqReg(cpu, RAX, 0);
    eqFlags(cpu, CF, CF | OF);
    // rcl rax,40 with CF=1 on 1: 1 << 40 | CF << 39 = 0x18000000000; CF = bit 24 of 1 = 0.
    ({ cpu } = exec(64, "48 c1 d0 28", { [RAX]: 1 }, CF));
    eqReg(cpu, RAX, 0x18000000000n);
    eqFlags(cpu, 0, CF);
    // rcr ax,17 is rcr by 17 mod 17 = 0.
    ({ cpu } = exec(64, "66 c1 d8 11", { [RAX]: 0x1234 }, CF));
    eqReg(cpu, RAX, 0x1234);
    eqFlags(cpu, CF, CF);
  });
  test("shifts of memory operands", () => {
    const t = makeCpu(64);
    t.guest.writeU32(0x2000, 0x80000001);
    setReg(t.cpu, RBX, 0x2000);
    run(t, hex("d1 23")); // shl dword [rbx], 1
    assert.equal(t.guest.readU32(0x2000), 2);
    eqFlags(t.cpu, CF | OF, CF | OF | ZF | SF);
  });
  test("SHLD/SHRD", () => {
    // shld eax, ebx, 4: 0x12345678 << 4 | 0x9abcdef0 >> 28 = 0x23456789; CF = bit 28 of EAX = 1.
    let { cpu } = exec(64, "0f a4 d8 04", { [RAX]: 0x12345678, [RBX]: 0x9abcdef0 });
    eqReg(cpu, RAX, 0x23456789);
    eqFlags(cpu, CF, SZPC);
    // shrd eax, ebx, cl=8: 0x12345678 >> 8 | 0xf0 << 24 = 0xf0123456; CF = bit 7 of EAX = 0; PF: 0x56 has 4 bits.
    ({ cpu } = exec(64, "0f ad d8", { [RAX]: 0x12345678, [RBX]: 0x9abcdef0, [RCX]: 8 }));
    eqReg(cpu, RAX, 0xf0123456);
    eqFlags(cpu, SF | PF, SZPC);
    // shld rax, rbx, 16: CF = bit 48 of RAX (0x0123 -> 1).
    ({ cpu } = exec(64, "48 0f a4 d8 10", { [RAX]: 0x0123456789abcdefn, [RBX]: 0xfedcba9876543210n }));
    eqReg(cpu, RAX, 0x456789abcdeffedcn);
    eqFlags(cpu, CF, CF);
    // shrd rax, rbx, 36.
    ({ cpu } = exec(64, "48 0f ac d8 24", { [RAX]: 0x0123456789abcdefn, [RBX]: 0xfedcba9876543210n }));
    // 0x0123456789abcdef >> 36 = 0x123456; 0xfedcba9876543210 << 28 = 0x8765432100000000.
    eqReg(cpu, RAX, 0x8765432100123456n);
    // shrd ax, bx, 4: 0x1234 >> 4 | 0xd << 12 = 0xd123; CF = bit 3 of 0x1234 = 0.
    ({ cpu } = exec(64, "66 0f ac d8 04", { [RAX]: 0x1234, [RBX]: 0xabcd }, CF));
    eqReg(cpu, RAX, 0xd123);
    eqFlags(cpu, SF, SZPC);
    // shld ax, bx, 1: sign change 0x4000 -> 0x8000 sets OF.
    ({ cpu } = exec(64, "66 0f a4 d8 01", { [RAX]: 0x4000, [RBX]: 0 }));
    eqReg(cpu, RAX, 0x8000);
    eqFlags(cpu, OF | SF | PF, SZPC | OF);
    // count 0: nothing.
    ({ cpu } = exec(64, "0f a5 d8", { [RAX]: 5, [RBX]: 7, [RCX]: 0 }, ZF));
    eqReg(cpu, RAX, 5);
    eqFlags(cpu, ZF);
  });
});

describe("MUL, IMUL, DIV, IDIV", () => {
  test("MUL 8-bit: CF = OF = (AH != 0)", () => {
    let { cpu } = exec(64, "f6 e3", { [RAX]: 0x80, [RBX]: 2 });
    eqReg(cpu, RAX, 0x100);
    eqFlags(cpu, CF | OF, CF | OF);
    ({ cpu } = exec(64, "f6 e3", { [RAX]: 0x10, [RBX]: 2 }, CF | OF));
    eqReg(cpu, RAX, 0x20);
    eqFlags(cpu, 0, CF | OF);
  });
  test("MUL 16/32/64-bit: the high half goes to rDX", () => {
    // 0xffff * 0xffff = 0xfffe0001.
    let { cpu } = exec(64, "66 f7 e1", { [RAX]: 0xffff, [RCX]: 0xffff, [RDX]: 0x1234567800000000n });
    eqReg(cpu, RAX, 0x0001);
    eqReg(cpu, RDX, 0x123456780000fffen);
    eqFlags(cpu, CF | OF, CF | OF);
    // 0xffffffff^2 = 0xfffffffe_00000001.
    ({ cpu } = exec(64, "f7 e1", { [RAX]: 0xffffffff, [RCX]: 0xffffffff }));
    eqReg(cpu, RAX, 1);
    eqReg(cpu, RDX, 0xfffffffe);
    eqFlags(cpu, CF | OF, CF | OF);
    // (2^64 - 1)^2 = 2^128 - 2^65 + 1.
    ({ cpu } = exec(64, "48 f7 e1", { [RAX]: -1n, [RCX]: -1n }));
    eqReg(cpu, RAX, 1);
    eqReg(cpu, RDX, 0xfffffffffffffffen);
    ({ cpu } = exec(64, "48 f7 e1", { [RAX]: 0x100000000n, [RCX]: 0x100000000n }));
    eqReg(cpu, RAX, 0);
    eqReg(cpu, RDX, 1);
    ({ cpu } = exec(64, "48 f7 e1", { [RAX]: 0x123456789n, [RCX]: 0x10 }));
    eqReg(cpu, RAX, 0x1234567890n);
    eqReg(cpu, RDX, 0);
    eqFlags(cpu, 0, CF | OF);
    // Undefined flags as on Intel: SF and PF from the low half, ZF and AF clear even for a zero product.
    ({ cpu } = exec(64, "f7 e1", { [RAX]: 5, [RCX]: 0 }, ZF | AF | SF));
    eqFlags(cpu, PF);
    ({ cpu } = exec(64, "f7 e1", { [RAX]: 0x80000001, [RCX]: 1 }, ZF));
    eqFlags(cpu, SF);
  });
  test("IMUL one operand: CF = OF when the product does not fit the low half", () => {
    // -1 * 2 = -2 fits.
    let { cpu } = exec(64, "f7 e9", { [RAX]: 0xffffffff, [RCX]: 2 });
    eqReg(cpu, RAX, 0xfffffffe);
    eqReg(cpu, RDX, 0xffffffff);
    eqFlags(cpu, 0, CF | OF);
    // 0x40000000 * 2 = 0x80000000 does not fit a signed 32-bit value.
    ({ cpu } = exec(64, "f7 e9", { [RAX]: 0x40000000, [RCX]: 2 }));
    eqReg(cpu, RAX, 0x80000000);
    eqReg(cpu, RDX, 0);
    eqFlags(cpu, CF | OF, CF | OF);
    // -3 * 5 = -15 in RDX:RAX.
    ({ cpu } = exec(64, "48 f7 e9", { [RAX]: -3n, [RCX]: 5 }));
    eqReg(cpu, RAX, -15n);
    eqReg(cpu, RDX, -1n);
    eqFlags(cpu, 0, CF | OF);
    // -2^63 * -1 = 2^63: RAX = 0x8000000000000000, RDX = 0, overflow.
    ({ cpu } = exec(64, "48 f7 e9", { [RAX]: 0x8000000000000000n, [RCX]: -1n }));
    eqReg(cpu, RAX, 0x8000000000000000n);
    eqReg(cpu, RDX, 0);
    eqFlags(cpu, CF | OF, CF | OF);
    // 8-bit: -128 * -1 = 128: AX = 0x0080, does not fit AL signed.
    ({ cpu } = exec(64, "f6 eb", { [RAX]: 0x80, [RBX]: 0xff }));
    eqReg(cpu, RAX, 0x80);
    eqFlags(cpu, CF | OF, CF | OF);
    // 8-bit: -2 * 3 = -6: AX = 0xfffa.
    ({ cpu } = exec(64, "f6 eb", { [RAX]: 0xfe, [RBX]: 3 }));
    eqReg(cpu, RAX, 0xfffa);
    eqFlags(cpu, 0, CF | OF);
  });
  test("IMUL r, r/m and r, r/m, imm: the truncated product", () => {
    let { cpu } = exec(64, "48 0f af c1", { [RAX]: 0x123456789n, [RCX]: 0x1000 });
    eqReg(cpu, RAX, 0x123456789000n);
    eqFlags(cpu, 0, CF | OF);
    ({ cpu } = exec(64, "48 0f af c1", { [RAX]: 0x7fffffffffffffffn, [RCX]: 2 }));
    eqReg(cpu, RAX, 0xfffffffffffffffen);
    eqFlags(cpu, CF | OF, CF | OF);
    // -3 * -5 = 15 (64-bit, both negative).
    ({ cpu } = exec(64, "48 0f af c1", { [RAX]: -3n, [RCX]: -5n }));
    eqReg(cpu, RAX, 15);
    eqFlags(cpu, 0, CF | OF);
    // imul eax, ecx, -3 with ECX = 7: -21.
    ({ cpu } = exec(64, "6b c1 fd", { [RCX]: 7 }));
    eqReg(cpu, RAX, 0xffffffeb);
    eqFlags(cpu, 0, CF | OF);
    // imul ax, cx, 0x8000 with CX = 2: -65536 truncates to 0, overflow.
    ({ cpu } = exec(64, "66 69 c1 00 80", { [RCX]: 2 }));
    eqReg(cpu, RAX, 0);
    eqFlags(cpu, CF | OF, CF | OF);
    // imul rax, rcx, 0x10000 (imm32 sign-extended).
    ({ cpu } = exec(64, "48 69 c1 00 00 01 00", { [RCX]: 0x100000000n }));
    eqReg(cpu, RAX, 0x1000000000000n);
  });
  test("DIV: quotient and remainder; #DE for 0 and for a quotient too large, registers unchanged", () => {
    let { cpu, fault } = exec(64, "f6 f3", { [RAX]: 0x0101, [RBX]: 2 });
    assert.equal(fault, -1);
    eqReg(cpu, RAX, 0x0180); // 257 / 2 = 128 rem 1
    ({ cpu, fault } = exec(64, "f6 f3", { [RAX]: 0x0200, [RBX]: 2 }));
    assert.equal(fault, DE);
    eqReg(cpu, RAX, 0x0200);
    assert.equal(cpu.ip, 0x1000);
    ({ cpu, fault } = exec(64, "f7 f1", { [RDX]: 1, [RAX]: 0, [RCX]: 2 }));
    eqReg(cpu, RAX, 0x80000000);
    eqReg(cpu, RDX, 0);
    // 0x3_12345678 / 16 = 0x31234567 rem 8.
    ({ cpu } = exec(64, "f7 f1", { [RDX]: 3, [RAX]: 0x12345678, [RCX]: 0x10 }));
    eqReg(cpu, RAX, 0x31234567);
    eqReg(cpu, RDX, 8);
    // 0xffffffff_ffffffff / 0xffffffff = 0x1_00000001: too large.
    ({ cpu, fault } = exec(64, "f7 f1", { [RDX]: 0xffffffff, [RAX]: 0xffffffff, [RCX]: 0xffffffff }));
    assert.equal(fault, DE);
    // 0xfffffffe_ffffffff / 0xffffffff = 0xffffffff rem 0xfffffffe (largest quotient).
    ({ cpu, fault } = exec(64, "f7 f1", { [RDX]: 0xfffffffe, [RAX]: 0xffffffff, [RCX]: 0xffffffff }));
    assert.equal(fault, -1);
    eqReg(cpu, RAX, 0xffffffff);
    eqReg(cpu, RDX, 0xfffffffe);
    ({ cpu, fault } = exec(64, "f7 f1", { [RDX]: 7, [RAX]: 9, [RCX]: 0 }));
    assert.equal(fault, DE);
    eqReg(cpu, RAX, 9);
    eqReg(cpu, RDX, 7);
    // 16-bit: 0x0001_0000 / 0x0002 = 0x8000.
    ({ cpu } = exec(64, "66 f7 f1", { [RDX]: 1, [RAX]: 0, [RCX]: 2 }));
    eqReg(cpu, RAX, 0x8000);
    eqReg(cpu, RDX, 0);
  });
  test("DIV/IDIV 64-bit (128-bit dividends)", () => {
    let { cpu, fault } = exec(64, "48 f7 f1", { [RDX]: 1, [RAX]: 0, [RCX]: 2 });
    eqReg(cpu, RAX, 0x8000000000000000n);
    eqReg(cpu, RDX, 0);
    ({ cpu, fault } = exec(64, "48 f7 f1", { [RDX]: 2, [RAX]: 0, [RCX]: 2 }));
    assert.equal(fault, DE);
    eqReg(cpu, RDX, 2);
    // 100 / -7 = -14 rem 2.
    ({ cpu, fault } = exec(64, "48 f7 f9", { [RDX]: 0, [RAX]: 100, [RCX]: -7n }));
    eqReg(cpu, RAX, -14n);
    eqReg(cpu, RDX, 2);
    // -2^63 / -1 overflows.
    ({ cpu, fault } = exec(64, "48 f7 f9", { [RDX]: -1n, [RAX]: 0x8000000000000000n, [RCX]: -1n }));
    assert.equal(fault, DE);
  });
  test("IDIV truncates toward zero; the remainder takes the dividend's sign", () => {
    // -7 / 2 = -3 rem -1.
    let { cpu, fault } = exec(64, "f7 f9", { [RDX]: 0xffffffff, [RAX]: 0xfffffff9, [RCX]: 2 });
    eqReg(cpu, RAX, 0xfffffffd);
    eqReg(cpu, RDX, 0xffffffff);
    // -2^31 / -1 = 2^31 does not fit.
    ({ cpu, fault } = exec(64, "f7 f9", { [RDX]: 0xffffffff, [RAX]: 0x80000000, [RCX]: 0xffffffff }));
    assert.equal(fault, DE);
    // -2^32 / 2 = -2^31 fits exactly.
    ({ cpu, fault } = exec(64, "f7 f9", { [RDX]: 0xffffffff, [RAX]: 0, [RCX]: 2 }));
    assert.equal(fault, -1);
    eqReg(cpu, RAX, 0x80000000);
    eqReg(cpu, RDX, 0);
    // 8-bit: -100 / 7 = -14 rem -2: AL = 0xf2, AH = 0xfe.
    ({ cpu } = exec(64, "f6 fb", { [RAX]: 0xff9c, [RBX]: 7 }));
    eqReg(cpu, RAX, 0xfef2);
    // 8-bit: 0x7f00 / 2 (signed 32512 / 2 = 16256) overflows AL.
    ({ fault } = exec(64, "f6 fb", { [RAX]: 0x7f00, [RBX]: 2 }));
    assert.equal(fault, DE);
  });
});

describe("BT, BTS, BTR, BTC, BSF, BSR, BSWAP", () => {
  test("register operands: the offset is taken modulo the operand size", () => {
    let { cpu } = exec(64, "0f ba e0 03", { [RAX]: 8 });
    eqFlags(cpu, CF, CF);
    eqReg(cpu, RAX, 8);
    ({ cpu } = exec(64, "0f ab c8", { [RAX]: 0, [RCX]: 35 }, CF)); // bts eax, ecx: bit 35 & 31 = 3
    eqReg(cpu, RAX, 8);
    eqFlags(cpu, 0, CF);
    ({ cpu } = exec(64, "48 0f ba f0 3f", { [RAX]: 0x8000000000000001n })); // btr rax, 63
    eqReg(cpu, RAX, 1);
    eqFlags(cpu, CF, CF);
    ({ cpu } = exec(64, "48 0f bb c8", { [RAX]: 0, [RCX]: 40 })); // btc rax, rcx
    eqReg(cpu, RAX, 0x10000000000n);
    eqFlags(cpu, 0, CF);
    // Only CF changes.
    ({ cpu } = exec(64, "0f a3 c8", { [RAX]: 1, [RCX]: 0 }, ZF | SF | OF));
    eqFlags(cpu, CF | ZF | SF | OF);
  });
  test("memory with a register offset addresses the bit string beyond the operand", () => {
    const t = makeCpu(64);
    setReg(t.cpu, RBX, 0x2000);
    setReg(t.cpu, RCX, 100); // dword 3 (0x200c), bit 4
    run(t, hex("0f bb 0b")); // btc [rbx], ecx
    assert.equal(t.guest.readU32(0x200c), 0x10);
    eqFlags(t.cpu, 0, CF);
    // -1: the dword below, bit 31.
    t.guest.writeU32(0x1ffc, 0x80000000);
    setReg(t.cpu, RCX, 0xffffffff);
    run(t, hex("0f a3 0b")); // bt [rbx], ecx
    eqFlags(t.cpu, CF, CF);
    // 16-bit: cx = 17 -> word at 0x2002, bit 1.
    setReg(t.cpu, RCX, 17);
    run(t, hex("66 0f ab 0b")); // bts [rbx], cx
    assert.equal(t.guest.readU16(0x2002), 2);
    // 64-bit offset with an immediate: bts qword [rbx], 70 -> 70 & 63 = 6 of the qword itself.
    run(t, hex("48 0f ba 2b 46"));
    assert.equal(t.guest.readU8(0x2000), 0x40);
  });
  test("BSF/BSR: the index; a zero source sets ZF and leaves the destination", () => {
    let { cpu } = exec(64, "0f bc c1", { [RCX]: 0x00080000 });
    eqReg(cpu, RAX, 19);
    eqFlags(cpu, 0, ZF);
    ({ cpu } = exec(64, "0f bc c1", { [RAX]: 0xdeadbeef12345678n, [RCX]: 0 }, CF | OF | SF | AF));
    eqReg(cpu, RAX, 0xdeadbeef12345678n);
    // Undefined flags as on Intel: a zero source leaves ZF and PF set, the others clear.
    eqFlags(cpu, ZF | PF);
    ({ cpu } = exec(64, "48 0f bd c1", { [RCX]: 0x0000010000000001n }));
    eqReg(cpu, RAX, 40);
    ({ cpu } = exec(64, "48 0f bc c1", { [RCX]: 0x0000010000000000n }));
    eqReg(cpu, RAX, 40);
    ({ cpu } = exec(64, "66 0f bd c1", { [RAX]: 0xffff0000n, [RCX]: 0x0101 }));
    eqReg(cpu, RAX, 0xffff0008n);
  });
  test("BSWAP 32 and 64 (REX.B)", () => {
    let { cpu } = exec(64, "0f c8", { [RAX]: 0xaaaaaaaa12345678n });
    eqReg(cpu, RAX, 0x78563412);
    ({ cpu } = exec(64, "49 0f c9", { [R9]: 0x0102030405060708n }));
    eqReg(cpu, R9, 0x0807060504030201n);
  });
});

describe("CMPXCHG, CMPXCHG8B, CMPXCHG16B, XADD", () => {
  test("CMPXCHG: equal stores the source; unequal loads the accumulator", () => {
    let { cpu } = exec(64, "0f b1 cb", { [RAX]: 5, [RBX]: 5, [RCX]: 9 });
    eqReg(cpu, RBX, 9);
    eqReg(cpu, RAX, 5);
    eqFlags(cpu, ZF, ZF | CF);
    // 4 - 5: CF, not ZF.
    ({ cpu } = exec(64, "0f b1 cb", { [RAX]: 4, [RBX]: 5, [RCX]: 9 }));
    eqReg(cpu, RBX, 5);
    eqReg(cpu, RAX, 5);
    eqFlags(cpu, CF, ZF | CF);
    // 8-bit memory.
    const t = makeCpu(64);
    t.guest.writeU8(0x2000, 0x33);
    setReg(t.cpu, RBX, 0x2000);
    setReg(t.cpu, RAX, 0x33);
    setReg(t.cpu, RCX, 0x44);
    run(t, hex("f0 0f b0 0b")); // lock cmpxchg [rbx], cl
    assert.equal(t.guest.readU8(0x2000), 0x44);
    eqFlags(t.cpu, ZF, ZF);
  });
  test("CMPXCHG8B", () => {
    const t = makeCpu(64);
    t.guest.writeU64(0x2000, 0x1111111122222222n);
    setReg(t.cpu, RBX, 0x2000);
    setReg(t.cpu, RAX, 0x22222222);
    setReg(t.cpu, RDX, 0x11111111);
    setReg(t.cpu, RCX, 0x33333333);
    // ECX:EBX = 0x33333333:0x00002000.
    run(t, hex("0f c7 0b"));
    assert.equal(t.guest.readU64(0x2000), 0x3333333300002000n);
    eqFlags(t.cpu, ZF, ZF);
    // Now unequal: EDX:EAX takes the memory value.
    run(t, hex("0f c7 0b"));
    eqReg(t.cpu, RAX, 0x00002000);
    eqReg(t.cpu, RDX, 0x33333333);
    eqFlags(t.cpu, 0, ZF);
    // A register operand is #UD.
    assert.equal(run(t, hex("0f c7 c8")), UD);
  });
  test("CMPXCHG16B: 16-byte alignment or #GP", () => {
    const t = makeCpu(64);
    setReg(t.cpu, RBX, 0x2008);
    assert.equal(run(t, hex("48 0f c7 0b")), GP);
    setReg(t.cpu, RBX, 0x2010);
    setReg(t.cpu, RAX, 0);
    setReg(t.cpu, RDX, 0);
    setReg(t.cpu, RCX, 0xccccccccccccccccn);
    assert.equal(run(t, hex("48 0f c7 0b")), -1);
    // RCX:RBX stored.
    assert.equal(t.guest.readU64(0x2010), 0x2010n);
    assert.equal(t.guest.readU64(0x2018), 0xccccccccccccccccn);
    eqFlags(t.cpu, ZF, ZF);
  });
  test("XADD: exchange then add", () => {
    const { cpu } = exec(64, "0f c1 c8", { [RAX]: 1, [RCX]: 2 });
    eqReg(cpu, RAX, 3);
    eqReg(cpu, RCX, 1);
    const t = makeCpu(64);
    t.guest.writeU32(0x2000, 0xffffffff);
    setReg(t.cpu, RBX, 0x2000);
    setReg(t.cpu, RCX, 1);
    run(t, hex("f0 0f c1 0b")); // lock xadd [rbx], ecx
    assert.equal(t.guest.readU32(0x2000), 0);
    eqReg(t.cpu, RCX, 0xffffffff);
    eqFlags(t.cpu, CF | ZF | AF | PF);
  });
});

describe("string instructions", () => {
  test("REP MOVSB copies and leaves RSI/RDI past the data, RCX = 0", () => {
    const t = makeCpu(64);
    t.guest.write(0x2000, Uint8Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
    setReg(t.cpu, RSI, 0x2000);
    setReg(t.cpu, RDI, 0x3000);
    setReg(t.cpu, RCX, 10);
    run(t, hex("f3 a4"), 10);
    assert.deepEqual([...t.guest.read(0x3000, 10)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    eqReg(t.cpu, RSI, 0x200a);
    eqReg(t.cpu, RDI, 0x300a);
    eqReg(t.cpu, RCX, 0);
    assert.equal(t.cpu.ip, 0x1002);
  });
  test("REP MOVSB across pages and forward overlap (the pattern repeats, as byte by byte)", () => {
    const t = makeCpu(64);
    const data = new Uint8Array(0x3000);
    for (let k = 0; k < data.length; k++) data[k] = (k * 7 + 3) & 0xff;
    t.guest.write(0x4800, data);
    setReg(t.cpu, RSI, 0x4800);
    setReg(t.cpu, RDI, 0x8123);
    setReg(t.cpu, RCX, 0x3000);
    run(t, hex("f3 a4"), 10);
    assert.deepEqual(t.guest.read(0x8123, 0x3000), data);
    eqReg(t.cpu, RCX, 0);
    // Overlap: [0x2001..] <- [0x2000..] replicates the first byte.
    t.guest.write(0x2000, Uint8Array.from([0xaa, 1, 2, 3, 4, 5, 6, 7, 8]));
    setReg(t.cpu, RSI, 0x2000);
    setReg(t.cpu, RDI, 0x2001);
    setReg(t.cpu, RCX, 8);
    run(t, hex("f3 a4"), 10);
    assert.deepEqual([...t.guest.read(0x2000, 9)], new Array(9).fill(0xaa));
  });
  test("REP MOVSD backwards (DF = 1) runs in slices: RIP stays until RCX reaches 0", () => {
    const t = makeCpu(64);
    const n = 5000;
    for (let k = 0; k < n; k++) t.guest.writeU32(0x2000 + 4 * k, k);
    setReg(t.cpu, RSI, 0x2000 + 4 * (n - 1));
    setReg(t.cpu, RDI, 0x8000 + 4 * (n - 1));
    setReg(t.cpu, RCX, n);
    t.cpu.setEflags(FIXED | DF);
    t.guest.write(0x1000, Uint8Array.from(hex("f3 a5")));
    t.cpu.ip = 0x1000;
    assert.equal(step(t), -1);
    // One slice: 4096 iterations, then the instruction is to run again.
    eqReg(t.cpu, RCX, n - 4096);
    assert.equal(t.cpu.ip, 0x1000);
    assert.equal(t.cpu.stopBlock, true);
    eqReg(t.cpu, RSI, 0x2000 + 4 * (n - 1 - 4096));
    assert.equal(step(t), -1);
    eqReg(t.cpu, RCX, 0);
    assert.equal(t.cpu.ip, 0x1002);
    eqReg(t.cpu, RSI, 0x2000 - 4);
    eqReg(t.cpu, RDI, 0x8000 - 4);
    for (const k of [0, 1, 2345, n - 1]) assert.equal(t.guest.readU32(0x8000 + 4 * k), k);
    // Single-stepping (TF) runs one iteration per execution, even where the fast path would copy a page.
    setReg(t.cpu, RSI, 0x2000);
    setReg(t.cpu, RDI, 0x3000);
    setReg(t.cpu, RCX, 3);
    t.cpu.setEflags(FIXED | 0x100);
    t.guest.write(0x1000, Uint8Array.from(hex("f3 a4")));
    t.cpu.ip = 0x1000;
    assert.equal(step(t), -1);
    eqReg(t.cpu, RCX, 2);
    assert.equal(t.cpu.ip, 0x1000);
    step(t);
    step(t);
    eqReg(t.cpu, RCX, 0);
    assert.equal(t.cpu.ip, 0x1002);
  });
  test("a fault on iteration k leaves the registers after k iterations", () => {
    const t = makeCpu(32);
    t.cpu.segLimit[DS] = 0x2004; // bytes 0x2000..0x2004 readable, 0x2005 not
    setReg(t.cpu, RSI, 0x2000);
    setReg(t.cpu, RDI, 0x3000);
    setReg(t.cpu, RCX, 10);
    assert.equal(run(t, hex("f3 a4"), 10), GP);
    eqReg(t.cpu, RCX, 5);
    eqReg(t.cpu, RSI, 0x2005);
    eqReg(t.cpu, RDI, 0x3005);
    assert.equal(t.cpu.ip, 0x1000);
  });
  test("REP STOSD, STOSB and STOSQ backwards", () => {
    let { t, cpu } = exec(64, "f3 ab", { [RAX]: 0x11223344, [RDI]: 0x3000, [RCX]: 4 }, 0, 10);
    for (let k = 0; k < 4; k++) assert.equal(t.guest.readU32(0x3000 + 4 * k), 0x11223344);
    assert.equal(t.guest.readU32(0x3010), 0);
    eqReg(cpu, RDI, 0x3010);
    ({ t, cpu } = exec(64, "f3 aa", { [RAX]: 0x5a, [RDI]: 0x3ffe, [RCX]: 0x1003 }, 0, 10));
    assert.equal(t.guest.readU8(0x3ffd), 0);
    assert.equal(t.guest.readU8(0x3ffe), 0x5a);
    assert.equal(t.guest.readU8(0x5000), 0x5a);
    assert.equal(t.guest.readU8(0x5001), 0);
    ({ t, cpu } = exec(64, "f3 48 ab", { [RAX]: 0x0102030405060708n, [RDI]: 0x3008, [RCX]: 2 }, DF, 10));
    assert.equal(t.guest.readU64(0x3000), 0x0102030405060708n);
    assert.equal(t.guest.readU64(0x3008), 0x0102030405060708n);
    eqReg(cpu, RDI, 0x2ff8);
  });
  test("REPE CMPSB stops at the first difference; REPNE SCASB at the first match", () => {
    const t = makeCpu(64);
    t.guest.write(0x2000, new TextEncoder().encode("abcXefgh"));
    t.guest.write(0x3000, new TextEncoder().encode("abcYefgh"));
    setReg(t.cpu, RSI, 0x2000);
    setReg(t.cpu, RDI, 0x3000);
    setReg(t.cpu, RCX, 10);
    run(t, hex("f3 a6"), 10);
    eqReg(t.cpu, RCX, 6);
    eqReg(t.cpu, RSI, 0x2004);
    eqReg(t.cpu, RDI, 0x3004);
    // 'X' - 'Y' = -1: CF, SF, not ZF.
    eqFlags(t.cpu, CF | SF | AF | PF);
    assert.equal(t.cpu.ip, 0x1002);
    // strlen: RCX = -1, AL = 0 over "hello\0".
    t.guest.write(0x2100, new TextEncoder().encode("hello\0"));
    setReg(t.cpu, RDI, 0x2100);
    setReg(t.cpu, RAX, 0);
    setReg(t.cpu, RCX, -1n);
    run(t, hex("f2 ae"), 10);
    eqReg(t.cpu, RCX, -7n); // six iterations
    eqReg(t.cpu, RDI, 0x2106);
    eqFlags(t.cpu, ZF, ZF);
    // A count of 0 compares nothing and changes no flag.
    setReg(t.cpu, RCX, 0);
    t.cpu.setEflags(FIXED | CF | OF);
    run(t, hex("f3 a6"));
    eqFlags(t.cpu, CF | OF);
  });
  test("REPE CMPSB and REPNE SCASB across page boundaries", () => {
    const t = makeCpu(64);
    // Equal bytes from 0x2ff0 and 0x4ff8 for 0x30 bytes, then a difference at the 0x31st.
    for (let k = 0; k < 0x40; k++) {
      t.guest.writeU8(0x2ff0 + k, k);
      t.guest.writeU8(0x4ff8 + k, k === 0x30 ? 0xff : k);
    }
    setReg(t.cpu, RSI, 0x2ff0);
    setReg(t.cpu, RDI, 0x4ff8);
    setReg(t.cpu, RCX, 0x100);
    run(t, hex("f3 a6"), 10);
    eqReg(t.cpu, RCX, 0x100 - 0x31);
    eqReg(t.cpu, RSI, 0x2ff0 + 0x31);
    eqReg(t.cpu, RDI, 0x4ff8 + 0x31);
    // 0x30 - 0xff: borrow, no zero.
    eqFlags(t.cpu, CF, CF | ZF);
    // Equal all the way: RCX reaches 0 with ZF set.
    setReg(t.cpu, RSI, 0x2ff0);
    setReg(t.cpu, RDI, 0x4ff8);
    setReg(t.cpu, RCX, 0x30);
    run(t, hex("f3 a6"), 10);
    eqReg(t.cpu, RCX, 0);
    eqFlags(t.cpu, ZF, CF | ZF);
    // REPNE SCASB for 0xff finds it at 0x5028, past the page boundary at 0x5000.
    setReg(t.cpu, RDI, 0x4ff8);
    setReg(t.cpu, RAX, 0xff);
    setReg(t.cpu, RCX, 0x1000);
    run(t, hex("f2 ae"), 10);
    eqReg(t.cpu, RDI, 0x4ff8 + 0x31);
    eqReg(t.cpu, RCX, 0x1000 - 0x31);
    eqFlags(t.cpu, ZF, ZF);
    // REPE SCASB over bytes equal to AL stops at the first different one.
    t.guest.fill(0x6000, 0x2000, 0x20);
    t.guest.writeU8(0x7003, 0x21);
    setReg(t.cpu, RDI, 0x6000);
    setReg(t.cpu, RAX, 0x20);
    setReg(t.cpu, RCX, -1n);
    run(t, hex("f3 ae"), 10);
    eqReg(t.cpu, RDI, 0x7004);
    eqFlags(t.cpu, CF | SF | AF | PF);
  });
  test("LODSW with DF = 1; 16-bit addressing wraps SI and uses CX only", () => {
    let { t, cpu } = exec(64, "66 ad", { [RSI]: 0x2002 }, DF);
    void t;
    eqReg(cpu, RSI, 0x2000);
    const r = makeCpu(16);
    r.guest.write(0xfffe, Uint8Array.from([1, 2]));
    r.guest.write(0x0000, Uint8Array.from([3, 4]));
    setReg(r.cpu, RSI, 0x1234fffe);
    setReg(r.cpu, RDI, 0x3000);
    setReg(r.cpu, RCX, 0xabcd0004);
    run(r, hex("f3 a4"), 10);
    assert.deepEqual([...r.guest.read(0x3000, 4)], [1, 2, 3, 4]);
    eqReg(r.cpu, RSI, 0x12340002);
    eqReg(r.cpu, RCX, 0xabcd0000);
    ({ cpu } = exec(32, "67 f3 a4", { [RSI]: 0x2000, [RDI]: 0x3000, [RCX]: 0x10002 }, 0, 10));
    eqReg(cpu, RCX, 0x10000);
  });
  test("a segment override applies to the source only; the destination is always ES", () => {
    const t = makeCpu(16);
    t.cpu.segBase[DS] = 0x1000;
    t.cpu.segBase[ES] = 0x2000;
    t.cpu.segBase[FS] = 0x3000;
    t.guest.writeU8(0x1010, 0x11);
    t.guest.writeU8(0x3010, 0x33);
    setReg(t.cpu, RSI, 0x10);
    setReg(t.cpu, RDI, 0x20);
    run(t, hex("64 a4")); // movsb from FS:SI to ES:DI
    assert.equal(t.guest.readU8(0x2020), 0x33);
    setReg(t.cpu, RSI, 0x10);
    run(t, hex("a4")); // movsb from DS:SI
    assert.equal(t.guest.readU8(0x2021), 0x11);
    // ES: on STOS changes nothing: it still writes ES:DI.
    setReg(t.cpu, RAX, 0x77);
    setReg(t.cpu, RDI, 0x30);
    run(t, hex("64 aa"));
    assert.equal(t.guest.readU8(0x2030), 0x77);
    assert.equal(t.guest.readU8(0x3030), 0);
  });
  test("INS/OUTS go through port I/O; the I/O permission check applies", () => {
    const t = makeCpu(64);
    const written: number[] = [];
    t.cpu.io.sink = {
      bus: {
        read: (_s: string, _a: number, data: Uint8Array) => data.fill(0x5a),
        write: (_s: string, addr: number, data: Uint8Array) => {
          assert.equal(addr, 0x3f8);
          written.push(...data);
        },
      } as never,
      onAccess: undefined,
      afterAccess: () => false,
    };
    t.guest.write(0x2000, new TextEncoder().encode("hi"));
    setReg(t.cpu, RSI, 0x2000);
    setReg(t.cpu, RDX, 0x3f8);
    setReg(t.cpu, RCX, 2);
    run(t, hex("f3 6e"), 10);
    assert.deepEqual(written, [0x68, 0x69]);
    eqReg(t.cpu, RSI, 0x2002);
    setReg(t.cpu, RDI, 0x3000);
    setReg(t.cpu, RCX, 2);
    run(t, hex("f3 66 6d"), 10);
    assert.equal(t.guest.readU32(0x3000), 0x5a5a5a5a);
    eqReg(t.cpu, RDI, 0x3004);
    // INS checks its destination before it reads the port: a fault loses no input.
    let reads = 0;
    const v = makeCpu(32);
    v.cpu.io.sink = {
      bus: {
        read: (_s: string, _a: number, data: Uint8Array) => {
          reads++;
          data.fill(1);
        },
        write: () => {},
      } as never,
      onAccess: undefined,
      afterAccess: () => false,
    };
    v.cpu.segLimit[ES] = 0x3001;
    setReg(v.cpu, RDI, 0x3000);
    setReg(v.cpu, RCX, 4);
    assert.equal(run(v, hex("f3 6c"), 10), GP);
    assert.equal(reads, 2);
    eqReg(v.cpu, RCX, 2);
    eqReg(v.cpu, RDI, 0x3002);
    // CPL 3 with IOPL 0 and a TSS without an I/O bitmap: #GP, nothing moves.
    const u = makeCpu(32);
    u.cpu.segSel[CS] = 0x1b;
    u.cpu.updateMode();
    u.cpu.segLimit[TR] = 0;
    setReg(u.cpu, RSI, 0x2000);
    setReg(u.cpu, RCX, 3);
    assert.equal(run(u, hex("f3 6e"), 10), GP);
    eqReg(u.cpu, RCX, 3);
    eqReg(u.cpu, RSI, 0x2000);
  });
});

describe("decimal adjustments", () => {
  test("DAA after 79 + 35 gives 14 with a decimal carry", () => {
    // 0x79 + 0x35 = 0xae; DAA: low nibble 0xe > 9 -> +6 = 0xb4 (AF); 0xae > 0x99 -> +0x60 = 0x14 (CF).
    const { cpu } = exec(32, "00 d8 27", { [RAX]: 0x79, [RBX]: 0x35 }, 0, 2);
    eqReg(cpu, RAX, 0x14);
    eqFlags(cpu, CF | AF | PF, CF | AF | PF | ZF | SF);
  });
  test("DAS after 35 - 47 gives 88 with a decimal borrow", () => {
    // 0x35 - 0x47 = 0xee (CF, AF); DAS: -6 = 0xe8; 0xee > 0x99 -> -0x60 = 0x88, CF.
    const { cpu } = exec(32, "28 d8 2f", { [RAX]: 0x35, [RBX]: 0x47 }, 0, 2);
    eqReg(cpu, RAX, 0x88);
    eqFlags(cpu, CF | AF | SF | PF, CF | AF | PF | ZF | SF);
  });
  test("AAA after 9 + 8 and AAS after 12 - 5", () => {
    // AL = 9 + 8 = 0x11 (AF); AAA: AX + 0x106 = 0x0117, AL &= 0xf -> 0x0107.
    let { cpu } = exec(32, "00 d8 37", { [RAX]: 0x0009, [RBX]: 8 }, 0, 2);
    eqReg(cpu, RAX, 0x0107);
    eqFlags(cpu, CF | AF, CF | AF);
    // AX = 0x0102 (unpacked 12); AL - 5 = 0xfd (AF); AAS: AX - 6 = 0x01f7, AH - 1 -> 0x00f7, AL &= 0xf -> 0x0007.
    ({ cpu } = exec(32, "28 d8 3f", { [RAX]: 0x0102, [RBX]: 5 }, 0, 2));
    eqReg(cpu, RAX, 0x0007);
    eqFlags(cpu, CF | AF, CF | AF);
    // No adjustment: AAA clears CF and AF and masks AL.
    ({ cpu } = exec(32, "37", { [RAX]: 0x0235 }, CF));
    eqReg(cpu, RAX, 0x0205);
    eqFlags(cpu, 0, CF | AF);
  });
  test("AAM and AAD with base 10; AAM 0 raises #DE", () => {
    let { cpu, fault } = exec(32, "d4 0a", { [RAX]: 0x4f });
    eqReg(cpu, RAX, 0x0709);
    ({ cpu, fault } = exec(32, "d5 0a", { [RAX]: 0x0709 }));
    eqReg(cpu, RAX, 0x4f);
    eqFlags(cpu, 0, ZF | SF);
    ({ cpu, fault } = exec(32, "d4 00", { [RAX]: 0x4f }));
    assert.equal(fault, DE);
    eqReg(cpu, RAX, 0x4f);
    // AAD's flags are those of the byte addition AL + AH * imm8 (as on Intel): 4 + (0x5e * 10 & 0xff = 0xac) =
    // 0xb0: SF, AF (4 + 0xc carries out of bit 3), no CF, no OF.
    ({ cpu } = exec(32, "d5 0a", { [RAX]: 0x5e04 }, CF | OF | ZF));
    eqReg(cpu, RAX, 0xb0);
    eqFlags(cpu, SF | AF);
    // AAD with base 16 packs two nibbles.
    ({ cpu } = exec(16, "d5 10", { [RAX]: 0x0305 }));
    eqReg(cpu, RAX, 0x35);
  });
  test("invalid in 64-bit mode; SALC is #UD", () => {
    for (const op of ["27", "2f", "37", "3f", "d4 0a", "d5 0a"]) {
      assert.equal(exec(64, op).fault, UD, op);
    }
    assert.equal(exec(32, "d6").fault, UD);
  });
});

describe("fences, CLFLUSH, PREFETCH", () => {
  test("run without effect; CLFLUSH checks its address", () => {
    for (const code of ["0f ae e8", "0f ae f0", "0f ae f8", "0f 0d 0b", "0f ae 3b"]) {
      const { fault, cpu } = exec(64, code, { [RBX]: 0x2000 });
      assert.equal(fault, -1, code);
      assert.equal(cpu.ip, 0x1000 + hex(code).length);
    }
    // A non-canonical address: #GP.
    assert.equal(exec(64, "0f ae 3b", { [RBX]: 0x0000800000000000n }).fault, GP);
  });
});
