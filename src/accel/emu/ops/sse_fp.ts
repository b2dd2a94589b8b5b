// SSE/SSE2/SSE3 floating point and data movement (Intel SDM vol. 2): MOVAPS/MOVUPS/MOVAPD/MOVUPD/MOVSS/MOVSD,
// MOVLPS/MOVHPS/MOVLPD/MOVHPD/MOVLHPS/MOVHLPS, MOVNTPS/MOVNTPD/MOVNTI, MOVMSKPS/PD, packed and scalar
// ADD/SUB/MUL/DIV/SQRT/MIN/MAX/RCP/RSQRT, CMPxx, (U)COMISS/SD, the CVT family, ANDPS..XORPD, SHUFPS/PD,
// UNPCKxPS/PD, LDMXCSR/STMXCSR; SSE3's ADDSUBPS/PD, HADDPS/PD, HSUBPS/PD, MOVSLDUP/MOVSHDUP/MOVDDUP, LDDQU.
// Rounding, exceptions and what is inexact: see sse_core.ts.
import type { Cpu } from "../cpu.js";
import { gp, ud } from "../fault.js";
import { CF, PF, ZF } from "../flags.js";
import type { Handler, Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { defGroup, unimplemented } from "../opcodes.js";
import { operandLinear, readRm, writeReg } from "../operands.js";
import {
  A,
  B,
  DAZ,
  DE,
  exc,
  f32,
  f64,
  form,
  fpBegin,
  fpEnd,
  IE,
  in32,
  in64,
  isDenormal32,
  isDenormal64,
  isNaN32,
  isNaN64,
  isSNaN32,
  isSNaN64,
  linear128,
  lo64,
  loadAB,
  loadB,
  loadX,
  MXCSR_MASK,
  mx,
  NP,
  nan32,
  nan64,
  P66,
  PE,
  PF2,
  PF3,
  productError,
  put64,
  put64r,
  QNAN32,
  QNAN64_HI,
  R,
  raise,
  round32,
  round64,
  roundInt,
  sign,
  sse,
  storeX,
  sumError,
  write128,
  ZE,
} from "./sse_core.js";

const op0F = (b: number) => MAP_0F + b;

// ---- arithmetic kernels ----
const ADD = 0;
const SUB = 1;
const MUL = 2;
const DIV = 3;
const MIN = 4;
const MAX = 5;
const SQRT = 6;

/** A binary32 operation on bit patterns (SQRT uses b only): the result's bits. */
export function arith32(k: number, a: number, b: number): number {
  if (k === SQRT) {
    if (isNaN32(b)) {
      if (isSNaN32(b)) raise(IE);
      return b | 0x400000;
    }
    b = in32(b);
    const y = f32(b);
    if (y < 0) {
      raise(IE);
      return QNAN32;
    }
    const r = Math.fround(Math.sqrt(y));
    return round32(r, y === Infinity ? 0 : sign(y - r * r), true);
  }
  if (isNaN32(a) || isNaN32(b)) {
    if (k === MIN || k === MAX) {
      raise(IE);
      return b;
    }
    return nan32(a, b);
  }
  a = in32(a);
  b = in32(b);
  const x = f32(a);
  const y = f32(b);
  const finite = Number.isFinite(x) && Number.isFinite(y);
  switch (k) {
    case ADD:
    case SUB: {
      const y2 = k === SUB ? -y : y;
      const d = x + y2;
      const r = Math.fround(d);
      if (d === 0 && ((mx >> 13) & 3) === 1 && !(Object.is(x, 0) && Object.is(y2, 0))) {
        return 0x80000000 | 0; // an exact zero sum rounds to -0 toward -infinity
      }
      return round32(r, d !== r ? sign(d - r) : finite ? sign(sumError(x, y2, d)) : 0, finite);
    }
    case MUL: {
      const d = x * y;
      const r = Math.fround(d);
      return round32(r, finite ? sign(d - r) : 0, finite);
    }
    case DIV: {
      if (y === 0 && !Number.isNaN(x) && x !== 0 && finite) {
        raise(ZE);
        return ((a ^ b) & 0x80000000) | 0x7f800000;
      }
      const r = Math.fround(x / y);
      return round32(r, finite && Number.isFinite(r) ? sign(x - r * y) * sign(y) : 0, finite);
    }
    case MIN:
      return x < y ? a : b;
    default:
      return x > y ? a : b;
  }
}

/** A binary64 operation on (lo, hi) words: the result into out[k], out[k + 1]. */
export function arith64(
  k: number,
  alo: number,
  ahi: number,
  blo: number,
  bhi: number,
  out: Int32Array,
  at: number,
): void {
  if (k === SQRT) {
    if (isNaN64(blo, bhi)) {
      if (isSNaN64(blo, bhi)) raise(IE);
      out[at] = blo;
      out[at + 1] = bhi | 0x80000;
      return;
    }
    bhi = in64(blo, bhi);
    blo = lo64;
    const y = f64(blo, bhi);
    if (y < 0) {
      raise(IE);
      put64r(out, at, Number.NaN);
      return;
    }
    const r = Math.sqrt(y);
    const s = y === Infinity || y === 0 ? 0 : diffSign(y, r, r, 1);
    put64r(out, at, round64(r, s, true));
    return;
  }
  if (isNaN64(alo, ahi) || isNaN64(blo, bhi)) {
    if (k === MIN || k === MAX) {
      raise(IE);
      out[at] = blo;
      out[at + 1] = bhi;
      return;
    }
    out[at + 1] = nan64(alo, ahi, blo, bhi);
    out[at] = lo64;
    return;
  }
  ahi = in64(alo, ahi);
  alo = lo64;
  bhi = in64(blo, bhi);
  blo = lo64;
  const x = f64(alo, ahi);
  const y = f64(blo, bhi);
  const finite = Number.isFinite(x) && Number.isFinite(y);
  let r: number;
  let s = 0;
  switch (k) {
    case ADD:
    case SUB: {
      const y2 = k === SUB ? -y : y;
      r = x + y2;
      if (r === 0 && ((mx >> 13) & 3) === 1 && !(Object.is(x, 0) && Object.is(y2, 0))) r = -0;
      if (finite) s = sign(sumError(x, y2, r));
      break;
    }
    case MUL:
      r = x * y;
      if (finite && Number.isFinite(r)) s = -diffSign(r, x, y, 1);
      break;
    case DIV:
      if (y === 0 && x !== 0 && finite) {
        raise(ZE);
        put64(out, at, x < 0 !== Object.is(y, -0) ? -Infinity : Infinity);
        return;
      }
      r = x / y;
      if (finite && Number.isFinite(r) && r !== 0) {
        const p = r * y;
        s = diffSign(x, r, y, p) * sign(y);
      } else if (finite && r === 0 && x !== 0) s = sign(x) * sign(y);
      break;
    case MIN:
      out[at] = x < y ? alo : blo;
      out[at + 1] = x < y ? ahi : bhi;
      return;
    default:
      out[at] = x > y ? alo : blo;
      out[at + 1] = x > y ? ahi : bhi;
      return;
  }
  put64r(out, at, round64(r, s, finite));
}

/**
 * The sign of a - b * c, exactly. Dekker's TwoProduct gives it unless b or c is near overflow or the product
 * near the subnormal range (`p` is the rounded product, or any value of its magnitude); there BigInt
 * arithmetic does it (rare operands: no BigInt on the common path).
 */
function diffSign(a: number, b: number, c: number, p: number): number {
  const q = b * c;
  const m = Math.abs(q);
  if (Math.abs(b) < 2 ** 995 && Math.abs(c) < 2 ** 995 && m > 2 ** -969 && Math.abs(p) > 2 ** -969 && m < 2 ** 1020) {
    return sign(a - q - productError(b, c, q));
  }
  return exactDiffSign(a, b, c);
}

const bigView = new Float64Array(1);
const bigWords = new Int32Array(bigView.buffer);
/** A finite double as a BigInt significand (signed) and its exponent: x = m * 2^e (e in bigExp). */
let bigExp = 0;
function toBig(x: number): bigint {
  bigView[0] = x;
  const hi = bigWords[1]!;
  const exp = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(bigWords[0]! >>> 0);
  if (exp) m |= 1n << 52n;
  bigExp = (exp || 1) - 1075;
  return hi < 0 ? -m : m;
}
function exactDiffSign(a: number, b: number, c: number): number {
  const ma = toBig(a);
  const ea = bigExp;
  const mb = toBig(b);
  const eb = bigExp;
  const mc = toBig(c);
  const ebc = eb + bigExp;
  const e = Math.min(ea, ebc);
  const d = (ma << BigInt(ea - e)) - ((mb * mc) << BigInt(ebc - e));
  return d > 0n ? 1 : d < 0n ? -1 : 0;
}

// ---- packed and scalar arithmetic: 0F 51 SQRT, 58 ADD, 59 MUL, 5C SUB, 5D MIN, 5E DIV, 5F MAX ----
function ps(k: number): Handler {
  return (cpu, i) => {
    loadAB(cpu, i);
    fpBegin(cpu);
    for (let l = 0; l < 4; l++) R[l] = arith32(k, A[l]!, B[l]!);
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  };
}
function ss(k: number): Handler {
  return (cpu, i) => {
    loadAB(cpu, i, 4);
    fpBegin(cpu);
    R.set(A);
    R[0] = arith32(k, A[0]!, B[0]!);
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  };
}
function pd(k: number): Handler {
  return (cpu, i) => {
    loadAB(cpu, i);
    fpBegin(cpu);
    arith64(k, A[0]!, A[1]!, B[0]!, B[1]!, R, 0);
    arith64(k, A[2]!, A[3]!, B[2]!, B[3]!, R, 2);
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  };
}
function sd(k: number): Handler {
  return (cpu, i) => {
    loadAB(cpu, i, 8);
    fpBegin(cpu);
    R.set(A);
    arith64(k, A[0]!, A[1]!, B[0]!, B[1]!, R, 0);
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  };
}
for (const [b, k] of [
  [0x51, SQRT],
  [0x58, ADD],
  [0x59, MUL],
  [0x5c, SUB],
  [0x5d, MIN],
  [0x5e, DIV],
  [0x5f, MAX],
] as const) {
  form(op0F(b), NP, ps(k));
  form(op0F(b), P66, pd(k));
  form(op0F(b), PF3, ss(k));
  form(op0F(b), PF2, sd(k));
}

// RCP (0F 53) and RSQRT (0F 52): approximations; here the correctly rounded values (no exceptions flagged,
// denormal inputs read as zeros, as Intel's do).
function approx(a: number, rsqrt: boolean): number {
  if (isNaN32(a)) return a | 0x400000;
  if (isDenormal32(a)) a &= 0x80000000;
  const x = f32(a);
  if (rsqrt) {
    if (x === 0) return (a & 0x80000000) | 0x7f800000;
    if (x < 0) return QNAN32;
    const r = Math.fround(1 / Math.sqrt(x));
    cfTmp[0] = r;
    return ciTmp[0]!;
  }
  const r = Math.fround(1 / x);
  cfTmp[0] = r;
  // Results below the smallest normal are flushed to zero.
  return Math.abs(r) < 2 ** -126 ? ciTmp[0]! & 0x80000000 : ciTmp[0]!;
}
const cfTmp = new Float32Array(1);
const ciTmp = new Int32Array(cfTmp.buffer);
for (const [b, rs] of [
  [0x52, true],
  [0x53, false],
] as const) {
  form(op0F(b), NP, (cpu, i) => {
    loadAB(cpu, i);
    for (let l = 0; l < 4; l++) R[l] = approx(B[l]!, rs);
    storeX(cpu, i.reg, R);
  });
  form(op0F(b), PF3, (cpu, i) => {
    loadAB(cpu, i, 4);
    R.set(A);
    R[0] = approx(B[0]!, rs);
    storeX(cpu, i.reg, R);
  });
}

// ---- logical: 0F 54 AND, 55 ANDN, 56 OR, 57 XOR (PS and PD alike) ----
for (let k = 0; k < 4; k++) {
  const h: Handler = (cpu, i) => {
    loadAB(cpu, i);
    for (let l = 0; l < 4; l++) {
      const a = A[l]!;
      const b = B[l]!;
      R[l] = k === 0 ? a & b : k === 1 ? ~a & b : k === 2 ? a | b : a ^ b;
    }
    storeX(cpu, i.reg, R);
  };
  form(op0F(0x54 + k), NP, h);
  form(op0F(0x54 + k), P66, h);
}

// ---- compares ----
/** CMPxx predicate (imm8 bits 2:0) on binary32 bit patterns. */
function cmp32(pred: number, a: number, b: number): boolean {
  const unord = isNaN32(a) || isNaN32(b);
  if (unord) {
    if (pred === 1 || pred === 2 || pred === 5 || pred === 6 || isSNaN32(a) || isSNaN32(b)) raise(IE);
  } else {
    a = in32(a);
    b = in32(b);
  }
  const x = f32(a);
  const y = f32(b);
  return cmpResult(pred, unord, x, y);
}
function cmp64(pred: number, alo: number, ahi: number, blo: number, bhi: number): boolean {
  const unord = isNaN64(alo, ahi) || isNaN64(blo, bhi);
  if (unord) {
    if (pred === 1 || pred === 2 || pred === 5 || pred === 6 || isSNaN64(alo, ahi) || isSNaN64(blo, bhi)) raise(IE);
  } else {
    ahi = in64(alo, ahi);
    alo = lo64;
    bhi = in64(blo, bhi);
    blo = lo64;
  }
  return cmpResult(pred, unord, f64(alo, ahi), f64(blo, bhi));
}
function cmpResult(pred: number, unord: boolean, x: number, y: number): boolean {
  switch (pred) {
    case 0:
      return !unord && x === y;
    case 1:
      return !unord && x < y;
    case 2:
      return !unord && x <= y;
    case 3:
      return unord;
    case 4:
      return unord || x !== y;
    case 5:
      return unord || !(x < y);
    case 6:
      return unord || !(x <= y);
    default:
      return !unord;
  }
}
form(op0F(0xc2), NP, (cpu, i) => {
  loadAB(cpu, i);
  fpBegin(cpu);
  const p = i.imm & 7;
  for (let l = 0; l < 4; l++) R[l] = cmp32(p, A[l]!, B[l]!) ? -1 : 0;
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op0F(0xc2), PF3, (cpu, i) => {
  loadAB(cpu, i, 4);
  fpBegin(cpu);
  R.set(A);
  R[0] = cmp32(i.imm & 7, A[0]!, B[0]!) ? -1 : 0;
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op0F(0xc2), P66, (cpu, i) => {
  loadAB(cpu, i);
  fpBegin(cpu);
  const p = i.imm & 7;
  for (let l = 0; l < 4; l += 2) {
    const v = cmp64(p, A[l]!, A[l + 1]!, B[l]!, B[l + 1]!) ? -1 : 0;
    R[l] = v;
    R[l + 1] = v;
  }
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op0F(0xc2), PF2, (cpu, i) => {
  loadAB(cpu, i, 8);
  fpBegin(cpu);
  R.set(A);
  const v = cmp64(i.imm & 7, A[0]!, A[1]!, B[0]!, B[1]!) ? -1 : 0;
  R[0] = v;
  R[1] = v;
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});

// (U)COMISS / (U)COMISD (0F 2E, 0F 2F): ZF, PF, CF = 111 unordered, 000 greater, 001 less, 100 equal;
// OF, SF, AF cleared. COMIS* signal IE on any NaN, UCOMIS* only on SNaN.
function comi(cpu: Cpu, unord: boolean, snan: boolean, signalQuiet: boolean, x: number, y: number): void {
  if (unord && (snan || signalQuiet)) raise(IE);
  fpEnd(cpu);
  cpu.flags.setEager(unord ? ZF | PF | CF : x > y ? 0 : x < y ? CF : ZF);
}
for (const quiet of [true, false]) {
  const b = quiet ? 0x2e : 0x2f;
  form(op0F(b), NP, (cpu, i) => {
    loadAB(cpu, i, 4);
    fpBegin(cpu);
    let a = A[0]!;
    let c = B[0]!;
    const unord = isNaN32(a) || isNaN32(c);
    if (!unord) {
      a = in32(a);
      c = in32(c);
    }
    comi(cpu, unord, isSNaN32(a) || isSNaN32(c), !quiet, f32(a), f32(c));
  });
  form(op0F(b), P66, (cpu, i) => {
    loadAB(cpu, i, 8);
    fpBegin(cpu);
    let alo = A[0]!;
    let ahi = A[1]!;
    let blo = B[0]!;
    let bhi = B[1]!;
    const unord = isNaN64(alo, ahi) || isNaN64(blo, bhi);
    const snan = isSNaN64(alo, ahi) || isSNaN64(blo, bhi);
    if (!unord) {
      ahi = in64(alo, ahi);
      alo = lo64;
      bhi = in64(blo, bhi);
      blo = lo64;
    }
    comi(cpu, unord, snan, !quiet, f64(alo, ahi), f64(blo, bhi));
  });
}

// ---- conversions ----

/** binary64 value (exact, or with its error's sign `s`) to binary32 bits under MXCSR. */
function toF32(d: number, s: number): number {
  const r = Math.fround(d);
  return round32(r, d !== r ? sign(d - r) : s, Number.isFinite(d));
}

/** A binary64 lane to binary32 bits (CVTPD2PS, CVTSD2SS). */
function cvt64to32(lo: number, hi: number): number {
  if (isNaN64(lo, hi)) {
    if (isSNaN64(lo, hi)) raise(IE);
    // The quieted NaN, its payload's top 22 bits kept.
    return (hi & 0x80000000) | 0x7fc00000 | ((hi & 0x7ffff) << 3) | (lo >>> 29);
  }
  hi = in64(lo, hi);
  return toF32(f64(lo64, hi), 0);
}

/** A binary32 lane to binary64 (CVTPS2PD, CVTSS2SD): exact; NaNs quieted. */
function cvt32to64(a: number, out: Int32Array, at: number): void {
  if (isNaN32(a)) {
    if (isSNaN32(a)) raise(IE);
    out[at + 1] = (a & 0x80000000) | 0x7ff80000 | ((a & 0x3fffff) >>> 3);
    out[at] = a << 29;
    return;
  }
  put64(out, at, f32(in32(a)));
}

/** A floating value to a signed integer of `bits` (32 or 64): the integer indefinite on NaN or overflow. */
function toInt(x: number, bits: number, truncate: boolean): number {
  const limit = bits === 32 ? 2147483648 : 2 ** 63;
  if (Number.isNaN(x)) {
    raise(IE);
    return Number.NaN;
  }
  const r = roundInt(x, truncate);
  if (r >= limit || r < -limit) {
    raise(IE);
    return Number.NaN;
  }
  if (r !== x) raise(PE);
  return r;
}

/** A binary32 lane as a number for integer conversion (DAZ and DE applied; NaN stays NaN). */
const val32 = (a: number) => (isNaN32(a) ? Number.NaN : f32(in32(a)));
const val64 = (lo: number, hi: number) => {
  if (isNaN64(lo, hi)) return Number.NaN;
  const h = in64(lo, hi); // sets lo64: call it before reading lo64
  return f64(lo64, h);
};
const int32Of = (n: number) => (Number.isNaN(n) ? 0x80000000 | 0 : n | 0);

/** A signed 64-bit integer (lo, hi words) to binary64 with the sign of its rounding error. */
function i64ToDouble(lo: number, hi: number): number {
  const h = hi * 4294967296;
  const l = lo >>> 0;
  const d = h + l;
  errSign = sign(sumError(h, l, d));
  return d;
}
let errSign = 0;

// CVTSI2SS / CVTSI2SD (F3/F2 0F 2A): r/m32 or r/m64 (REX.W) to the low lane.
form(op0F(0x2a), PF3, (cpu, i) => {
  sse(cpu);
  const size = i.opsize === 8 ? 8 : 4;
  const lo = readRm(cpu, i, size);
  const hi = size === 8 ? cpu.vHi : 0;
  fpBegin(cpu);
  loadX(cpu, i.reg, R);
  const d = size === 8 ? i64ToDouble(lo, hi) : lo | 0;
  R[0] = toF32(d, size === 8 ? errSign : 0);
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op0F(0x2a), PF2, (cpu, i) => {
  sse(cpu);
  const size = i.opsize === 8 ? 8 : 4;
  const lo = readRm(cpu, i, size);
  const hi = size === 8 ? cpu.vHi : 0;
  fpBegin(cpu);
  loadX(cpu, i.reg, R);
  if (size === 8) {
    const d = i64ToDouble(lo, hi);
    put64r(R, 0, round64(d, errSign, true));
  } else put64(R, 0, lo | 0);
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});

// CVT(T)SS2SI / CVT(T)SD2SI (F3/F2 0F 2C truncating, 0F 2D by MXCSR.RC): to r32 or r64.
for (const truncate of [true, false]) {
  const b = truncate ? 0x2c : 0x2d;
  for (const double of [false, true]) {
    form(op0F(b), double ? PF2 : PF3, (cpu, i) => {
      loadAB(cpu, i, double ? 8 : 4);
      fpBegin(cpu);
      const x = double ? val64(B[0]!, B[1]!) : val32(B[0]!);
      const wide = i.opsize === 8;
      const n = toInt(x, wide ? 64 : 32, truncate);
      fpEnd(cpu);
      if (!wide) writeReg(cpu, i, i.reg, 4, int32Of(n));
      else if (Number.isNaN(n)) writeReg(cpu, i, i.reg, 8, 0, 0x80000000 | 0);
      else writeReg(cpu, i, i.reg, 8, n | 0, Math.floor(n / 4294967296) | 0);
    });
  }
}

// 0F 5A: CVTPS2PD (NP), CVTPD2PS (66), CVTSS2SD (F3), CVTSD2SS (F2).
form(op0F(0x5a), NP, (cpu, i) => {
  loadAB(cpu, i, 8);
  fpBegin(cpu);
  cvt32to64(B[0]!, R, 0);
  cvt32to64(B[1]!, R, 2);
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op0F(0x5a), P66, (cpu, i) => {
  loadAB(cpu, i);
  fpBegin(cpu);
  R[0] = cvt64to32(B[0]!, B[1]!);
  R[1] = cvt64to32(B[2]!, B[3]!);
  R[2] = 0;
  R[3] = 0;
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op0F(0x5a), PF3, (cpu, i) => {
  loadAB(cpu, i, 4);
  fpBegin(cpu);
  R.set(A);
  cvt32to64(B[0]!, R, 0);
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op0F(0x5a), PF2, (cpu, i) => {
  loadAB(cpu, i, 8);
  fpBegin(cpu);
  R.set(A);
  R[0] = cvt64to32(B[0]!, B[1]!);
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});

// 0F 5B: CVTDQ2PS (NP), CVTPS2DQ (66), CVTTPS2DQ (F3).
form(op0F(0x5b), NP, (cpu, i) => {
  loadAB(cpu, i);
  fpBegin(cpu);
  for (let l = 0; l < 4; l++) R[l] = toF32(B[l]!, 0);
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
for (const truncate of [false, true]) {
  form(op0F(0x5b), truncate ? PF3 : P66, (cpu, i) => {
    loadAB(cpu, i);
    fpBegin(cpu);
    for (let l = 0; l < 4; l++) R[l] = int32Of(toInt(val32(B[l]!), 32, truncate));
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  });
}

// 0F E6: CVTTPD2DQ (66), CVTDQ2PD (F3), CVTPD2DQ (F2).
form(op0F(0xe6), PF3, (cpu, i) => {
  loadAB(cpu, i, 8);
  put64(R, 0, B[0]!);
  put64(R, 2, B[1]!);
  storeX(cpu, i.reg, R);
});
for (const truncate of [true, false]) {
  form(op0F(0xe6), truncate ? P66 : PF2, (cpu, i) => {
    loadAB(cpu, i);
    fpBegin(cpu);
    R[0] = int32Of(toInt(val64(B[0]!, B[1]!), 32, truncate));
    R[1] = int32Of(toInt(val64(B[2]!, B[3]!), 32, truncate));
    R[2] = 0;
    R[3] = 0;
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  });
}

// ---- moves ----
function memOnly(i: Insn): void {
  if (i.mod === 3) ud();
}

/** Loads of a whole register: MOVUPS/MOVUPD (unaligned), MOVAPS/MOVAPD. */
function load128(aligned: boolean): Handler {
  return (cpu, i) => {
    sse(cpu);
    loadB(cpu, i, 16, aligned);
    storeX(cpu, i.reg, B);
  };
}
/** Stores of a whole register to xmm/m128. */
export function store128(aligned: boolean, mem: boolean): Handler {
  return (cpu, i) => {
    sse(cpu);
    if (i.mod === 3) {
      if (mem) ud();
      loadX(cpu, i.reg, A);
      storeX(cpu, i.rm, A);
      return;
    }
    const lin = linear128(cpu, i, aligned);
    loadX(cpu, i.reg, A);
    write128(cpu, lin, A);
  };
}
form(op0F(0x10), NP, load128(false));
form(op0F(0x10), P66, load128(false));
form(op0F(0x11), NP, store128(false, false));
form(op0F(0x11), P66, store128(false, false));
form(op0F(0x28), NP, load128(true));
form(op0F(0x28), P66, load128(true));
form(op0F(0x29), NP, store128(true, false));
form(op0F(0x29), P66, store128(true, false));
form(op0F(0x2b), NP, store128(true, true));
form(op0F(0x2b), P66, store128(true, true));

// MOVSS / MOVSD: register to register merges the low lane; a load zeroes the rest; a store writes the lane.
for (const double of [false, true]) {
  const p = double ? PF2 : PF3;
  const n = double ? 2 : 1;
  form(op0F(0x10), p, (cpu, i) => {
    sse(cpu);
    if (i.mod === 3) {
      loadX(cpu, i.reg, A);
      loadX(cpu, i.rm, B);
      for (let l = 0; l < n; l++) A[l] = B[l]!;
      storeX(cpu, i.reg, A);
    } else {
      loadB(cpu, i, n * 4);
      storeX(cpu, i.reg, B);
    }
  });
  form(op0F(0x11), p, (cpu, i) => {
    sse(cpu);
    loadX(cpu, i.reg, A);
    if (i.mod === 3) {
      loadX(cpu, i.rm, B);
      for (let l = 0; l < n; l++) B[l] = A[l]!;
      storeX(cpu, i.rm, B);
    } else {
      const lin = operandLinear(cpu, i, n * 4);
      if (double) cpu.mem.write64(lin, A[0]!, A[1]!);
      else cpu.mem.write32(lin, A[0]!);
    }
  });
}

/** Stores qword `half` (0 low, 1 high) of the register to m64 (MOVLPS/MOVLPD 0F 13, MOVHPS/MOVHPD 0F 17). */
function storeHalf(half: number): Handler {
  return (cpu, i) => {
    sse(cpu);
    memOnly(i);
    const lin = operandLinear(cpu, i, 8);
    const x = cpu.xmm;
    const k = (i.reg << 2) + half * 2;
    cpu.mem.write64(lin, x[k]!, x[k + 1]!);
  };
}
/** Loads m64 (or, for the no-prefix register form, the other half of the source) into qword `half`. */
function loadHalf(half: number, regForm: boolean): Handler {
  return (cpu, i) => {
    sse(cpu);
    if (i.mod === 3 && !regForm) ud();
    loadB(cpu, i, 8);
    loadX(cpu, i.reg, A);
    // MOVHLPS takes the source's high half to the low half; MOVLHPS its low half to the high half.
    const from = i.mod === 3 && half === 0 ? 2 : 0;
    A[half * 2] = B[from]!;
    A[half * 2 + 1] = B[from + 1]!;
    storeX(cpu, i.reg, A);
  };
}
form(op0F(0x12), NP, loadHalf(0, true));
form(op0F(0x12), P66, loadHalf(0, false));
form(op0F(0x13), NP, storeHalf(0));
form(op0F(0x13), P66, storeHalf(0));
form(op0F(0x16), NP, loadHalf(1, true));
form(op0F(0x16), P66, loadHalf(1, false));
form(op0F(0x17), NP, storeHalf(1));
form(op0F(0x17), P66, storeHalf(1));

// SSE3 duplicates: MOVSLDUP (F3 0F 12), MOVSHDUP (F3 0F 16), MOVDDUP (F2 0F 12, m64).
for (const high of [0, 1]) {
  form(op0F(high ? 0x16 : 0x12), PF3, (cpu, i) => {
    loadAB(cpu, i);
    R[0] = B[high]!;
    R[1] = B[high]!;
    R[2] = B[2 + high]!;
    R[3] = B[2 + high]!;
    storeX(cpu, i.reg, R);
  });
}
form(op0F(0x12), PF2, (cpu, i) => {
  loadAB(cpu, i, 8);
  R[0] = B[0]!;
  R[1] = B[1]!;
  R[2] = B[0]!;
  R[3] = B[1]!;
  storeX(cpu, i.reg, R);
});
// LDDQU (F2 0F F0): an unaligned 16-byte load.
form(op0F(0xf0), PF2, (cpu, i) => {
  memOnly(i);
  load128(false)(cpu, i);
});

// MOVNTI (0F C3): a 32/64-bit store of a general register (a non-temporal hint), memory only.
form(op0F(0xc3), NP, (cpu, i) => {
  memOnly(i);
  const size = i.opsize === 8 ? 8 : 4;
  const lin = operandLinear(cpu, i, size);
  if (size === 8) cpu.mem.write64(lin, cpu.lo[i.reg]!, cpu.hi[i.reg]!);
  else cpu.mem.write32(lin, cpu.lo[i.reg]!);
});

// MOVMSKPS / MOVMSKPD (0F 50): the sign bits to a general register (register source only).
form(op0F(0x50), NP, (cpu, i) => {
  sse(cpu);
  if (i.mod !== 3) ud();
  loadX(cpu, i.rm, B);
  writeReg(cpu, i, i.reg, 4, (B[0]! >>> 31) | ((B[1]! >>> 31) << 1) | ((B[2]! >>> 31) << 2) | ((B[3]! >>> 31) << 3));
});
form(op0F(0x50), P66, (cpu, i) => {
  sse(cpu);
  if (i.mod !== 3) ud();
  loadX(cpu, i.rm, B);
  writeReg(cpu, i, i.reg, 4, (B[1]! >>> 31) | ((B[3]! >>> 31) << 1));
});

// ---- shuffles and unpacks ----
form(op0F(0xc6), NP, (cpu, i) => {
  loadAB(cpu, i);
  const m = i.imm;
  R[0] = A[m & 3]!;
  R[1] = A[(m >> 2) & 3]!;
  R[2] = B[(m >> 4) & 3]!;
  R[3] = B[(m >> 6) & 3]!;
  storeX(cpu, i.reg, R);
});
form(op0F(0xc6), P66, (cpu, i) => {
  loadAB(cpu, i);
  const s = (i.imm & 1) * 2;
  const t = ((i.imm >> 1) & 1) * 2;
  R[0] = A[s]!;
  R[1] = A[s + 1]!;
  R[2] = B[t]!;
  R[3] = B[t + 1]!;
  storeX(cpu, i.reg, R);
});
for (const high of [0, 1]) {
  form(op0F(0x14 + high), NP, (cpu, i) => {
    loadAB(cpu, i);
    const h = high * 2;
    R[0] = A[h]!;
    R[1] = B[h]!;
    R[2] = A[h + 1]!;
    R[3] = B[h + 1]!;
    storeX(cpu, i.reg, R);
  });
  form(op0F(0x14 + high), P66, (cpu, i) => {
    loadAB(cpu, i);
    const h = high * 2;
    R[0] = A[h]!;
    R[1] = A[h + 1]!;
    R[2] = B[h]!;
    R[3] = B[h + 1]!;
    storeX(cpu, i.reg, R);
  });
}

// ---- SSE3 arithmetic: ADDSUBPD (66 0F D0), ADDSUBPS (F2 0F D0), HADDPD/PS (66/F2 0F 7C), HSUBPD/PS (7D) ----
form(op0F(0xd0), PF2, (cpu, i) => {
  loadAB(cpu, i);
  fpBegin(cpu);
  for (let l = 0; l < 4; l++) R[l] = arith32(l & 1 ? ADD : SUB, A[l]!, B[l]!);
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
form(op0F(0xd0), P66, (cpu, i) => {
  loadAB(cpu, i);
  fpBegin(cpu);
  arith64(SUB, A[0]!, A[1]!, B[0]!, B[1]!, R, 0);
  arith64(ADD, A[2]!, A[3]!, B[2]!, B[3]!, R, 2);
  fpEnd(cpu);
  storeX(cpu, i.reg, R);
});
for (const k of [ADD, SUB]) {
  const b = k === ADD ? 0x7c : 0x7d;
  form(op0F(b), PF2, (cpu, i) => {
    loadAB(cpu, i);
    fpBegin(cpu);
    R[0] = arith32(k, A[0]!, A[1]!);
    R[1] = arith32(k, A[2]!, A[3]!);
    R[2] = arith32(k, B[0]!, B[1]!);
    R[3] = arith32(k, B[2]!, B[3]!);
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  });
  form(op0F(b), P66, (cpu, i) => {
    loadAB(cpu, i);
    fpBegin(cpu);
    arith64(k, A[0]!, A[1]!, A[2]!, A[3]!, R, 0);
    arith64(k, B[0]!, B[1]!, B[2]!, B[3]!, R, 2);
    fpEnd(cpu);
    storeX(cpu, i.reg, R);
  });
}

// ---- LDMXCSR (0F AE /2), STMXCSR (0F AE /3); F3 with a register operand: WRFSBASE/WRGSBASE (ext_int.ts) ----
export const group15Fsgs: (Handler | undefined)[] = new Array(4).fill(undefined);
defGroup(op0F(0xae), 2, (cpu, i) => {
  if (i.mod === 3) return (i.rep === 0xf3 ? (group15Fsgs[2] ?? unimplemented) : ud)(cpu, i);
  sse(cpu);
  const v = cpu.mem.read32(operandLinear(cpu, i, 4));
  if (v & ~MXCSR_MASK) gp(0);
  cpu.mxcsr = v;
});
defGroup(op0F(0xae), 3, (cpu, i) => {
  if (i.mod === 3) return (i.rep === 0xf3 ? (group15Fsgs[3] ?? unimplemented) : ud)(cpu, i);
  sse(cpu);
  cpu.mem.write32(operandLinear(cpu, i, 4), cpu.mxcsr);
});

// Names used by the unit tests.
export const FP_KERNELS = { ADD, SUB, MUL, DIV, MIN, MAX, SQRT };
void exc;
void DAZ;
void DE;
void PE;
void QNAN64_HI;
void isDenormal64;
