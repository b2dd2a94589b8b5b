// SSE, SSE2 and SSSE3 instructions with an MMX register operand (Intel SDM vol. 2), added to the MMX family's
// mmxHandlers (ops/mmx.ts) under the keys ops/sse_core.ts dispatches: the no-prefix forms by opcode, the
// prefixed ones by opcode + 0x1000 * prefix (1 = 66, 2 = F3, 3 = F2).
//   SSE:   CVTPI2PS, CVTPS2PI, CVTTPS2PI (0F 2A/2D/2C), PINSRW/PEXTRW mm (0F C4/C5), MASKMOVQ (0F F7)
//   SSE2:  CVTPI2PD, CVTPD2PI, CVTTPD2PI (66 0F 2A/2D/2C), MOVQ2DQ (F3 0F D6), MOVDQ2Q (F2 0F D6)
//   SSSE3: the 64-bit forms of PSHUFB, PHADD*/PHSUB*, PMADDUBSW, PSIGN*, PMULHRSW, PABS* (0F 38 00-0B, 1C-1E)
//          and PALIGNR mm (0F 3A 0F)
// An MMX register operand puts the x87 unit in MMX state (enterMmx), as any MMX instruction does.
import type { Cpu } from "../cpu.js";
import { RDI } from "../cpu.js";
import { ud } from "../fault.js";
import type { Handler, Insn } from "../insn.js";
import { MAP_0F, MAP_0F3A, MAP_0F38 } from "../insn.js";
import { operandLinear, readRm, writeReg } from "../operands.js";
import { mmxHandlers } from "./mmx.js";
import {
  B,
  f32,
  f64,
  fpBegin,
  fpEnd,
  IE,
  in32,
  in64,
  isNaN32,
  isNaN64,
  lo64,
  loadB,
  loadX,
  PE,
  put64,
  R,
  raise,
  round32,
  roundInt,
  sign,
  sse,
  storeX,
} from "./sse_core.js";
import { ensureRaw, enterMmx } from "./x87.js";

const KEY66 = 0x1000;
const KEYF3 = 0x2000;
const KEYF2 = 0x3000;

function readMm(cpu: Cpu, n: number, to: Int32Array, at = 0): void {
  ensureRaw(cpu, n);
  to[at] = cpu.fpMant[2 * n]!;
  to[at + 1] = cpu.fpMant[2 * n + 1]!;
}
function writeMm(cpu: Cpu, n: number, lo: number, hi: number): void {
  cpu.fpMant[2 * n] = lo;
  cpu.fpMant[2 * n + 1] = hi;
  cpu.fpExp[n] = 0xffff;
  cpu.fpRaw[n] = 1;
}

/** The mm/m64 source into B[0..1] (entering MMX state for a register). */
function mmSource(cpu: Cpu, i: Insn): void {
  if (i.mod === 3) {
    enterMmx(cpu);
    readMm(cpu, i.rm & 7, B);
  } else {
    B[0] = cpu.mem.read64(operandLinear(cpu, i, 8));
    B[1] = cpu.vHi;
  }
}

/** A number to int32 under MXCSR.RC or truncating: the integer indefinite on NaN/overflow. */
function toInt32(x: number, truncate: boolean): number {
  if (Number.isNaN(x)) {
    raise(IE);
    return 0x80000000 | 0;
  }
  const r = roundInt(x, truncate);
  if (r >= 2147483648 || r < -2147483648) {
    raise(IE);
    return 0x80000000 | 0;
  }
  if (r !== x) raise(PE);
  return r;
}
const val32 = (a: number) => (isNaN32(a) ? Number.NaN : f32(in32(a)));
const val64 = (lo: number, hi: number) => {
  if (isNaN64(lo, hi)) return Number.NaN;
  const h = in64(lo, hi); // sets lo64: call it before reading lo64
  return f64(lo64, h);
};

// CVTPI2PS xmm, mm/m64: two int32 to binary32 (MXCSR.RC) in the low lanes; the high lanes are kept.
mmxHandlers.set(MAP_0F + 0x2a, (cpu, i) => {
  sse(cpu);
  mmSource(cpu, i);
  loadX(cpu, i.reg, R);
  fpBegin(cpu);
  for (let k = 0; k < 2; k++) {
    const v = B[k]!;
    const r = Math.fround(v);
    R[k] = round32(r, sign(v - r), true);
  }
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
// CVTPI2PD xmm, mm/m64: exact.
mmxHandlers.set(MAP_0F + 0x2a + KEY66, (cpu, i) => {
  sse(cpu);
  mmSource(cpu, i);
  const a = B[0]!;
  const b = B[1]!;
  put64(R, 0, a);
  put64(R, 2, b);
  storeX(cpu, i.reg, R);
});
// CVT(T)PS2PI mm, xmm/m64 and CVT(T)PD2PI mm, xmm/m128.
for (const truncate of [true, false]) {
  const op = MAP_0F + (truncate ? 0x2c : 0x2d);
  mmxHandlers.set(op, (cpu, i) => {
    sse(cpu);
    loadB(cpu, i, 8);
    enterMmx(cpu);
    fpBegin(cpu);
    const lo = toInt32(val32(B[0]!), truncate);
    const hi = toInt32(val32(B[1]!), truncate);
    fpEnd(cpu);
    writeMm(cpu, i.reg & 7, lo, hi);
  });
  mmxHandlers.set(op + KEY66, (cpu, i) => {
    sse(cpu);
    loadB(cpu, i, 16, true);
    enterMmx(cpu);
    fpBegin(cpu);
    const lo = toInt32(val64(B[0]!, B[1]!), truncate);
    const hi = toInt32(val64(B[2]!, B[3]!), truncate);
    fpEnd(cpu);
    writeMm(cpu, i.reg & 7, lo, hi);
  });
}
// MOVQ2DQ xmm, mm (F3 0F D6) and MOVDQ2Q mm, xmm (F2 0F D6): register operands only.
mmxHandlers.set(MAP_0F + 0xd6 + KEYF3, (cpu, i) => {
  sse(cpu);
  if (i.mod !== 3) ud();
  enterMmx(cpu);
  readMm(cpu, i.rm & 7, R);
  R[2] = 0;
  R[3] = 0;
  storeX(cpu, i.reg, R);
});
mmxHandlers.set(MAP_0F + 0xd6 + KEYF2, (cpu, i) => {
  sse(cpu);
  if (i.mod !== 3) ud();
  enterMmx(cpu);
  const k = i.rm << 2;
  writeMm(cpu, i.reg & 7, cpu.xmm[k]!, cpu.xmm[k + 1]!);
});

// ---- 64-bit integer forms ----
const buf = new ArrayBuffer(24);
const A = new Int32Array(buf, 0, 2);
const S = new Int32Array(buf, 8, 2);
const T = new Int32Array(buf, 16, 2);
const A8 = new Uint8Array(buf, 0, 8);
const S8 = new Uint8Array(buf, 8, 8);
const T8 = new Uint8Array(buf, 16, 8);
const A8s = new Int8Array(buf, 0, 8);
const S8s = new Int8Array(buf, 8, 8);
const T8s = new Int8Array(buf, 16, 8);
const A16 = new Int16Array(buf, 0, 4);
const S16 = new Int16Array(buf, 8, 4);
const T16 = new Int16Array(buf, 16, 4);

/** An MMX binary operation: A = mm destination, S = mm/m64 source, `f` computes T, written to the destination. */
function mmx2(f: () => void): Handler {
  return (cpu, i) => {
    enterMmx(cpu);
    if (i.mod === 3) readMm(cpu, i.rm & 7, S);
    else {
      S[0] = cpu.mem.read64(operandLinear(cpu, i, 8));
      S[1] = cpu.vHi;
    }
    readMm(cpu, i.reg & 7, A);
    f();
    writeMm(cpu, i.reg & 7, T[0]!, T[1]!);
  };
}

// PINSRW mm, r32/m16, imm8 (0F C4); PEXTRW r32, mm, imm8 (0F C5).
mmxHandlers.set(MAP_0F + 0xc4, (cpu, i) => {
  const v = readRm(cpu, i, 2);
  enterMmx(cpu);
  readMm(cpu, i.reg & 7, T);
  T16[i.imm & 3] = v;
  writeMm(cpu, i.reg & 7, T[0]!, T[1]!);
});
mmxHandlers.set(MAP_0F + 0xc5, (cpu, i) => {
  if (i.mod !== 3) ud();
  enterMmx(cpu);
  readMm(cpu, i.rm & 7, S);
  writeReg(cpu, i, i.reg, i.opsize === 8 ? 8 : 4, S16[i.imm & 3]! & 0xffff, 0);
});
// MASKMOVQ mm1, mm2 (0F F7): the bytes of mm1 selected by mm2's top bits, to DS:rDI.
mmxHandlers.set(MAP_0F + 0xf7, (cpu, i) => {
  if (i.mod !== 3) ud();
  enterMmx(cpu);
  readMm(cpu, i.reg & 7, A);
  readMm(cpu, i.rm & 7, S);
  const ad = i.adsize;
  const rdi = ad === 8 ? cpu.regNumber(RDI) : ad === 4 ? cpu.lo[RDI]! >>> 0 : cpu.lo[RDI]! & 0xffff;
  const lin = cpu.mem.linear(i.seg, rdi, 8);
  cpu.mem.probeWrite(lin, 8);
  for (let k = 0; k < 8; k++) if (S8[k]! & 0x80) cpu.mem.write8(lin + k, A8[k]!);
});

// SSSE3 on MMX registers.
const sat16 = (x: number) => (x < -32768 ? -32768 : Math.min(x, 32767));
const s38 = (b: number, f: () => void) => mmxHandlers.set(MAP_0F38 + b, mmx2(f));
s38(0x00, () => {
  for (let k = 0; k < 8; k++) T8[k] = S8[k]! & 0x80 ? 0 : A8[S8[k]! & 7]!;
});
for (const [b, sub, sat] of [
  [0x01, false, false],
  [0x03, false, true],
  [0x05, true, false],
  [0x07, true, true],
] as const) {
  s38(b, () => {
    for (let k = 0; k < 2; k++) {
      const x = sub ? A16[2 * k]! - A16[2 * k + 1]! : A16[2 * k]! + A16[2 * k + 1]!;
      const y = sub ? S16[2 * k]! - S16[2 * k + 1]! : S16[2 * k]! + S16[2 * k + 1]!;
      T16[k] = sat ? sat16(x) : x;
      T16[k + 2] = sat ? sat16(y) : y;
    }
  });
}
s38(0x02, () => {
  T[0] = (A[0]! + A[1]!) | 0;
  T[1] = (S[0]! + S[1]!) | 0;
});
s38(0x06, () => {
  T[0] = (A[0]! - A[1]!) | 0;
  T[1] = (S[0]! - S[1]!) | 0;
});
s38(0x04, () => {
  for (let k = 0; k < 4; k++) T16[k] = sat16(A8[2 * k]! * S8s[2 * k]! + A8[2 * k + 1]! * S8s[2 * k + 1]!);
});
s38(0x08, () => {
  for (let k = 0; k < 8; k++) T8s[k] = S8s[k]! < 0 ? -A8s[k]! : S8s[k] === 0 ? 0 : A8s[k]!;
});
s38(0x09, () => {
  for (let k = 0; k < 4; k++) T16[k] = S16[k]! < 0 ? -A16[k]! : S16[k] === 0 ? 0 : A16[k]!;
});
s38(0x0a, () => {
  for (let k = 0; k < 2; k++) T[k] = S[k]! < 0 ? -A[k]! | 0 : S[k] === 0 ? 0 : A[k]!;
});
s38(0x0b, () => {
  for (let k = 0; k < 4; k++) T16[k] = (((A16[k]! * S16[k]!) >> 14) + 1) >> 1;
});
s38(0x1c, () => {
  for (let k = 0; k < 8; k++) T8[k] = Math.abs(S8s[k]!);
});
s38(0x1d, () => {
  for (let k = 0; k < 4; k++) T16[k] = Math.abs(S16[k]!);
});
s38(0x1e, () => {
  for (let k = 0; k < 2; k++) T[k] = Math.abs(S[k]!) | 0;
});
// PALIGNR mm, mm/m64, imm8: the 16-byte concatenation dest:src shifted right by imm8 bytes.
mmxHandlers.set(
  MAP_0F3A + 0x0f,
  (() => {
    let n = 0;
    const h = mmx2(() => {
      for (let k = 0; k < 8; k++) {
        const at = k + n;
        T8[k] = at < 8 ? S8[at]! : at < 16 ? A8[at - 8]! : 0;
      }
    });
    return (cpu: Cpu, i: Insn) => {
      n = i.imm & 0xff;
      h(cpu, i);
    };
  })(),
);
void KEYF2;
