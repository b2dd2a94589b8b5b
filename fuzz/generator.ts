// The differential fuzzer's generator: random sequences of 1-8 integer instructions with random register and
// memory state, from the opcodes the emulator registers (src/accel/emu/opcodes.ts's `handlers` and `groups`,
// so new ones are covered as they are added), minus those with nondeterministic or system-level effects.
// Encodings get random prefixes (66, 67, REX in 64-bit mode, segment overrides, F2/F3 on string ops), ModRM/SIB
// forms and immediates; the instruction's length comes from the emulator's own decoder. Memory operands are
// steered into a mapped data buffer by choosing base/index register values (or patching the displacement).
import { decode } from "../src/accel/emu/decoder.js";
import { FAULT } from "../src/accel/emu/fault.js";
import { groups, handlers } from "../src/accel/emu/opcodes.js";
import "../src/accel/emu/ops/index.js";
import type { Mode } from "./unicorn.js";

export const MEM_SIZE = 0x10000;
export const CODE = 0x1000;
export const DATA = 0x4000;
export const DATA_SIZE = 0x2000;
export const STACK = 0x7000;
export const STACK_SIZE = 0x2000;

/** A case: instructions (bytes each) run from CODE in `mode` from registers, RFLAGS and memory filled from `memSeed`. */
export interface Case {
  mode: Mode;
  insns: number[][];
  regs: bigint[];
  flags: number;
  /** Seeds the data buffer and stack contents (0: zeros). */
  memSeed: number;
}

/** A deterministic xorshift32 stream. */
export class Rng {
  private s: number;
  constructor(seed: number) {
    this.s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let s = this.s;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    this.s = s >>> 0;
    return this.s;
  }
  /** 0 <= n < bound. */
  int(bound: number): number {
    return this.next() % bound;
  }
  chance(p: number): boolean {
    return this.next() < p * 4294967296;
  }
  u64(): bigint {
    return (BigInt(this.next()) << 32n) | BigInt(this.next());
  }
}

/** The initial memory: code bytes at CODE, the data buffer and the stack filled from `seed`. */
export function initialMemory(c: Case, into = new Uint8Array(MEM_SIZE)): Uint8Array {
  into.fill(0);
  if (c.memSeed !== 0) {
    const rng = new Rng(c.memSeed);
    const fill = (from: number, size: number) => {
      const words = new Uint32Array(into.buffer, into.byteOffset + from, size / 4);
      for (let k = 0; k < words.length; k++) words[k] = rng.next();
    };
    fill(DATA, DATA_SIZE);
    fill(STACK, STACK_SIZE);
  }
  let at = CODE;
  for (const insn of c.insns) {
    into.set(insn, at);
    at += insn.length;
  }
  return into;
}

export function codeLength(c: Case): number {
  let n = 0;
  for (const i of c.insns) n += i.length;
  return n;
}

// ---- the opcodes ----

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, k) => a + k);

/** Opcodes left out: I/O, HLT, CPUID, RDTSC, MSRs, control/debug registers, far transfers, INT/IRET, segment
 *  register loads and stores, SYSCALL/SYSENTER, POPF, CLI/STI, RET and indirect branches (their targets
 *  leave the code), RDRAND/RDSEED/RDPID, and the SSE/x87 maps (the integer fuzzer compares GPRs only). */
const EXCLUDED_GROUPS: Record<string, number[]> = {
  "PUSH/POP sreg": [0x06, 0x07, 0x0e, 0x16, 0x17, 0x1e, 0x1f],
  "INS OUTS IN OUT": [0x6c, 0x6d, 0x6e, 0x6f, 0xe4, 0xe5, 0xe6, 0xe7, 0xec, 0xed, 0xee, 0xef],
  "MOV from/to sreg, LES/LDS": [0x8c, 0x8e, 0xc4, 0xc5],
  "far CALL/JMP/RET, RET, INT, INTO, IRET, INT1": [0x9a, 0xea, 0xc2, 0xc3, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xf1],
  "WAIT, POPF, HLT, CLI, STI": [0x9b, 0x9d, 0xf4, 0xfa, 0xfb],
  // SALC: QEMU executes it, the emulator raises #UD on purpose (the SDM does not define it).
  SALC: [0xd6],
  x87: range(0xd8, 0xdf),
  "0F 00, 0F 01, LAR, LSL, SYSCALL, CLTS, SYSRET, INVD, WBINVD, FEMMS": [
    0x100, 0x101, 0x102, 0x103, 0x105, 0x106, 0x107, 0x108, 0x109, 0x10e,
  ],
  "WRMSR RDTSC RDMSR RDPMC SYSENTER SYSEXIT": range(0x130, 0x135),
  "MOV CRn/DRn": range(0x120, 0x127),
  SSE: [
    ...range(0x110, 0x117),
    ...range(0x128, 0x12f),
    ...range(0x150, 0x17f),
    ...range(0x1c2, 0x1c6),
    ...range(0x1d0, 0x1ff),
  ],
  "PUSH/POP FS GS, CPUID, RSM, 0F AE (FXSAVE, MXCSR, fences), LSS LFS LGS": [
    0x1a0, 0x1a1, 0x1a2, 0x1a8, 0x1a9, 0x1aa, 0x1ae, 0x1b2, 0x1b4, 0x1b5,
  ],
  "SSSE3..SSE4 (0F 38, 0F 3A; MOVBE and CRC32 stay)": [...range(0x200, 0x2ef), ...range(0x300, 0x3ff)],
};
const EXCLUDED = new Set<number>(Object.values(EXCLUDED_GROUPS).flat());
/** Group members left out, as op * 8 + reg. */
const EXCLUDED_MEMBERS = new Set<number>([
  0xff * 8 + 2,
  0xff * 8 + 3,
  0xff * 8 + 4,
  0xff * 8 + 5, // indirect and far CALL/JMP
  0x1c7 * 8 + 6,
  0x1c7 * 8 + 7, // RDRAND RDSEED RDPID
]);

/** Instructions LOCK may prefix (with a memory destination), as op * 8 + reg, or op * 8 + 8 outside groups.
 *  A LOCK prefix elsewhere is left out: Intel raises #UD, QEMU TCG ignores it or (unicorn 2.0.1, LOCK CMP)
 *  aborts the process in its code generator. (LOCK 82 is left out: the emulator raises #UD for it, reported.) */
const LOCKABLE = new Set<number>([
  ...[0x00, 0x01, 0x08, 0x09, 0x10, 0x11, 0x18, 0x19, 0x20, 0x21, 0x28, 0x29, 0x30, 0x31, 0x86, 0x87].map(
    (o) => o * 8 + 8,
  ),
  ...[0x80, 0x81, 0x83].flatMap((o) => range(0, 6).map((r) => o * 8 + r)),
  0xf6 * 8 + 2,
  0xf6 * 8 + 3,
  0xf7 * 8 + 2,
  0xf7 * 8 + 3,
  0xfe * 8,
  0xfe * 8 + 1,
  0xff * 8,
  0xff * 8 + 1,
  ...[0x1b0, 0x1b1, 0x1c0, 0x1c1, 0x1ab, 0x1b3, 0x1bb].map((o) => o * 8 + 8),
  0x1ba * 8 + 5,
  0x1ba * 8 + 6,
  0x1ba * 8 + 7,
  0x1c7 * 8 + 1,
]);

interface Candidate {
  op: number;
  reg: number; // -1: not a group
}

function candidates(mode: Mode): Candidate[] {
  const out: Candidate[] = [];
  for (let op = 0; op < 0x400; op++) {
    if (EXCLUDED.has(op)) continue;
    if (mode === 64 && op >= 0x40 && op <= 0x4f) continue; // REX prefixes
    const g = groups[op]!;
    if (g.length > 0) {
      for (let r = 0; r < 8; r++) if (g[r] && !EXCLUDED_MEMBERS.has(op * 8 + r)) out.push({ op, reg: r });
    } else if (handlers[op]) {
      out.push({ op, reg: -1 });
    }
  }
  return out;
}

const CANDIDATES = new Map<Mode, Candidate[]>();
export function opcodeList(mode: Mode): Candidate[] {
  let c = CANDIDATES.get(mode);
  if (!c) {
    c = candidates(mode);
    CANDIDATES.set(mode, c);
  }
  return c;
}

const STRING_OPS = new Set([0xa4, 0xa5, 0xa6, 0xa7, 0xaa, 0xab, 0xac, 0xad, 0xae, 0xaf]);
const REL8 = new Set([...range(0x70, 0x7f), 0xeb, 0xe0, 0xe1, 0xe2, 0xe3]);
const RELZ = new Set([0xe8, 0xe9, ...range(0x180, 0x18f)]);
const BT_REG = new Set([0x1a3, 0x1ab, 0x1b3, 0x1bb]);
const SEGS = [0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65];
const PREFIXES = new Set([...SEGS, 0x66, 0x67, 0xf0, 0xf2, 0xf3]);
/** Instructions that may leave flags undefined (see undefined_flags.ts), for the generator's bookkeeping. */
const MAY_UNDEFINE = new Set([
  0xc0, 0xc1, 0xd0, 0xd1, 0xd2, 0xd3, 0x69, 0x6b, 0x1af, 0x1a3, 0x1ab, 0x1b3, 0x1bb, 0x1ba, 0x1bc, 0x1bd, 0x1a4, 0x1a5,
  0x1ac, 0x1ad, 0x27, 0x2f, 0x37, 0x3f, 0xd4, 0xd5, 0xf6, 0xf7,
]);
const READS = (op: number, reg: number) =>
  (op >= 0x70 && op <= 0x7f) ||
  (op >= 0x180 && op <= 0x19f) ||
  (op >= 0x140 && op <= 0x14f) ||
  (op >= 0x10 && op <= 0x1d) ||
  (op >= 0x80 && op <= 0x83 && (reg === 2 || reg === 3)) ||
  ((op === 0xc0 || op === 0xc1 || (op >= 0xd0 && op <= 0xd3)) && (reg === 2 || reg === 3)) ||
  [0x9c, 0x9f, 0xe0, 0xe1, 0xd6, 0x27, 0x2f, 0x37, 0x3f, 0xf5].includes(op);

function interesting(rng: Rng): bigint {
  const k = rng.int(16);
  if (k < 4) return BigInt(rng.int(256));
  if (k === 4) return 0n;
  if (k === 5) return 0xffff_ffff_ffff_ffffn;
  if (k === 6) {
    const edges = [0x7fn, 0x80n, 0xffn, 0x7fffn, 0x8000n, 0xffffn, 0x7fff_ffffn, 0x8000_0000n, 0xffff_ffffn];
    const e = edges[rng.int(edges.length)]!;
    return rng.chance(0.5) ? e : BigInt.asUintN(64, -e - 1n);
  }
  if (k === 7) return 0x7fff_ffff_ffff_ffffn + BigInt(rng.int(3));
  return rng.u64();
}

interface Builder {
  mode: Mode;
  rng: Rng;
  regs: bigint[];
  fixed: boolean[];
}

function dataAddress(rng: Rng): bigint {
  return BigInt(DATA + 256 + rng.int(DATA_SIZE - 512));
}

function setPointer(b: Builder, r: number, value: bigint): void {
  if (b.fixed[r]) return;
  // Random upper bits where the address size ignores them (a 67 prefix in 64-bit mode, 16-bit addressing).
  b.regs[r] = BigInt.asUintN(64, value);
  b.fixed[r] = true;
}

function mask(adsize: number): bigint {
  return adsize === 8 ? 0xffff_ffff_ffff_ffffn : adsize === 4 ? 0xffff_ffffn : 0xffffn;
}

function writeLe(bytes: number[], at: number, size: number, v: bigint): void {
  for (let k = 0; k < size; k++) bytes[at + k] = Number((v >> BigInt(8 * k)) & 0xffn);
}

/** Encodes one instruction for candidate `c` and shapes the registers its memory operands use. */
function encode(b: Builder, c: Candidate, at: number): number[] | undefined {
  const { rng, mode } = b;
  const bytes: number[] = [];
  const op = c.op;
  const branch = REL8.has(op) || RELZ.has(op);
  const lock = LOCKABLE.has(c.reg >= 0 ? c.op * 8 + c.reg : c.op * 8 + 8) && rng.chance(0.2);
  if (lock) bytes.push(0xf0);
  if (rng.chance(0.25) && !(branch && mode === 64)) bytes.push(0x66);
  if (rng.chance(0.12)) bytes.push(0x67);
  if (rng.chance(0.15)) bytes.push(SEGS[rng.int(SEGS.length)]!);
  if (STRING_OPS.has(op) && rng.chance(0.6)) bytes.push(rng.chance(0.5) ? 0xf3 : 0xf2);
  if (op === 0x1b8) bytes.push(0xf3);
  else if ((op === 0x1bc || op === 0x1bd) && rng.chance(0.5)) bytes.push(0xf3);
  else if ((op === 0x2f0 || op === 0x2f1) && rng.chance(0.5)) bytes.push(0xf2);
  else if (rng.chance(0.02)) bytes.push(rng.chance(0.5) ? 0xf3 : 0xf2);
  if (mode === 64 && rng.chance(0.5)) bytes.push(0x40 | rng.int(16));
  if (op >= 0x300) bytes.push(0x0f, 0x3a, op & 0xff);
  else if (op >= 0x200) bytes.push(0x0f, 0x38, op & 0xff);
  else if (op >= 0x100) bytes.push(0x0f, op & 0xff);
  else bytes.push(op);
  const modrmAt = bytes.length;
  let modrm = rng.int(256);
  if (rng.chance(0.45)) modrm |= 0xc0;
  else if ((modrm & 0xc0) === 0xc0) modrm &= 0x7f;
  if (c.reg >= 0) modrm = (modrm & 0xc7) | (c.reg << 3);
  bytes.push(modrm);
  for (let k = 0; k < 15; k++) bytes.push(rng.int(256));
  let i: ReturnType<typeof decode>;
  try {
    i = decode((o) => bytes[o] ?? 0, 0, mode / 8);
  } catch (e) {
    if (e === FAULT) return undefined;
    throw e;
  }
  bytes.length = i.len;
  if (lock && i.mod === 3) return undefined;
  if (modrmAt >= i.len) return bytes; // (a one-byte instruction)
  const hasModrm = i.mod !== 3 || i.base >= 0 || i.index >= 0 || i.ripRelative;
  const adsize = i.adsize;
  const m = mask(adsize);
  if (hasModrm && i.mod !== 3) {
    const target = dataAddress(rng);
    const sib = adsize !== 2 && (modrm & 7) === 4;
    const dispAt = modrmAt + 1 + (sib ? 1 : 0);
    const dispSize =
      i.mod === 1 ? 1 : i.mod === 2 ? (adsize === 2 ? 2 : 4) : adsize === 2 ? ((modrm & 7) === 6 ? 2 : 0) : 0;
    const disp32 = i.mod === 0 && adsize !== 2 && (i.base < 0 || i.ripRelative) ? 4 : 0;
    const disp = BigInt(i.disp);
    const scale = BigInt(i.scale);
    if (i.index >= 0 && !b.fixed[i.index]) setPointer(b, i.index, BigInt(rng.int(64)) - (rng.chance(0.2) ? 32n : 0n));
    const idx = i.index >= 0 ? b.regs[i.index]! << scale : 0n;
    if (i.base >= 0 && !b.fixed[i.base]) {
      setPointer(b, i.base, (b.regs[i.base]! & ~m) | ((target - disp - idx) & m));
    } else if (dispSize + disp32 >= 2) {
      const base = i.base >= 0 ? b.regs[i.base]! : 0n;
      const rip = i.ripRelative ? BigInt(at + i.len) : 0n;
      const size = dispSize + disp32;
      let d = BigInt.asIntN(64, (target - base - idx - rip) & m);
      if (adsize === 8) d = target - BigInt.asIntN(64, base) - BigInt.asIntN(64, idx) - rip;
      const lim = size === 2 ? 0x8000n : 0x8000_0000n;
      if (adsize === 2) d = BigInt.asIntN(16, d);
      else if (adsize === 4) d = BigInt.asIntN(32, d);
      if (d >= -lim && d < lim) writeLe(bytes, dispAt, size, d);
    }
  }
  const r = i.reg & 15;
  if (BT_REG.has(op) && i.mod !== 3) setPointer(b, r, BigInt.asUintN(64, BigInt(rng.int(512) - 256)));
  if (STRING_OPS.has(op)) {
    setPointer(b, 6, (b.regs[6]! & ~m) | dataAddress(rng));
    setPointer(b, 7, (b.regs[7]! & ~m) | dataAddress(rng));
    if (i.rep) setPointer(b, 1, (b.regs[1]! & ~m) | BigInt(rng.int(13)));
  }
  if (op === 0xd7) setPointer(b, 3, (b.regs[3]! & ~m) | (dataAddress(rng) - 255n));
  if (op >= 0xa0 && op <= 0xa3) writeLe(bytes, i.len - adsize, adsize, dataAddress(rng));
  if (op === 0xc8 || op === 0xc9) setPointer(b, 5, BigInt(STACK + 0x400 + rng.int(0x800)) & ~1n);
  if ((op === 0xf6 || op === 0xf7) && (c.reg === 6 || c.reg === 7) && rng.chance(0.5)) setPointer(b, 2, 0n);
  return bytes;
}

/** A random case: `count` instructions (1-8 when omitted) and a random state. */
export function generate(rng: Rng, mode: Mode, count = 1 + rng.int(8)): Case {
  const regs: bigint[] = [];
  for (let r = 0; r < 16; r++) regs.push(interesting(rng));
  const fixed = new Array<boolean>(16).fill(false);
  regs[4] = BigInt(STACK + 0x800 + rng.int(0x400)) & (rng.chance(0.9) ? ~7n : ~0n);
  fixed[4] = true;
  const b: Builder = { mode, rng, regs, fixed };
  const list = opcodeList(mode);
  const insns: number[][] = [];
  const branches: number[] = [];
  let at = CODE;
  let dirty = false;
  while (insns.length < count) {
    const c = list[rng.int(list.length)]!;
    if (dirty && READS(c.op, c.reg)) {
      // A flag reader after an instruction that may leave flags undefined: define them first (CMP r, r).
      const cmp = [0x39, 0xc0 | rng.int(64)];
      insns.push(cmp);
      at += cmp.length;
      dirty = false;
      continue;
    }
    const bytes = encode(b, c, at);
    if (!bytes) continue;
    if (REL8.has(c.op) || RELZ.has(c.op)) branches.push(insns.length);
    insns.push(bytes);
    at += bytes.length;
    if (MAY_UNDEFINE.has(c.op)) dirty = true;
  }
  // Branches go forward only, to an instruction boundary or the end (which stops both CPUs).
  const starts: number[] = [];
  let o = 0;
  for (const insn of insns) {
    starts.push(o);
    o += insn.length;
  }
  starts.push(o);
  for (const k of branches) {
    const insn = insns[k]!;
    let at = 0;
    while (PREFIXES.has(insn[at]!) || (mode === 64 && (insn[at]! & 0xf0) === 0x40)) at++;
    const next = starts[k + 1]!;
    const target = starts[k + 1 + rng.int(insns.length - k)]!;
    const d = target - next;
    const size = insn[at] !== 0x0f && REL8.has(insn[at]!) ? 1 : immSize(insn.slice(0, at), mode);
    for (let n = 0; n < size; n++) insn[insn.length - size + n] = (d >> (8 * n)) & 0xff;
  }
  const flags = 0x2 | (rng.next() & 0x8d5) | (rng.chance(0.2) ? 0x400 : 0);
  return { mode, insns, regs, flags, memSeed: rng.next() | 1 };
}

/** The size of a near branch's displacement (rel16 or rel32) given its prefixes. */
function immSize(prefixes: number[], mode: Mode): number {
  if (mode === 64) return 4;
  return (mode === 16) !== prefixes.includes(0x66) ? 2 : 4;
}
