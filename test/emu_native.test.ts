// The emulator against the processor it runs on: integer instructions executed natively (compiled with gcc into
// a small harness) and on the emulator from the same registers, flags and memory, comparing every register,
// all six status flags (the SDM's "undefined" ones included: the emulator follows Intel) and memory. Runs only
// on x86-64 Linux with an Intel processor and gcc (binutils for the 32-bit BCD part); elsewhere it skips.
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { makeCpu, reg, run, setReg } from "./helpers/emu_cpu.js";

function skipReason(): string | undefined {
  if (process.platform !== "linux" || process.arch !== "x64") return "needs x86-64 Linux";
  let cpuinfo = "";
  try {
    cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  } catch {
    return "cannot read /proc/cpuinfo";
  }
  if (!cpuinfo.includes("GenuineIntel")) return "the emulator's undefined flags follow Intel; this is not an Intel CPU";
  if (spawnSync("gcc", ["--version"]).status !== 0) return "needs gcc";
  return undefined;
}
const skip = skipReason();
const dir = skip ? "" : mkdtempSync(join(tmpdir(), "tsvmm-native-"));
after(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A deterministic xorshift32 stream. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    return s;
  };
}

const hexes = (bytes: readonly number[]) => bytes.map((b) => `0x${b.toString(16)}`).join(",");
const u64 = (v: bigint) => `0x${v.toString(16)}ull`;
const STATUS = 0x8d5n;

interface Template {
  name: string;
  bytes: number[];
  /** Registers to shape: the count in CL, a bit offset, a REP count, a divide that must not fault. */
  cl?: boolean;
  bitOffset?: boolean;
  rep?: boolean;
  div?: { size: number; signed: boolean };
  /** CMPXCHG16B's operand must be 16-byte aligned. */
  align16?: boolean;
}

/** Compiles and runs a C program, returning its stdout lines. */
function native(name: string, source: string): string[] {
  const c = join(dir, `${name}.c`);
  const exe = join(dir, name);
  writeFileSync(c, source);
  execFileSync("gcc", ["-O0", "-mno-red-zone", "-o", exe, c]);
  return execFileSync(exe, { maxBuffer: 1 << 28 })
    .toString()
    .trim()
    .split("\n");
}

/** One C function per template: load the registers and RFLAGS from s[], run the bytes, store them back. */
function harness(templates: readonly Template[], regs: readonly string[]): string {
  const load = regs.map((r, k) => `mov ${8 * k}(%0),%%${r}\\n`).join(" ");
  const store = regs.map((r, k) => `mov %%${r},${8 * k}(%0)\\n`).join(" ");
  const f = 8 * regs.length;
  const clobbers = regs.map((r) => `"${r}"`).join(",");
  return templates
    .map(
      (t, k) =>
        `static void f${k}(uint64_t *s){__asm__ volatile("${load} pushq ${f}(%0)\\n popfq\\n .byte ${hexes(t.bytes)}\\n pushfq\\n popq ${f}(%0)\\n cld\\n ${store}"::"r"(s):${clobbers},"memory","cc");}\n`,
    )
    .join("");
}

describe("native differential: register forms", { skip }, () => {
  const rnd = prng(12345);
  const EDGES = [
    0n,
    1n,
    2n,
    0x7fn,
    0x80n,
    0xffn,
    0x7fffn,
    0x8000n,
    0xffffn,
    0x7fffffffn,
    0x80000000n,
    0xffffffffn,
    0x7fffffffffffffffn,
    0x8000000000000000n,
    0xffffffffffffffffn,
    0x100000000n,
  ];
  const value = (): bigint => {
    const k = rnd() % 8;
    if (k < 3) return EDGES[rnd() % EDGES.length]!;
    if (k === 3) return BigInt(rnd() % 300);
    if (k === 4) return BigInt.asUintN(64, -BigInt(rnd() % 300));
    return (BigInt(rnd()) << 32n) | BigInt(rnd());
  };
  const templates: Template[] = [];
  for (const [size, pre] of [
    [1, []],
    [2, [0x66]],
    [4, []],
    [8, [0x48]],
  ] as [number, number[]][]) {
    const w = size === 1 ? 0 : 1;
    for (let op = 0; op < 8; op++) templates.push({ name: `alu${op}/${size}`, bytes: [...pre, op * 8 + w, 0xc8] });
    templates.push({ name: `inc/${size}`, bytes: [...pre, 0xfe + w, 0xc0] });
    templates.push({ name: `dec/${size}`, bytes: [...pre, 0xfe + w, 0xc8] });
    templates.push({ name: `neg/${size}`, bytes: [...pre, 0xf6 + w, 0xd8] });
    for (let r = 0; r < 8; r++) {
      templates.push({ name: `grp2/${r} cl/${size}`, bytes: [...pre, 0xd2 + w, 0xc0 | (r << 3)], cl: true });
      templates.push({ name: `grp2/${r} 1/${size}`, bytes: [...pre, 0xd0 + w, 0xc0 | (r << 3)] });
      for (const imm of [0, 2, 7, 8, 9, 16, 17, 31, 33, 63]) {
        templates.push({ name: `grp2/${r} ${imm}/${size}`, bytes: [...pre, 0xc0 + w, 0xc0 | (r << 3), imm] });
      }
    }
    for (const r of [4, 5, 6, 7]) {
      templates.push({
        name: `grp3/${r}/${size}`,
        bytes: [...pre, 0xf6 + w, 0xc0 | (r << 3) | 1],
        div: r >= 6 ? { size, signed: r === 7 } : undefined,
      });
    }
    templates.push({ name: `cmpxchg/${size}`, bytes: [...pre, 0x0f, 0xb0 + w, 0xcb] });
    templates.push({ name: `xadd/${size}`, bytes: [...pre, 0x0f, 0xc0 + w, 0xcb] });
    if (size === 1) continue;
    templates.push({ name: `shld cl/${size}`, bytes: [...pre, 0x0f, 0xa5, 0xc8], cl: true });
    templates.push({ name: `shrd cl/${size}`, bytes: [...pre, 0x0f, 0xad, 0xc8], cl: true });
    for (const imm of [1, 4, 15, 17, 31]) {
      templates.push({ name: `shld ${imm}/${size}`, bytes: [...pre, 0x0f, 0xa4, 0xc8, imm] });
      templates.push({ name: `shrd ${imm}/${size}`, bytes: [...pre, 0x0f, 0xac, 0xc8, imm] });
    }
    templates.push({ name: `imul2/${size}`, bytes: [...pre, 0x0f, 0xaf, 0xc1] });
    templates.push({ name: `imul3 imm8/${size}`, bytes: [...pre, 0x6b, 0xc1, 0xfd] });
    templates.push({
      name: `imul3 imm/${size}`,
      bytes: [...pre, 0x69, 0xc1, 0x00, 0x80, ...(size === 2 ? [] : [0xff, 0x7f])],
    });
    for (const op of [0xa3, 0xab, 0xb3, 0xbb])
      templates.push({ name: `bt ${op.toString(16)}/${size}`, bytes: [...pre, 0x0f, op, 0xc8] });
    for (const r of [4, 5, 6, 7])
      templates.push({ name: `bt imm/${r}/${size}`, bytes: [...pre, 0x0f, 0xba, 0xc0 | (r << 3), 37] });
    templates.push({ name: `bsf/${size}`, bytes: [...pre, 0x0f, 0xbc, 0xc1] });
    templates.push({ name: `bsr/${size}`, bytes: [...pre, 0x0f, 0xbd, 0xc1] });
    if (size !== 2) templates.push({ name: `bswap/${size}`, bytes: [...pre, 0x0f, 0xc8] });
  }

  test("ALU, shifts and rotates, SHLD/SHRD, MUL/IMUL/DIV/IDIV, BT*, BSF/BSR, BSWAP, CMPXCHG, XADD", () => {
    const PER = 40;
    const cases: { t: Template; regs: bigint[]; flags: number }[] = [];
    for (const t of templates) {
      for (let k = 0; k < PER; k++) {
        const regs = Array.from({ length: 8 }, value);
        if (t.cl && k % 2 === 0) regs[1] = BigInt(rnd() % 70);
        if (t.name.startsWith("bs") && k % 3 === 0) regs[1] = 0n;
        if (t.div) {
          // Only divisions that do not fault (the harness would die of SIGFPE).
          const bits = BigInt(t.div.size * 8);
          const m = (1n << bits) - 1n;
          if (k % 2 === 0) regs[2] = t.div.signed && rnd() & 1 ? -1n & ((1n << 64n) - 1n) : 0n;
          const n = t.div.size === 1 ? regs[0]! & 0xffffn : ((regs[2]! & m) << bits) | (regs[0]! & m);
          const d = regs[1]! & m;
          if (d === 0n) continue;
          const nBits = t.div.size === 1 ? 16 : 2 * Number(bits);
          if (t.div.signed) {
            const q = BigInt.asIntN(nBits, n) / BigInt.asIntN(Number(bits), d);
            if (q > m >> 1n || q < -((m >> 1n) + 1n)) continue;
          } else if (n / d > m) continue;
        }
        const flags = [0x1, 0x4, 0x10, 0x40, 0x80, 0x800].reduce((a, f) => (rnd() & 1 ? a | f : a), 0x2);
        cases.push({ t, regs, flags });
      }
    }
    const REGS = ["rax", "rcx", "rdx", "rbx", "rsi", "rdi", "r8", "r9"];
    const NUMBERS = [0, 1, 2, 3, 6, 7, 8, 9];
    const source = `#include <stdio.h>\n#include <stdint.h>\n${harness(templates, REGS)}
typedef void (*fn)(uint64_t *);
static fn fns[] = {${templates.map((_, k) => `f${k}`).join(",")}};
static const uint64_t in[][10] = {${cases.map((c) => `{${templates.indexOf(c.t)},${c.regs.map(u64).join(",")},${c.flags}}`).join(",\n")}};
int main(void) {
  for (unsigned i = 0; i < sizeof in / sizeof in[0]; i++) {
    uint64_t s[9];
    for (int j = 0; j < 8; j++) s[j] = in[i][1 + j];
    s[8] = in[i][9];
    fns[in[i][0]](s);
    for (int j = 0; j < 9; j++) printf("%llx ", (unsigned long long)s[j]);
    printf("\\n");
  }
  return 0;
}
`;
    const out = native("regs", source);
    assert.equal(out.length, cases.length);
    const differences: string[] = [];
    out.forEach((line, k) => {
      const want = line
        .trim()
        .split(" ")
        .map((h) => BigInt(`0x${h}`));
      const c = cases[k]!;
      const t = makeCpu(64);
      for (const [j, v] of c.regs.entries()) setReg(t.cpu, NUMBERS[j]!, v);
      t.cpu.setEflags(c.flags);
      const fault = run(t, c.t.bytes);
      const got = NUMBERS.map((r) => reg(t.cpu, r));
      const gotFlags = BigInt(t.cpu.getEflags()) & STATUS;
      if (fault !== -1 || got.some((v, j) => v !== want[j]) || gotFlags !== (want[8]! & STATUS)) {
        differences.push(
          `${c.t.name}: in ${c.regs.map((v) => v.toString(16))} flags ${c.flags.toString(16)}: want ${want.map((v) => v.toString(16))}, got ${got.map((v) => v.toString(16))} flags ${gotFlags.toString(16)} fault ${fault}`,
        );
      }
    });
    assert.deepEqual(differences.slice(0, 10), [], `${differences.length} of ${cases.length} cases differ`);
  });
});

describe("native differential: memory operands and string instructions", { skip }, () => {
  const BASE = 0x100000;
  const SIZE = 0x2000;
  const templates: Template[] = [];
  const add = (t: Template) => templates.push(t);
  for (const [size, pre] of [
    [1, []],
    [2, [0x66]],
    [4, []],
    [8, [0x48]],
  ] as [number, number[]][]) {
    const w = size === 1 ? 0 : 1;
    for (const [name, op] of [
      ["movs", 0xa4],
      ["cmps", 0xa6],
      ["stos", 0xaa],
      ["lods", 0xac],
      ["scas", 0xae],
    ] as const) {
      add({ name: `${name}/${size}`, bytes: [...pre, op + w] });
      add({ name: `rep ${name}/${size}`, bytes: [0xf3, ...pre, op + w], rep: true });
      if (name === "cmps" || name === "scas")
        add({ name: `repne ${name}/${size}`, bytes: [0xf2, ...pre, op + w], rep: true });
    }
    for (const r of [0, 1, 2, 3, 4, 5, 7])
      add({ name: `grp2/${r} [rbx]/${size}`, bytes: [...pre, 0xd2 + w, 0x03 | (r << 3)], cl: true });
    add({ name: `cmpxchg [rbx]/${size}`, bytes: [...pre, 0x0f, 0xb0 + w, 0x0b] });
    add({ name: `xadd [rbx]/${size}`, bytes: [...pre, 0x0f, 0xc0 + w, 0x0b] });
    add({ name: `neg [rbx]/${size}`, bytes: [...pre, 0xf6 + w, 0x1b] });
    add({ name: `mul [rbx]/${size}`, bytes: [...pre, 0xf6 + w, 0x23] });
    if (size === 1) continue;
    for (const op of [0xa3, 0xab, 0xb3, 0xbb])
      add({ name: `bt ${op.toString(16)} [rbx]/${size}`, bytes: [...pre, 0x0f, op, 0x0b], bitOffset: true });
    for (const r of [4, 5, 6, 7])
      add({ name: `bt imm/${r} [rbx]/${size}`, bytes: [...pre, 0x0f, 0xba, 0x03 | (r << 3), 77] });
    add({ name: `shld [rbx]/${size}`, bytes: [...pre, 0x0f, 0xa5, 0x0b], cl: true });
    add({ name: `shrd [rbx]/${size}`, bytes: [...pre, 0x0f, 0xad, 0x0b], cl: true });
    add({ name: `bsf [rbx]/${size}`, bytes: [...pre, 0x0f, 0xbc, 0x03] });
    add({ name: `imul [rbx]/${size}`, bytes: [...pre, 0x0f, 0xaf, 0x03] });
  }
  add({ name: "cmpxchg8b", bytes: [0x0f, 0xc7, 0x0b] });
  add({ name: "cmpxchg16b", bytes: [0x48, 0x0f, 0xc7, 0x0b], align16: true });

  /** Memory contents from a seed; `low` keeps bytes in 0..3 so that comparisons often find equal data. */
  const fill = (buf: Uint8Array, seed: number, low: boolean) => {
    const r = prng(seed);
    for (let i = 0; i < buf.length; i++) buf[i] = (r() >>> 8) & (low ? 3 : 0xff);
  };

  test("REP/REPE/REPNE string instructions with DF and overlap, shifts, BT bit strings, CMPXCHG8B/16B, XADD", (tc) => {
    const rnd = prng(4242);
    const PER = 40;
    const cases: { t: Template; regs: bigint[]; flags: number; seed: number; low: boolean }[] = [];
    for (const t of templates) {
      for (let k = 0; k < PER; k++) {
        const r64 = () => (BigInt(rnd()) << 32n) | BigInt(rnd());
        const regs = [r64(), r64(), r64(), r64(), r64(), r64()]; // rax rcx rdx rbx rsi rdi
        if (k % 3 === 0) regs[0] = BigInt(rnd() & 3) * 0x0101010101010101n;
        const mid = BASE + 0x800;
        regs[3] = BigInt(mid + (rnd() % 0x400)) & (t.align16 ? ~15n : ~0n);
        regs[4] = BigInt(mid + (rnd() % 0x400));
        regs[5] = k % 4 === 0 ? regs[4]! + BigInt((rnd() % 9) - 4) : BigInt(mid + (rnd() % 0x400));
        if (t.rep) regs[1] = BigInt(rnd() % 40);
        else if (t.cl) regs[1] = BigInt(rnd() % 70);
        else if (t.bitOffset) regs[1] = BigInt.asUintN(64, BigInt((rnd() % 4000) - 2000));
        const df = /^(rep |repne )?(movs|cmps|stos|lods|scas)/.test(t.name) && rnd() & 1 ? 0x400 : 0;
        cases.push({ t, regs, flags: 0x2 | (rnd() & 0x8d5) | df, seed: rnd() | 1, low: k % 2 === 0 });
      }
    }
    const REGS = ["rax", "rcx", "rdx", "rbx", "rsi", "rdi"];
    const NUMBERS = [0, 1, 2, 3, 6, 7];
    const source = `#include <stdio.h>\n#include <stdint.h>\n#include <sys/mman.h>\n${harness(templates, REGS)}
typedef void (*fn)(uint64_t *);
static fn fns[] = {${templates.map((_, k) => `f${k}`).join(",")}};
static const uint64_t in[][10] = {${cases.map((c) => `{${templates.indexOf(c.t)},${c.regs.map(u64).join(",")},${c.flags},${c.seed},${c.low ? 1 : 0}}`).join(",\n")}};
static void fill(uint8_t *b, uint32_t s, int low) {
  for (int i = 0; i < ${SIZE}; i++) { s ^= s << 13; s ^= s >> 17; s ^= s << 5; b[i] = (s >> 8) & (low ? 3 : 0xff); }
}
int main(void) {
  uint8_t *m = mmap((void *)${BASE}, ${SIZE}, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (m != (void *)${BASE}) return 3;
  for (unsigned i = 0; i < sizeof in / sizeof in[0]; i++) {
    uint64_t s[7];
    for (int j = 0; j < 6; j++) s[j] = in[i][1 + j];
    s[6] = in[i][7];
    fill(m, (uint32_t)in[i][8], (int)in[i][9]);
    fns[in[i][0]](s);
    uint32_t h = 2166136261u;
    for (int j = 0; j < ${SIZE}; j++) { h ^= m[j]; h *= 16777619u; }
    for (int j = 0; j < 7; j++) printf("%llx ", (unsigned long long)s[j]);
    printf("%x\\n", h);
  }
  return 0;
}
`;
    let out: string[];
    try {
      out = native("memory", source);
    } catch (e) {
      // Exit status 3: the harness could not map its data at the fixed address the emulator uses too.
      if ((e as { status?: number }).status === 3) return tc.skip(`cannot map memory at 0x${BASE.toString(16)}`);
      throw e;
    }
    assert.equal(out.length, cases.length);
    const t = makeCpu(64, BASE + SIZE + 0x1000);
    const region = t.guest.regions[0]!.bytes.subarray(BASE, BASE + SIZE);
    const differences: string[] = [];
    out.forEach((line, k) => {
      const want = line
        .trim()
        .split(" ")
        .map((h) => BigInt(`0x${h}`));
      const c = cases[k]!;
      fill(region, c.seed, c.low);
      for (let r = 0; r < 16; r++) setReg(t.cpu, r, 0);
      for (const [j, v] of c.regs.entries()) setReg(t.cpu, NUMBERS[j]!, v);
      t.cpu.setEflags(c.flags);
      const fault = run(t, c.t.bytes, 100);
      let h = 2166136261;
      for (const b of region) h = Math.imul(h ^ b, 16777619) >>> 0;
      const got = NUMBERS.map((r) => reg(t.cpu, r));
      const gotFlags = BigInt(t.cpu.getEflags()) & (STATUS | 0x400n);
      const problems: string[] = [];
      if (fault !== -1) problems.push(`fault ${fault}`);
      got.forEach((v, j) => {
        if (v !== want[j]) problems.push(`${REGS[j]} want ${want[j]!.toString(16)} got ${v.toString(16)}`);
      });
      if (gotFlags !== (want[6]! & (STATUS | 0x400n)))
        problems.push(`flags want ${want[6]!.toString(16)} got ${gotFlags.toString(16)}`);
      if (BigInt(h) !== want[7]) problems.push("memory differs");
      if (problems.length) differences.push(`${c.t.name}: ${problems.join("; ")}`);
    });
    assert.deepEqual(differences.slice(0, 10), [], `${differences.length} of ${cases.length} cases differ`);
  });
});

describe("native differential: decimal adjustments (32-bit code)", { skip }, () => {
  test("DAA, DAS, AAA, AAS, AAM, AAD over every AL, CF, AF and the other flags set or clear", (t) => {
    if (spawnSync("as", ["--32", "--version"]).status !== 0) return t.skip("needs binutils with --32");
    // A static 32-bit program without libc: for each input (AL, AH = AL ^ 0x5a, CF, AF, others) and each
    // instruction, store AX and FLAGS, then write the table to stdout.
    const source = `.code32
.globl _start
.text
_start:
  lea buf, %edi
  xor %ebx, %ebx
next:
  mov %ebx, %eax
  and $0xff, %eax
  mov %al, %ah
  xor $0x5a, %ah
  mov %ebx, %ecx
  shr $8, %ecx
  mov %ecx, %edx
  and $1, %edx
  test $2, %ecx
  jz 1f
  or $0x10, %edx
1:
  test $4, %ecx
  jz 2f
  or $0x8c4, %edx
2:
  or $2, %edx
  mov %ebx, %esi
  shr $11, %esi
  push %edx
  popf
  jmp *tbl(,%esi,4)
o0: daa
  jmp done
o1: das
  jmp done
o2: aaa
  jmp done
o3: aas
  jmp done
o4: aam $10
  jmp done
o5: aad $10
  jmp done
o6: aam $16
  jmp done
o7: aad $7
done:
  pushf
  pop %edx
  mov %ax, (%edi)
  mov %dx, 2(%edi)
  add $4, %edi
  inc %ebx
  cmp $16384, %ebx
  jb next
  mov $4, %eax
  mov $1, %ebx
  lea buf, %ecx
  mov $65536, %edx
  int $0x80
  mov $1, %eax
  xor %ebx, %ebx
  int $0x80
.data
tbl: .long o0, o1, o2, o3, o4, o5, o6, o7
.bss
buf: .space 65536
`;
    writeFileSync(join(dir, "bcd.S"), source);
    execFileSync("as", ["--32", "-o", join(dir, "bcd.o"), join(dir, "bcd.S")]);
    execFileSync("ld", ["-m", "elf_i386", "-o", join(dir, "bcd"), join(dir, "bcd.o")]);
    const table = execFileSync(join(dir, "bcd"), { maxBuffer: 1 << 20 });
    const ops = [[0x27], [0x2f], [0x37], [0x3f], [0xd4, 10], [0xd5, 10], [0xd4, 16], [0xd5, 7]];
    const differences: string[] = [];
    for (let k = 0; k < 16384; k++) {
      const al = k & 0xff;
      const ax = al | ((al ^ 0x5a) << 8);
      const c = k >> 8;
      const flags = (c & 1) | (c & 2 ? 0x10 : 0) | (c & 4 ? 0x8c4 : 0) | 2;
      const op = ops[k >> 11]!;
      const cpu = makeCpu(32);
      setReg(cpu.cpu, 0, ax);
      cpu.cpu.setEflags(flags);
      run(cpu, op);
      const gotAx = Number(reg(cpu.cpu, 0) & 0xffffn);
      const gotFlags = cpu.cpu.getEflags() & 0x8d5;
      const wantAx = table.readUInt16LE(4 * k);
      const wantFlags = table.readUInt16LE(4 * k + 2) & 0x8d5;
      if (gotAx !== wantAx || gotFlags !== wantFlags) {
        differences.push(
          `${hexes(op)} AX ${ax.toString(16)} flags ${flags.toString(16)}: want ${wantAx.toString(16)}/${wantFlags.toString(16)}, got ${gotAx.toString(16)}/${gotFlags.toString(16)}`,
        );
      }
    }
    assert.deepEqual(differences.slice(0, 10), [], `${differences.length} differ`);
  });
});
