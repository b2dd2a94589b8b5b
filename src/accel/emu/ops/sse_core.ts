// Shared machinery of the SSE families (Intel SDM vol. 1, chapters 10-12; vol. 2 for each instruction):
// operand staging, the mandatory-prefix dispatch, MXCSR exception accumulation and #XM, and IEEE rounding
// of binary32/binary64 results under MXCSR.RC, DAZ and FTZ.
//
// Operands are staged in three 128-bit scratch registers (no allocation per instruction): A holds a copy of
// the destination (first source), B the second source (register or memory), R the result, which is copied
// to the destination only once every lane is computed and no unmasked exception was raised (a faulting
// instruction leaves the destination unchanged).
//
// Exactness of floating point (JavaScript has binary64 arithmetic in round-to-nearest only):
//   - binary32 add/sub/mul/div/sqrt are computed in binary64 and rounded with Math.fround: binary64 has more
//     than 2 x 24 + 2 bits, so the double rounding is innocuous and the result is the correctly rounded
//     binary32 one. The exact sign of (exact - rounded) is recovered (exact products of binary32 values fit
//     in binary64; a TwoSum error term for add/sub), so PE and the directed rounding modes are exact.
//   - binary64 add/sub use TwoSum (exact error term), mul uses Dekker's TwoProduct (Veltkamp splitting),
//     div and sqrt the exact remainder a - q*b / a - q*q through TwoProduct. Where those error terms could
//     fail (an operand above 2^995, a product below 2^-969: rare) the sign of the error is computed with
//     BigInt instead. So results and PE are exact in every rounding mode (test/emu_sse_rounding.test.ts
//     compares them with exact rational rounding, subnormal and near-overflow ranges included).
//   - Tininess is detected after rounding (as Intel does), judged on the rounded result: an exact result
//     just below the smallest normal that rounds up to it is not flagged UE (Intel, rounding with an
//     unbounded exponent, would flag it in some of those cases).
//   - RCPPS/RCPSS/RSQRTPS/RSQRTSS return the correctly rounded 1/x and 1/sqrt(x) (within the architectural
//     relative error of 1.5 * 2^-12, but not the bit pattern of Intel's tables).
import type { Cpu } from "../cpu.js";
import { CR4_OSXMMEXCPT } from "../cpu.js";
import { fault, gp, ud, XM } from "../fault.js";
import type { Handler, Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, unimplemented } from "../opcodes.js";
import { operandLinear } from "../operands.js";
import { checkSseAvailable } from "./fpu_available.js";

// MMX forms (no mandatory prefix) of the 0F opcodes shared with SSE2 integer instructions belong to the x87/MMX
// family (ops/mmx.ts); what it does not implement raises #UD.
import { mmxHandlers } from "./mmx.js";

// ---- scratch registers ----
const scratch = new ArrayBuffer(3 * 16 + 16);
export const A = new Int32Array(scratch, 0, 4);
export const B = new Int32Array(scratch, 16, 4);
export const R = new Int32Array(scratch, 32, 4);
export const Af = new Float32Array(scratch, 0, 4);
export const Bf = new Float32Array(scratch, 16, 4);
export const Rf = new Float32Array(scratch, 32, 4);
export const Ad = new Float64Array(scratch, 0, 2);
export const Bd = new Float64Array(scratch, 16, 2);
export const Rd = new Float64Array(scratch, 32, 2);
export const A8 = new Uint8Array(scratch, 0, 16);
export const B8 = new Uint8Array(scratch, 16, 16);
export const R8 = new Uint8Array(scratch, 32, 16);
export const A8s = new Int8Array(scratch, 0, 16);
export const B8s = new Int8Array(scratch, 16, 16);
export const R8s = new Int8Array(scratch, 32, 16);
export const A16 = new Int16Array(scratch, 0, 8);
export const B16 = new Int16Array(scratch, 16, 8);
export const R16 = new Int16Array(scratch, 32, 8);
export const A16u = new Uint16Array(scratch, 0, 8);
export const B16u = new Uint16Array(scratch, 16, 8);
export const R16u = new Uint16Array(scratch, 32, 8);
/** One lane for bit conversions. */
const cf32 = new Float32Array(scratch, 48, 1);
const ci32 = new Int32Array(scratch, 48, 2);
const cf64 = new Float64Array(scratch, 48, 1);

export function f32(bits: number): number {
  ci32[0] = bits;
  return cf32[0]!;
}
export function bits32(x: number): number {
  cf32[0] = x;
  return ci32[0]!;
}
export function f64(lo: number, hi: number): number {
  ci32[0] = lo;
  ci32[1] = hi;
  return cf64[0]!;
}
/** Writes the bits of `x` to lanes k, k+1 of `out`. */
export function put64(out: Int32Array, k: number, x: number): void {
  cf64[0] = x;
  out[k] = ci32[0]!;
  out[k + 1] = ci32[1]!;
}

// ---- availability and operands ----

export const sse = checkSseAvailable;

/** Copies XMM register `r` into `to`. */
export function loadX(cpu: Cpu, r: number, to: Int32Array): void {
  const x = cpu.xmm;
  const k = r << 2;
  to[0] = x[k]!;
  to[1] = x[k + 1]!;
  to[2] = x[k + 2]!;
  to[3] = x[k + 3]!;
}

export function storeX(cpu: Cpu, r: number, from: Int32Array): void {
  const x = cpu.xmm;
  const k = r << 2;
  x[k] = from[0]!;
  x[k + 1] = from[1]!;
  x[k + 2] = from[2]!;
  x[k + 3] = from[3]!;
}

/** The second 8 bytes of a 16-byte operand (wrapping at 4 GiB outside 64-bit mode). */
function plus8(cpu: Cpu, lin: number): number {
  return cpu.codeSize === 8 ? lin + 8 : (lin + 8) >>> 0;
}

/** The linear address of a 16-byte memory operand; aligned forms raise #GP(0) unless it is 16-byte aligned. */
export function linear128(cpu: Cpu, i: Insn, aligned: boolean): number {
  const lin = operandLinear(cpu, i, 16);
  if (aligned && lin & 15) gp(0);
  return lin;
}

export function read128(cpu: Cpu, lin: number, to: Int32Array): void {
  const m = cpu.mem;
  to[0] = m.read64(lin);
  to[1] = cpu.vHi;
  to[2] = m.read64(plus8(cpu, lin));
  to[3] = cpu.vHi;
}

export function write128(cpu: Cpu, lin: number, from: Int32Array): void {
  const m = cpu.mem;
  m.probeWrite(lin, 16);
  m.write64(lin, from[0]!, from[1]!);
  m.write64(plus8(cpu, lin), from[2]!, from[3]!);
}

/**
 * Stages the r/m source in B: a register (all 16 bytes), or `size` bytes of memory (4, 8 or 16; the rest of B
 * zeroed). 16-byte memory operands must be aligned unless `aligned` is false.
 */
export function loadB(cpu: Cpu, i: Insn, size = 16, aligned = true): void {
  if (i.mod === 3) {
    loadX(cpu, i.rm, B);
    return;
  }
  if (size === 16) {
    read128(cpu, linear128(cpu, i, aligned), B);
    return;
  }
  const lin = operandLinear(cpu, i, size);
  const m = cpu.mem;
  if (size === 8) {
    B[0] = m.read64(lin);
    B[1] = cpu.vHi;
  } else if (size === 4) {
    B[0] = m.read32(lin);
    B[1] = 0;
  } else {
    B[0] = size === 2 ? m.read16(lin) : m.read8(lin);
    B[1] = 0;
  }
  B[2] = 0;
  B[3] = 0;
}

/** Stages destination (A) and source (B) for a two-operand instruction. */
export function loadAB(cpu: Cpu, i: Insn, size = 16, aligned = true): void {
  sse(cpu);
  loadB(cpu, i, size, aligned);
  loadX(cpu, i.reg, A);
}

// ---- MXCSR ----
export const IE = 1;
export const DE = 2;
export const ZE = 4;
export const OE = 8;
export const UE = 16;
export const PE = 32;
export const DAZ = 1 << 6;
export const FTZ = 1 << 15;
export const RC_NEAREST = 0;
export const RC_DOWN = 1;
export const RC_UP = 2;
export const RC_ZERO = 3;
/** Writable MXCSR bits (MXCSR_MASK as FXSAVE reports it: DAZ supported). */
export const MXCSR_MASK = 0xffff;

/** Exceptions detected by the current instruction, and the MXCSR it runs under. */
export let exc = 0;
export let mx = 0x1f80;
export let rc = 0;

/** Starts a floating-point instruction: clears the pending exceptions and caches MXCSR. */
export function fpBegin(cpu: Cpu): void {
  exc = 0;
  mx = cpu.mxcsr;
  rc = (mx >> 13) & 3;
}

export function raise(flags: number): void {
  exc |= flags;
}

/** Ends a floating-point instruction: records its exception flags; an unmasked one raises #XM (or #UD). */
export function fpEnd(cpu: Cpu): void {
  if (!exc) return;
  cpu.mxcsr |= exc;
  if (exc & ~(cpu.mxcsr >> 7) & 0x3f) {
    if (cpu.cr4 & CR4_OSXMMEXCPT) fault(XM);
    ud();
  }
}

// ---- binary32 ----
export const QNAN32 = 0xffc00000 | 0;
export const MAX32 = 0x7f7fffff;
export const MIN_NORMAL32 = 2 ** -126;

export const isNaN32 = (b: number) => (b & 0x7fffffff) > 0x7f800000;
export const isSNaN32 = (b: number) => isNaN32(b) && !(b & 0x400000);
export const isDenormal32 = (b: number) => (b & 0x7f800000) === 0 && (b & 0x7fffff) !== 0;

/** An input operand under DAZ (denormals become signed zeros) or flagging DE. */
export function in32(b: number): number {
  if ((b & 0x7f800000) === 0 && b & 0x7fffff) {
    if (mx & DAZ) return b & 0x80000000;
    exc |= DE;
  }
  return b;
}

/** The NaN result of a two-operand operation with a NaN input: the first NaN operand, quieted. */
export function nan32(a: number, b: number): number {
  if (isSNaN32(a) || isSNaN32(b)) exc |= IE;
  return isNaN32(a) ? a | 0x400000 : b | 0x400000;
}

function next32(b: number, up: boolean): number {
  // The adjacent binary32 value above (up) or below.
  if ((b & 0x7fffffff) === 0) return up ? 1 : 0x80000001 | 0;
  if (b >= 0 === up) return b + 1;
  return b - 1;
}

/**
 * Rounds to binary32 under MXCSR: `r` is the round-to-nearest binary32 result (a number), `sgn` the sign of
 * (exact - r) (0 when exact), `finite` whether the inputs were finite (an infinite r is then an overflow).
 * Returns the result's bits.
 */
export function round32(r: number, sgn: number, finite: boolean): number {
  if (Number.isNaN(r)) {
    exc |= IE;
    return QNAN32;
  }
  let b = bits32(r);
  if (finite && (b & 0x7fffffff) === 0x7f800000) {
    exc |= OE | PE;
    const neg = b < 0;
    if (rc === RC_ZERO || (rc === RC_UP && neg) || (rc === RC_DOWN && !neg)) return neg ? MAX32 | 0x80000000 : MAX32;
    return b;
  }
  if (sgn !== 0) {
    exc |= PE;
    if (rc === RC_UP) {
      if (sgn > 0) b = next32(b, true);
    } else if (rc === RC_DOWN) {
      if (sgn < 0) b = next32(b, false);
    } else if (rc === RC_ZERO) {
      if ((b & 0x7fffffff) !== 0 && sgn > 0 !== b >= 0) b = next32(b, b < 0);
    }
    if (finite && (b & 0x7fffffff) === 0x7f800000) exc |= OE;
  }
  const mag = b & 0x7fffffff;
  if (mag < 0x00800000 && (mag !== 0 || sgn !== 0)) {
    // Tiny.
    if (mx & (UE << 7)) {
      if (mx & FTZ) {
        exc |= UE | PE;
        return b & 0x80000000;
      }
      if (sgn !== 0) exc |= UE;
    } else exc |= UE;
  }
  return b;
}

// ---- binary64 ----
export const QNAN64_HI = 0xfff80000 | 0;
export const isNaN64 = (lo: number, hi: number) =>
  (hi & 0x7fffffff) > 0x7ff00000 || ((hi & 0x7fffffff) === 0x7ff00000 && lo !== 0);
export const isSNaN64 = (lo: number, hi: number) => isNaN64(lo, hi) && !(hi & 0x80000);
export const isDenormal64 = (lo: number, hi: number) => (hi & 0x7ff00000) === 0 && ((hi & 0xfffff) | lo) !== 0;
/** The high word of a binary64 result (its low word in `lo64`). */
export let lo64 = 0;

/** A binary64 input under DAZ or flagging DE: returns the high word, low word in lo64. */
export function in64(lo: number, hi: number): number {
  if ((hi & 0x7ff00000) === 0 && ((hi & 0xfffff) | lo) !== 0) {
    if (mx & DAZ) {
      lo64 = 0;
      return hi & 0x80000000;
    }
    exc |= DE;
  }
  lo64 = lo;
  return hi;
}

/** The NaN of a two-operand operation with a NaN input (high word returned, low word in lo64). */
export function nan64(alo: number, ahi: number, blo: number, bhi: number): number {
  if (isSNaN64(alo, ahi) || isSNaN64(blo, bhi)) exc |= IE;
  if (isNaN64(alo, ahi)) {
    lo64 = alo;
    return ahi | 0x80000;
  }
  lo64 = blo;
  return bhi | 0x80000;
}

const MAX64 = Number.MAX_VALUE;
const MIN_NORMAL64 = 2 ** -1022;

function next64(x: number, up: boolean): number {
  // The adjacent binary64 value.
  if (x === 0) return up ? Number.MIN_VALUE : -Number.MIN_VALUE;
  cf64[0] = x;
  let lo = ci32[0]!;
  let hi = ci32[1]!;
  if (x > 0 === up) {
    lo = (lo + 1) | 0;
    if (lo === 0) hi++;
  } else {
    if (lo === 0) hi--;
    lo = (lo - 1) | 0;
  }
  ci32[0] = lo;
  ci32[1] = hi;
  return cf64[0]!;
}

/** Rounds a binary64 result as round32 does; returns the value (a NaN result means the default NaN). */
export function round64(r: number, sgn: number, finite: boolean): number {
  if (Number.isNaN(r)) {
    exc |= IE;
    return Number.NaN;
  }
  if (finite && (r === Infinity || r === -Infinity)) {
    exc |= OE | PE;
    const neg = r < 0;
    if (rc === RC_ZERO || (rc === RC_UP && neg) || (rc === RC_DOWN && !neg)) return neg ? -MAX64 : MAX64;
    return r;
  }
  if (sgn !== 0) {
    exc |= PE;
    if (rc === RC_UP) {
      if (sgn > 0) r = next64(r, true);
    } else if (rc === RC_DOWN) {
      if (sgn < 0) r = next64(r, false);
    } else if (rc === RC_ZERO) {
      if (r !== 0 && sgn > 0 !== r > 0) r = next64(r, r < 0);
    }
    if (finite && (r === Infinity || r === -Infinity)) exc |= OE;
  }
  const mag = Math.abs(r);
  if (mag < MIN_NORMAL64 && (mag !== 0 || sgn !== 0)) {
    if (mx & (UE << 7)) {
      if (mx & FTZ) {
        exc |= UE | PE;
        return r < 0 || Object.is(r, -0) ? -0 : 0;
      }
      if (sgn !== 0) exc |= UE;
    } else exc |= UE;
  }
  return r;
}

/** Writes a binary64 result (the default NaN for a NaN) to lanes k, k+1. */
export function put64r(out: Int32Array, k: number, x: number): void {
  if (Number.isNaN(x)) {
    out[k] = 0;
    out[k + 1] = QNAN64_HI;
  } else put64(out, k, x);
}

// ---- exact error terms ----
const SPLIT = 134217729; // 2^27 + 1

/** The error of the rounded product p = x * y (x * y - p), exact unless over/underflowing. */
export function productError(x: number, y: number, p: number): number {
  let t = SPLIT * x;
  const xh = t - (t - x);
  const xl = x - xh;
  t = SPLIT * y;
  const yh = t - (t - y);
  const yl = y - yh;
  return xh * yh - p + xh * yl + xl * yh + xl * yl;
}

/** The error of the rounded sum s = x + y (exact). */
export function sumError(x: number, y: number, s: number): number {
  const bb = s - x;
  return x - (s - bb) + (y - bb);
}

export const sign = (x: number) => (x > 0 ? 1 : x < 0 ? -1 : 0);

// ---- integer conversions ----

/** Rounds a finite number to an integer under MXCSR.RC (or truncating); the caller flags PE. */
export function roundInt(x: number, truncate: boolean): number {
  let r: number;
  const mode = truncate ? RC_ZERO : rc;
  if (mode === RC_ZERO) r = Math.trunc(x);
  else if (mode === RC_DOWN) r = Math.floor(x);
  else if (mode === RC_UP) r = Math.ceil(x);
  else {
    r = Math.round(x);
    // Math.round rounds halves up: ties go to even.
    if (r - x === 0.5 && r % 2 !== 0) r -= 1;
  }
  return r;
}

// ---- mandatory-prefix dispatch ----
export const NP = 0;
export const P66 = 1;
export const PF3 = 2;
export const PF2 = 3;
/** 0F opcodes whose no-prefix form is an MMX instruction (the SSE2 integer form takes 66). */
const MMX_FORMS = new Set<number>();
for (let b = 0x60; b <= 0x7f; b++)
  if (b !== 0x77 && b !== 0x78 && b !== 0x79 && b !== 0x7a && b !== 0x7b) MMX_FORMS.add(b);
for (let b = 0xd1; b <= 0xff; b++) if (b !== 0xd6 && b !== 0xff) MMX_FORMS.add(b);
for (const b of [0x2a, 0x2c, 0x2d, 0xc4, 0xc5]) MMX_FORMS.add(b);

const forms = new Map<number, (Handler | undefined)[]>();

/** What registerForms() registered, for the opcode coverage table (scripts/opcode-coverage.ts): per opcode,
 * which mandatory-prefix forms (NP, 66, F3, F2) have a handler, and whether the no-prefix form is MMX's. */
export const registeredForms = new Map<number, { prefixes: boolean[]; mmx: boolean; mmxImplemented: boolean }>();

/** Registers the form of opcode `op` (full opcode-space number) taken with mandatory prefix `p`. */
export function form(op: number, p: number, h: Handler): void {
  let t = forms.get(op);
  if (!t) {
    t = [undefined, undefined, undefined, undefined];
    forms.set(op, t);
  }
  if (t[p]) throw new Error(`SSE form 0x${op.toString(16)}/${p} registered twice`);
  t[p] = h;
}

const mmxForward: Handler = (cpu, i) => (mmxHandlers.get(i.op) ?? unimplemented)(cpu, i);
/**
 * Prefixed forms with an MMX operand (ops/sse_mmx.ts), in mmxHandlers under opcode + 0x1000 * prefix:
 * CVTPI2PD/CVTTPD2PI/CVTPD2PI (66 0F 2A/2C/2D), MOVQ2DQ (F3 0F D6), MOVDQ2Q (F2 0F D6).
 */
const MMX_PREFIXED: [number, number][] = [
  [MAP_0F + 0x2a, P66],
  [MAP_0F + 0x2c, P66],
  [MAP_0F + 0x2d, P66],
  [MAP_0F + 0xd6, PF3],
  [MAP_0F + 0xd6, PF2],
];
function mmxPrefixed(key: number): Handler {
  return (cpu, i) => (mmxHandlers.get(key) ?? unimplemented)(cpu, i);
}

/** Registers one dispatcher per opcode collected by form() (called once, after every SSE family loaded). */
export function registerForms(): void {
  for (const [op, p] of MMX_PREFIXED) {
    const t = forms.get(op);
    if (t && !t[p] && mmxHandlers.has(op + 0x1000 * p)) t[p] = mmxPrefixed(op + 0x1000 * p);
  }
  for (const [op, t] of forms) {
    const mmx =
      op >= MAP_0F && op < MAP_0F + 0x100 ? MMX_FORMS.has(op - MAP_0F) : op < 0x300 ? op < 0x220 : op === 0x30f;
    registeredForms.set(op, {
      prefixes: t.map((h) => h !== undefined),
      mmx: !t[NP] && mmx,
      mmxImplemented: !t[NP] && mmxHandlers.has(op),
    });
    const none = t[NP] ?? (mmx ? mmxForward : unimplemented);
    const p66 = t[P66] ?? unimplemented;
    const f3 = t[PF3] ?? unimplemented;
    const f2 = t[PF2] ?? unimplemented;
    def(op, (cpu, i) => {
      const rep = i.rep;
      if (rep === 0xf3) f3(cpu, i);
      else if (rep === 0xf2) f2(cpu, i);
      else if (i.prefix66) p66(cpu, i);
      else none(cpu, i);
    });
  }
  forms.clear();
}
