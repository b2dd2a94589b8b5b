// MMX instructions (Intel SDM vol. 1, chapter 9; vol. 2 for each instruction): the no-prefix forms of the 0F
// opcodes shared with SSE2. This module registers none of them itself: ops/sse_core.ts registers one
// dispatcher per opcode and calls `mmxHandlers` for the form without a mandatory prefix.
//
// MMX register n is the significand of physical x87 register Rn (cpu.fpMant words 2n, 2n+1); writing one
// sets that register's sign/exponent to all ones, and every MMX instruction sets TOP = 0 and all tags valid
// (x87.ts: enterMmx). A register last written by x87 arithmetic (binary64 view) is converted to its exact
// 80-bit form before an MMX read (ensureRaw).
import type { Cpu } from "../cpu.js";
import { ud } from "../fault.js";
import type { Handler, Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { operandLinear, readRm, writeRm } from "../operands.js";
import { ensureRaw, enterMmx } from "./x87.js";

export const mmxHandlers = new Map<number, Handler>();

const buf = new ArrayBuffer(24);
const A = new Int32Array(buf, 0, 2);
const B = new Int32Array(buf, 8, 2);
const R = new Int32Array(buf, 16, 2);
const A8 = new Uint8Array(buf, 0, 8);
const B8 = new Uint8Array(buf, 8, 8);
const R8 = new Uint8Array(buf, 16, 8);
const A8s = new Int8Array(buf, 0, 8);
const B8s = new Int8Array(buf, 8, 8);
const R8s = new Int8Array(buf, 16, 8);
const A16 = new Int16Array(buf, 0, 4);
const B16 = new Int16Array(buf, 8, 4);
const R16 = new Int16Array(buf, 16, 4);
const A16u = new Uint16Array(buf, 0, 4);
const B16u = new Uint16Array(buf, 8, 4);
const R16u = new Uint16Array(buf, 16, 4);

function readMm(cpu: Cpu, n: number, to: Int32Array): void {
  ensureRaw(cpu, n);
  to[0] = cpu.fpMant[2 * n]!;
  to[1] = cpu.fpMant[2 * n + 1]!;
}

function writeMm(cpu: Cpu, n: number, lo: number, hi: number): void {
  cpu.fpMant[2 * n] = lo;
  cpu.fpMant[2 * n + 1] = hi;
  cpu.fpExp[n] = 0xffff;
  cpu.fpRaw[n] = 1;
}

/** Loads A = MMX destination register, B = source (register or m64; m32 when `half`). */
function loadAB(cpu: Cpu, i: Insn, half = false): void {
  enterMmx(cpu);
  if (i.mod === 3) readMm(cpu, i.rm & 7, B);
  else {
    const lin = operandLinear(cpu, i, half ? 4 : 8);
    B[0] = half ? cpu.mem.read32(lin) : cpu.mem.read64(lin);
    B[1] = half ? 0 : cpu.vHi;
  }
  readMm(cpu, i.reg & 7, A);
}

const storeR = (cpu: Cpu, i: Insn) => writeMm(cpu, i.reg & 7, R[0]!, R[1]!);

const satS8 = (v: number) => (v > 127 ? 127 : Math.max(v, -128));
const satU8 = (v: number) => (v > 255 ? 255 : Math.max(v, 0));
const satS16 = (v: number) => (v > 32767 ? 32767 : Math.max(v, -32768));
const satU16 = (v: number) => (v > 65535 ? 65535 : Math.max(v, 0));

type Lane = (a: number, b: number) => number;
/** A lane-wise operation on bytes (signed or not), words (signed or not) or dwords. */
function lanes(op: number, kind: "b" | "bs" | "w" | "ws" | "d", fn: Lane): void {
  mmxHandlers.set(MAP_0F + op, (cpu, i) => {
    loadAB(cpu, i);
    switch (kind) {
      case "b":
        for (let k = 0; k < 8; k++) R8[k] = fn(A8[k]!, B8[k]!);
        break;
      case "bs":
        for (let k = 0; k < 8; k++) R8s[k] = fn(A8s[k]!, B8s[k]!);
        break;
      case "w":
        for (let k = 0; k < 4; k++) R16u[k] = fn(A16u[k]!, B16u[k]!);
        break;
      case "ws":
        for (let k = 0; k < 4; k++) R16[k] = fn(A16[k]!, B16[k]!);
        break;
      default:
        for (let k = 0; k < 2; k++) R[k] = fn(A[k]!, B[k]!);
        break;
    }
    storeR(cpu, i);
  });
}

const add: Lane = (a, b) => a + b;
const sub: Lane = (a, b) => a - b;
const eq: Lane = (a, b) => (a === b ? -1 : 0);
const gt: Lane = (a, b) => (a > b ? -1 : 0);
lanes(0xfc, "b", add); // PADDB
lanes(0xfd, "w", add); // PADDW
lanes(0xfe, "d", add); // PADDD
lanes(0xf8, "b", sub); // PSUBB
lanes(0xf9, "w", sub); // PSUBW
lanes(0xfa, "d", sub); // PSUBD
lanes(0xec, "bs", (a, b) => satS8(a + b)); // PADDSB
lanes(0xed, "ws", (a, b) => satS16(a + b)); // PADDSW
lanes(0xdc, "b", (a, b) => satU8(a + b)); // PADDUSB
lanes(0xdd, "w", (a, b) => satU16(a + b)); // PADDUSW
lanes(0xe8, "bs", (a, b) => satS8(a - b)); // PSUBSB
lanes(0xe9, "ws", (a, b) => satS16(a - b)); // PSUBSW
lanes(0xd8, "b", (a, b) => satU8(a - b)); // PSUBUSB
lanes(0xd9, "w", (a, b) => satU16(a - b)); // PSUBUSW
lanes(0x74, "b", eq); // PCMPEQB
lanes(0x75, "w", eq); // PCMPEQW
lanes(0x76, "d", eq); // PCMPEQD
lanes(0x64, "bs", gt); // PCMPGTB
lanes(0x65, "ws", gt); // PCMPGTW
lanes(0x66, "d", gt); // PCMPGTD
lanes(0xd5, "ws", (a, b) => Math.imul(a, b)); // PMULLW
lanes(0xe5, "ws", (a, b) => (a * b) >> 16); // PMULHW
lanes(0xe4, "w", (a, b) => Math.floor((a * b) / 65536)); // PMULHUW
lanes(0xdb, "d", (a, b) => a & b); // PAND
lanes(0xdf, "d", (a, b) => ~a & b); // PANDN
lanes(0xeb, "d", (a, b) => a | b); // POR
lanes(0xef, "d", (a, b) => a ^ b); // PXOR
lanes(0xda, "b", Math.min); // PMINUB
lanes(0xde, "b", Math.max); // PMAXUB
lanes(0xea, "ws", Math.min); // PMINSW
lanes(0xee, "ws", Math.max); // PMAXSW
lanes(0xe0, "b", (a, b) => (a + b + 1) >> 1); // PAVGB
lanes(0xe3, "w", (a, b) => (a + b + 1) >> 1); // PAVGW

// 64-bit lanes.
function q(op: number, fn: () => void): void {
  mmxHandlers.set(MAP_0F + op, (cpu, i) => {
    loadAB(cpu, i);
    fn();
    storeR(cpu, i);
  });
}
q(0xd4, () => {
  // PADDQ
  const lo = (A[0]! >>> 0) + (B[0]! >>> 0);
  R[0] = lo | 0;
  R[1] = (A[1]! + B[1]! + (lo > 0xffffffff ? 1 : 0)) | 0;
});
q(0xfb, () => {
  // PSUBQ
  const lo = (A[0]! >>> 0) - (B[0]! >>> 0);
  R[0] = lo | 0;
  R[1] = (A[1]! - B[1]! - (lo < 0 ? 1 : 0)) | 0;
});
q(0xf4, () => {
  // PMULUDQ
  const a = A[0]! >>> 0;
  const b = B[0]! >>> 0;
  const p = BigInt(a) * BigInt(b);
  R[0] = Number(p & 0xffffffffn) | 0;
  R[1] = Number(p >> 32n) | 0;
});
q(0xf5, () => {
  // PMADDWD
  R[0] = (Math.imul(A16[0]!, B16[0]!) + Math.imul(A16[1]!, B16[1]!)) | 0;
  R[1] = (Math.imul(A16[2]!, B16[2]!) + Math.imul(A16[3]!, B16[3]!)) | 0;
});
q(0xf6, () => {
  // PSADBW
  let s = 0;
  for (let k = 0; k < 8; k++) s += Math.abs(A8[k]! - B8[k]!);
  R[0] = s;
  R[1] = 0;
});
// Packs.
q(0x63, () => {
  for (let k = 0; k < 4; k++) {
    R8s[k] = satS8(A16[k]!);
    R8s[k + 4] = satS8(B16[k]!);
  }
});
q(0x67, () => {
  for (let k = 0; k < 4; k++) {
    R8[k] = satU8(A16[k]!);
    R8[k + 4] = satU8(B16[k]!);
  }
});
q(0x6b, () => {
  R16[0] = satS16(A[0]!);
  R16[1] = satS16(A[1]!);
  R16[2] = satS16(B[0]!);
  R16[3] = satS16(B[1]!);
});
// Unpacks: the low forms read m32.
function unpack(op: number, size: number, high: boolean): void {
  mmxHandlers.set(MAP_0F + op, (cpu, i) => {
    loadAB(cpu, i, !high);
    const base = high ? 4 : 0;
    for (let k = 0; k < 4 / size; k++) {
      for (let j = 0; j < size; j++) {
        R8[2 * k * size + j] = A8[base + k * size + j]!;
        R8[(2 * k + 1) * size + j] = B8[base + k * size + j]!;
      }
    }
    storeR(cpu, i);
  });
}
unpack(0x60, 1, false);
unpack(0x61, 2, false);
unpack(0x62, 4, false);
unpack(0x68, 1, true);
unpack(0x69, 2, true);
unpack(0x6a, 4, true);

// Shifts by a register/memory count (D1-D3, E1-E2, F1-F3) and by imm8 (71-73 groups).
/** R = A shifted: kind 0 logical right, 1 arithmetic right, 2 left; size 2, 4 or 8 bytes; count unsigned 64-bit. */
function shift(kind: number, size: number, countLo: number, countHi: number): void {
  const big = countHi !== 0 || countLo >>> 0 >= size * 8;
  const c = countLo >>> 0;
  if (size === 2) {
    for (let k = 0; k < 4; k++) {
      if (kind === 1) R16[k] = A16[k]! >> (big ? 15 : c);
      else if (big) R16[k] = 0;
      else R16u[k] = kind === 0 ? A16u[k]! >>> c : A16u[k]! << c;
    }
  } else if (size === 4) {
    for (let k = 0; k < 2; k++) {
      if (kind === 1) R[k] = A[k]! >> (big ? 31 : c);
      else if (big) R[k] = 0;
      else R[k] = kind === 0 ? A[k]! >>> c : A[k]! << c;
    }
  } else if (big) {
    R[0] = 0;
    R[1] = 0;
  } else if (kind === 0) {
    if (c >= 32) {
      R[0] = A[1]! >>> (c - 32);
      R[1] = 0;
    } else {
      R[0] = c === 0 ? A[0]! : (A[0]! >>> c) | (A[1]! << (32 - c));
      R[1] = A[1]! >>> c;
    }
  } else if (c >= 32) {
    R[1] = A[0]! << (c - 32);
    R[0] = 0;
  } else {
    R[1] = c === 0 ? A[1]! : (A[1]! << c) | (A[0]! >>> (32 - c));
    R[0] = A[0]! << c;
  }
}

for (const [op, kind, size] of [
  [0xd1, 0, 2],
  [0xd2, 0, 4],
  [0xd3, 0, 8],
  [0xe1, 1, 2],
  [0xe2, 1, 4],
  [0xf1, 2, 2],
  [0xf2, 2, 4],
  [0xf3, 2, 8],
] as const) {
  mmxHandlers.set(MAP_0F + op, (cpu, i) => {
    loadAB(cpu, i);
    shift(kind, size, B[0]!, B[1]!);
    storeR(cpu, i);
  });
}

for (const [op, size] of [
  [0x71, 2],
  [0x72, 4],
  [0x73, 8],
] as const) {
  mmxHandlers.set(MAP_0F + op, (cpu, i) => {
    const reg = i.reg & 7;
    const kind = reg === 2 ? 0 : reg === 4 ? 1 : reg === 6 ? 2 : -1;
    if (i.mod !== 3 || kind < 0 || (size === 8 && kind === 1)) ud();
    enterMmx(cpu);
    readMm(cpu, i.rm & 7, A);
    shift(kind, size, i.imm & 0xff, 0);
    writeMm(cpu, i.rm & 7, R[0]!, R[1]!);
  });
}

// PSHUFW mm, mm/m64, imm8.
mmxHandlers.set(MAP_0F + 0x70, (cpu, i) => {
  loadAB(cpu, i);
  for (let k = 0; k < 4; k++) R16[k] = B16[(i.imm >> (2 * k)) & 3]!;
  storeR(cpu, i);
});

// PMOVMSKB r32, mm.
mmxHandlers.set(MAP_0F + 0xd7, (cpu, i) => {
  if (i.mod !== 3) ud();
  enterMmx(cpu);
  readMm(cpu, i.rm & 7, A);
  let m = 0;
  for (let k = 0; k < 8; k++) m |= (A8[k]! >> 7) << k;
  cpu.lo[i.reg] = m;
  cpu.hi[i.reg] = 0;
});

// MOVD/MOVQ mm, r/m32 (r/m64 with REX.W).
mmxHandlers.set(MAP_0F + 0x6e, (cpu, i) => {
  enterMmx(cpu);
  const w = i.opsize === 8 ? 8 : 4;
  const lo = readRm(cpu, i, w);
  writeMm(cpu, i.reg & 7, lo, w === 8 ? cpu.vHi : 0);
});
// MOVD/MOVQ r/m32 (r/m64), mm.
mmxHandlers.set(MAP_0F + 0x7e, (cpu, i) => {
  enterMmx(cpu);
  readMm(cpu, i.reg & 7, A);
  const w = i.opsize === 8 ? 8 : 4;
  writeRm(cpu, i, w, A[0]!, A[1]!);
});
// MOVQ mm, mm/m64.
mmxHandlers.set(MAP_0F + 0x6f, (cpu, i) => {
  enterMmx(cpu);
  if (i.mod === 3) readMm(cpu, i.rm & 7, B);
  else {
    B[0] = cpu.mem.read64(operandLinear(cpu, i, 8));
    B[1] = cpu.vHi;
  }
  writeMm(cpu, i.reg & 7, B[0]!, B[1]!);
});
// MOVQ mm/m64, mm; MOVNTQ m64, mm.
const movqStore: Handler = (cpu, i) => {
  enterMmx(cpu);
  readMm(cpu, i.reg & 7, A);
  if (i.mod === 3) writeMm(cpu, i.rm & 7, A[0]!, A[1]!);
  else cpu.mem.write64(operandLinear(cpu, i, 8), A[0]!, A[1]!);
};
mmxHandlers.set(MAP_0F + 0x7f, movqStore);
mmxHandlers.set(MAP_0F + 0xe7, (cpu, i) => {
  if (i.mod === 3) ud();
  movqStore(cpu, i);
});

// ---- SSE's and SSSE3's instructions on MMX registers ----
// PINSRW mm, r32/m16, imm8.
mmxHandlers.set(MAP_0F + 0xc4, (cpu, i) => {
  enterMmx(cpu);
  const v = i.mod === 3 ? cpu.lo[i.rm]! : cpu.mem.read16(operandLinear(cpu, i, 2));
  readMm(cpu, i.reg & 7, A);
  A16[i.imm & 3] = v;
  writeMm(cpu, i.reg & 7, A[0]!, A[1]!);
});
// PEXTRW r32, mm, imm8.
mmxHandlers.set(MAP_0F + 0xc5, (cpu, i) => {
  if (i.mod !== 3) ud();
  enterMmx(cpu);
  readMm(cpu, i.rm & 7, A);
  cpu.lo[i.reg] = A16u[i.imm & 3]!;
  cpu.hi[i.reg] = 0;
});
// MASKMOVQ mm1, mm2: the bytes of mm1 whose mm2 byte has its top bit set, to DS:(E/R)DI.
mmxHandlers.set(MAP_0F + 0xf7, (cpu, i) => {
  if (i.mod !== 3) ud();
  enterMmx(cpu);
  readMm(cpu, i.reg & 7, A);
  readMm(cpu, i.rm & 7, B);
  const di = i.adsize === 8 ? cpu.regNumber(7) : i.adsize === 4 ? cpu.lo[7]! >>> 0 : cpu.lo[7]! & 0xffff;
  const lin = cpu.mem.linear(i.segOverride ? i.seg : 3, di, 8);
  cpu.mem.probeWrite(lin, 8);
  for (let k = 0; k < 8; k++) if (B8[k]! & 0x80) cpu.mem.write8(lin + k, A8[k]!);
});

const MAP_0F38 = 0x200;
function ssse3(op: number, fn: () => void): void {
  mmxHandlers.set(MAP_0F38 + op, (cpu, i) => {
    loadAB(cpu, i);
    fn();
    storeR(cpu, i);
  });
}
ssse3(0x00, () => {
  // PSHUFB
  for (let k = 0; k < 8; k++) R8[k] = B8[k]! & 0x80 ? 0 : A8[B8[k]! & 7]!;
});
function horizontal16(fn: (a: number, b: number) => number): () => void {
  return () => {
    const a0 = fn(A16[0]!, A16[1]!);
    const a1 = fn(A16[2]!, A16[3]!);
    const b0 = fn(B16[0]!, B16[1]!);
    const b1 = fn(B16[2]!, B16[3]!);
    R16[0] = a0;
    R16[1] = a1;
    R16[2] = b0;
    R16[3] = b1;
  };
}
ssse3(
  0x01,
  horizontal16((a, b) => a + b),
); // PHADDW
ssse3(
  0x03,
  horizontal16((a, b) => satS16(a + b)),
); // PHADDSW
ssse3(
  0x05,
  horizontal16((a, b) => a - b),
); // PHSUBW
ssse3(
  0x07,
  horizontal16((a, b) => satS16(a - b)),
); // PHSUBSW
ssse3(0x02, () => {
  // PHADDD
  const a = (A[0]! + A[1]!) | 0;
  R[1] = (B[0]! + B[1]!) | 0;
  R[0] = a;
});
ssse3(0x06, () => {
  // PHSUBD
  const a = (A[0]! - A[1]!) | 0;
  R[1] = (B[0]! - B[1]!) | 0;
  R[0] = a;
});
ssse3(0x04, () => {
  // PMADDUBSW: unsigned bytes of the destination times signed bytes of the source
  for (let k = 0; k < 4; k++) R16[k] = satS16(A8[2 * k]! * B8s[2 * k]! + A8[2 * k + 1]! * B8s[2 * k + 1]!);
});
const sign = (a: number, b: number) => (b < 0 ? -a : b === 0 ? 0 : a);
ssse3(0x08, () => {
  for (let k = 0; k < 8; k++) R8s[k] = sign(A8s[k]!, B8s[k]!);
});
ssse3(0x09, () => {
  for (let k = 0; k < 4; k++) R16[k] = sign(A16[k]!, B16[k]!);
});
ssse3(0x0a, () => {
  for (let k = 0; k < 2; k++) R[k] = sign(A[k]!, B[k]!);
});
ssse3(0x0b, () => {
  // PMULHRSW
  for (let k = 0; k < 4; k++) R16[k] = (((A16[k]! * B16[k]!) >> 14) + 1) >> 1;
});
ssse3(0x1c, () => {
  for (let k = 0; k < 8; k++) R8[k] = Math.abs(B8s[k]!);
});
ssse3(0x1d, () => {
  for (let k = 0; k < 4; k++) R16u[k] = Math.abs(B16[k]!);
});
ssse3(0x1e, () => {
  for (let k = 0; k < 2; k++) R[k] = Math.abs(B[k]!) | 0;
});
// PALIGNR mm, mm/m64, imm8: (dest:src) >> imm8 bytes, low 8 bytes.
mmxHandlers.set(0x300 + 0x0f, (cpu, i) => {
  loadAB(cpu, i);
  const n = i.imm & 0xff;
  for (let k = 0; k < 8; k++) {
    const j = k + n;
    R8[k] = j < 8 ? B8[j]! : j < 16 ? A8[j - 8]! : 0;
  }
  storeR(cpu, i);
});
