// The x87 FPU (Intel SDM vol. 1, chapter 8; vol. 2 for each instruction), opcodes D8-DF, FWAIT (9B), and
// FXSAVE/FXRSTOR (0F AE /0 /1).
//
// Representation and precision. JavaScript computes in binary64 only, so each physical register R0-R7 holds
// either a binary64 value (cpu.fpr) or an exact 80-bit value (cpu.fpMant/fpExp, the MMX view), cpu.fpRaw
// saying which is current:
//   - values that arrive as 80-bit bit patterns stay exact until arithmetic touches them: FLD m80, FRSTOR,
//     FXRSTOR, the FLDPI/FLDL2E/... constants (the 64-bit-significand values, rounded per RC), FILD m64 of
//     integers beyond 2^53, and MMX writes. FLD st(i)/FXCH/FST st(i)/FCMOV/FSTP m80/FNSAVE/FXSAVE copy them
//     bit for bit, so moving and saving long doubles, FILD/FISTP m64 copies and context switches are exact;
//   - arithmetic reads the register as binary64 (an 80-bit value rounded to nearest) and writes a binary64
//     result. So results are those of precision control "double" (PC = 10b): a result is the exact one
//     rounded to 53 bits instead of 64 (relative error up to 2^-53 instead of 2^-64), within binary64's
//     exponent range (beyond about 2^+-1023, where 80-bit keeps going, results overflow or go subnormal).
//     PC = single rounds results to binary32 as hardware does. add/sub/mul/div/sqrt honour RC (directed
//     rounding from an exact error term: TwoSum, Dekker's product, the exact remainder) and flag PE and C1
//     (rounded up); transcendentals use Math.* (correct to about 1 ulp of binary64; FSIN/FCOS/FPTAN reduce
//     with binary64's pi-exact argument, as Math.sin does, not with the 66-bit pi of Intel's FPUs).
//   - FST/FSTP m64 of a binary64 result equals hardware with PC = double exactly; with PC = extended (the
//     FNINIT default) hardware rounds twice (to 64 bits, then to 53 on the store), which differs from our single
//     rounding in the rare double-rounding cases. Measured by test/emu_x87.test.ts against exact BigInt
//     rounding (40,000 random operand pairs each, X87_PRECISION_CASES=40000): every FADD/FMUL/FDIV result here
//     equals the exact result rounded to 53 bits; the 80-bit result differs from a PC=extended FPU's in 20.1%
//     of additions, 99.9% of multiplications and 99.9% of divisions (by less than 2^-53 relative, i.e. up
//     to 2^10 units in the 64-bit last place); after FSTP m64 the stored double differs in 1 addition
//     (0.0025%), 0 multiplications and 16 divisions (0.04%), by one binary64 ulp (hardware's double rounding).
// Exceptions: IE (invalid, SNaN operands, stack overflow/underflow with SF and C1), ZE, OE, PE are detected;
// DE and UE never (binary64 has no 80-bit denormal operands, and its underflow threshold is not 80-bit's).
// Masked exceptions give the default results (the negative "indefinite" QNaN, infinities, integer
// indefinite). Unmasked ones set ES and B and leave the destination unchanged for IE/ZE; #MF is raised, as
// hardware does, at the next waiting x87 instruction (or FWAIT, or MMX instruction). With CR0.NE clear a PC
// would signal FERR# to IRQ13 instead; the emulator has no FERR# wiring and raises #MF in both cases.
// FBLD/FBSTP (packed BCD) are not implemented (#UD, named in the report).
import type { Cpu } from "../cpu.js";
import { CR4_OSFXSR } from "../cpu.js";
import { fault, gp, MF, ud } from "../fault.js";
import type { Handler, Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup, unimplemented } from "../opcodes.js";
import { effectiveAddress, operandLinear } from "../operands.js";
import { condition } from "./arith.js";
import { checkFpuAvailable, checkWaitAvailable } from "./fpu_available.js";

// Status word bits.
const IE = 1;
const ZE = 4;
const OE = 8;
const PE = 0x20;
const SF = 0x40;
const ES = 0x80;
const C0 = 0x100;
const C1 = 0x200;
const C2 = 0x400;
const C3 = 0x4000;
const BUSY = 0x8000;
const CC = C0 | C1 | C2 | C3;

/** Exceptions detected by the current instruction. */
let ex = 0;
/** Set when the current instruction rounded its result up (C1). */
let roundedUp = false;

const bits = new Float64Array(1);
const bw = new Int32Array(bits.buffer);
const f32 = new Float32Array(1);
const f32w = new Int32Array(f32.buffer);
/** The x87 "real indefinite": negative quiet NaN. */
bw[0] = 0;
bw[1] = 0xfff80000 | 0;
const INDEF = bits[0]!;

// ---- binary64 <-> 80-bit ----
/** Output of to80: the significand's words and sign << 15 | exponent. */
let oLo = 0;
let oHi = 0;
let oExp = 0;

/** Exact conversion of a binary64 value to the 80-bit format. */
export function to80(v: number): void {
  bits[0] = v;
  const lo = bw[0]!;
  const hi = bw[1]!;
  const sign = (hi >>> 31) << 15;
  const e = (hi >>> 20) & 0x7ff;
  const f = hi & 0xfffff;
  if (e !== 0) {
    oExp = e === 0x7ff ? sign | 0x7fff : sign | (e - 1023 + 16383);
    oHi = 0x80000000 | (f << 11) | (lo >>> 21);
    oLo = lo << 11;
    return;
  }
  if ((f | lo) === 0) {
    oExp = sign;
    oHi = 0;
    oLo = 0;
    return;
  }
  // binary64 subnormal: a normal 80-bit number.
  const nz = f !== 0 ? Math.clz32(f) - 12 : 20 + Math.clz32(lo);
  const s = 12 + nz;
  if (s >= 32) {
    oHi = s === 32 ? lo : lo << (s - 32);
    oLo = 0;
  } else {
    oHi = (f << s) | (lo >>> (32 - s));
    oLo = lo << s;
  }
  oExp = sign | (16383 - 1023 - nz);
}

/** An 80-bit value rounded to nearest binary64 (unsupported encodings give the indefinite and IE). */
export function from80(lo: number, hi: number, exp: number): number {
  const neg = (exp & 0x8000) !== 0;
  const e = exp & 0x7fff;
  if (e === 0x7fff) {
    if (((hi & 0x7fffffff) | lo) === 0 && hi < 0) return neg ? -Infinity : Infinity;
    if (hi >= 0) {
      ex |= IE;
      return INDEF;
    }
    let h = (neg ? 0x80000000 : 0) | 0x7ff00000 | ((hi >>> 11) & 0xfffff);
    const l = (hi << 21) | (lo >>> 11);
    if (((h & 0xfffff) | l) === 0) h |= 0x80000;
    bw[0] = l;
    bw[1] = h;
    return bits[0]!;
  }
  if ((hi | lo) === 0) return neg ? -0 : 0;
  if (e !== 0 && hi >= 0) {
    ex |= IE; // unnormal
    return INDEF;
  }
  let x = (hi >>> 0) * 4294967296 + (lo >>> 0); // the one rounding, to 53 bits
  let k = (e === 0 ? 1 : e) - 16383 - 63;
  if (k > 900) {
    x *= 2 ** 900;
    k -= 900;
    if (k > 900) return neg ? -Infinity : Infinity;
  } else if (k < -1000) {
    x *= 2 ** -64; // exact: x stays normal
    k += 64;
    if (k < -1000) {
      x *= 2 ** -900;
      k += 900;
      if (k < -1100) return neg ? -0 : 0;
    }
  }
  x *= 2 ** k;
  return neg ? -x : x;
}

// ---- registers ----
const phys = (cpu: Cpu, i: number) => (cpu.fpuTop + i) & 7;
const isEmpty = (cpu: Cpu, i: number) => ((cpu.fpuTags >> ((cpu.fpuTop + i) & 7)) & 1) === 0;
const masked = (cpu: Cpu, e: number) => (cpu.fpuCw & e) !== 0;

function physValue(cpu: Cpu, p: number): number {
  return cpu.fpRaw[p] ? from80(cpu.fpMant[2 * p]!, cpu.fpMant[2 * p + 1]!, cpu.fpExp[p]!) : cpu.fpr[p]!;
}

/** Makes the 80-bit view of physical register p current (for MMX reads and 80-bit stores). */
export function ensureRaw(cpu: Cpu, p: number): void {
  if (cpu.fpRaw[p]) return;
  to80(cpu.fpr[p]!);
  cpu.fpMant[2 * p] = oLo;
  cpu.fpMant[2 * p + 1] = oHi;
  cpu.fpExp[p] = oExp;
  cpu.fpRaw[p] = 1;
}

function underflow(cpu: Cpu): void {
  ex |= IE | SF;
  cpu.fpuSw &= ~C1;
}

/** ST(i) as binary64; an empty register is a stack underflow (the indefinite). */
function st(cpu: Cpu, i: number): number {
  const p = (cpu.fpuTop + i) & 7;
  if (!((cpu.fpuTags >> p) & 1)) {
    underflow(cpu);
    return INDEF;
  }
  return cpu.fpRaw[p] ? from80(cpu.fpMant[2 * p]!, cpu.fpMant[2 * p + 1]!, cpu.fpExp[p]!) : cpu.fpr[p]!;
}

function setSt(cpu: Cpu, i: number, v: number): void {
  const p = (cpu.fpuTop + i) & 7;
  cpu.fpr[p] = v;
  cpu.fpRaw[p] = 0;
  cpu.fpuTags |= 1 << p;
}

function setRaw(cpu: Cpu, p: number, lo: number, hi: number, exp: number): void {
  cpu.fpMant[2 * p] = lo;
  cpu.fpMant[2 * p + 1] = hi;
  cpu.fpExp[p] = exp;
  cpu.fpRaw[p] = 1;
  cpu.fpuTags |= 1 << p;
}

function copyPhys(cpu: Cpu, from: number, to: number): void {
  cpu.fpr[to] = cpu.fpr[from]!;
  cpu.fpMant[2 * to] = cpu.fpMant[2 * from]!;
  cpu.fpMant[2 * to + 1] = cpu.fpMant[2 * from + 1]!;
  cpu.fpExp[to] = cpu.fpExp[from]!;
  cpu.fpRaw[to] = cpu.fpRaw[from]!;
  cpu.fpuTags |= 1 << to;
}

/** Makes room for a push: false (and the masked response done) on stack overflow. */
function pushSlot(cpu: Cpu): boolean {
  const p = (cpu.fpuTop - 1) & 7;
  if ((cpu.fpuTags >> p) & 1) {
    ex |= IE | SF;
    cpu.fpuSw |= C1;
    if (masked(cpu, IE)) {
      cpu.fpuTop = p;
      cpu.fpr[p] = INDEF;
      cpu.fpRaw[p] = 0;
    }
    return false;
  }
  return true;
}

function push(cpu: Cpu, v: number): void {
  if (!pushSlot(cpu)) return;
  cpu.fpuTop = (cpu.fpuTop - 1) & 7;
  setSt(cpu, 0, v);
}

function pop(cpu: Cpu): void {
  cpu.fpuTags &= ~(1 << cpu.fpuTop);
  cpu.fpuTop = (cpu.fpuTop + 1) & 7;
}

/** An unmasked invalid-operation or zero-divide: the destination must stay unchanged. */
const blocked = (cpu: Cpu) => (ex & ~cpu.fpuCw & (IE | ZE)) !== 0;

// ---- instruction frame ----
/** Starts a waiting x87 instruction: availability, a pending unmasked exception (#MF), the FPU pointers. */
function begin(cpu: Cpu, i: Insn): void {
  checkFpuAvailable(cpu);
  if (cpu.fpuSw & ES) fault(MF);
  ex = 0;
  roundedUp = false;
  cpu.fpuIp = cpu.ip;
  cpu.fpuCs = cpu.segSel[1]!;
  // The opcode's low 3 bits and the ModRM byte (prefixes are never D8-DF).
  const b = i.bytes;
  let k = 0;
  while ((b[k]! & 0xf8) !== 0xd8) k++;
  cpu.fpuOp = ((b[k]! & 7) << 8) | b[k + 1]!;
}

/** Starts a non-waiting control instruction (FNINIT, FNSTSW, ...): no #MF check, pointers unchanged. */
function beginControl(cpu: Cpu): void {
  checkFpuAvailable(cpu);
  ex = 0;
}

function end(cpu: Cpu): void {
  if (ex === 0) return;
  cpu.fpuSw |= ex;
  if (ex & ~cpu.fpuCw & 0x3f) cpu.fpuSw |= ES | BUSY;
}

/** The memory operand's linear address, recorded as the FPU data pointer. */
function memOperand(cpu: Cpu, i: Insn, size: number): number {
  const lin = operandLinear(cpu, i, size);
  cpu.fpuDp = effectiveAddress(cpu, i);
  cpu.fpuDs = cpu.segSel[i.seg]!;
  return lin;
}

// ---- arithmetic ----
const SPLIT = 134217729; // 2^27 + 1
/** The exact error of the product a * b - p (Dekker), for |a|, |b| well inside the exponent range. */
function productError(a: number, b: number, p: number): number {
  let c = SPLIT * a;
  const ah = c - (c - a);
  const al = a - ah;
  c = SPLIT * b;
  const bh = c - (c - b);
  const bl = b - bh;
  return ah * bh - p + ah * bl + al * bh + al * bl;
}

function nextUp(x: number): number {
  if (Number.isNaN(x) || x === Infinity) return x;
  if (x === 0) return 5e-324;
  bits[0] = x;
  if (x > 0) {
    bw[0] = (bw[0]! + 1) | 0;
    if (bw[0] === 0) bw[1] = (bw[1]! + 1) | 0;
  } else {
    if (bw[0] === 0) bw[1] = (bw[1]! - 1) | 0;
    bw[0] = (bw[0]! - 1) | 0;
  }
  return bits[0]!;
}
const nextDown = (x: number) => -nextUp(-x);

/** Applies RC and precision control to a round-to-nearest result r whose exact value is r + err. */
function rounding(cpu: Cpu, r: number, err: number): number {
  if ((cpu.fpuCw & 0x300) === 0 && !Number.isNaN(r) && Math.abs(r) !== Infinity) {
    // PC = single: round the exact value r + err to binary32.
    const s = Math.fround(r);
    const e2 = r - s + err;
    if (e2 !== 0) ex |= PE;
    let out = s;
    const rc = (cpu.fpuCw >> 10) & 3;
    if (rc === 1 && e2 < 0 && s > r + err) out = nextF32(s, -1);
    else if (rc === 2 && e2 > 0) out = nextF32(s, 1);
    else if (rc === 3 && (s > 0 ? e2 < 0 : e2 > 0)) out = nextF32(s, s > 0 ? -1 : 1);
    if (out > r + err || (out === r + err && out > r)) roundedUp = true;
    return out;
  }
  if (err === 0 || Number.isNaN(err)) return r;
  ex |= PE;
  const rc = (cpu.fpuCw >> 10) & 3;
  if (rc === 1 && err < 0) r = nextDown(r);
  else if (rc === 2 && err > 0) r = nextUp(r);
  else if (rc === 3 && (r > 0 ? err < 0 : err > 0)) r = r > 0 ? nextDown(r) : nextUp(r);
  else if (err < 0) roundedUp = true;
  if (rc === 2 && err > 0) roundedUp = true;
  return r;
}

function nextF32(s: number, dir: number): number {
  f32[0] = s;
  if (s === 0) {
    f32w[0] = dir > 0 ? 1 : 0x80000001 | 0;
  } else if (s > 0 === dir > 0) f32w[0] = f32w[0]! + 1;
  else f32w[0] = f32w[0]! - 1;
  return f32[0]!;
}

function isSNaN(x: number): boolean {
  if (!Number.isNaN(x)) return false;
  bits[0] = x;
  return (bw[1]! & 0x80000) === 0;
}

/** The result of an operation with a NaN operand: the NaN (the larger significand of two), quieted. */
function nanResult(a: number, b: number): number {
  if (isSNaN(a) || isSNaN(b)) ex |= IE;
  let n = a;
  if (Number.isNaN(a) && Number.isNaN(b)) {
    bits[0] = a;
    const ha = bw[1]! & 0xfffff;
    const la = bw[0]! >>> 0;
    bits[0] = b;
    const hb = bw[1]! & 0xfffff;
    const lb = bw[0]! >>> 0;
    n = hb > ha || (hb === ha && lb > la) ? b : a;
  } else if (!Number.isNaN(a)) n = b;
  bits[0] = n;
  bw[1] = bw[1]! | 0x80000;
  return bits[0]!;
}

/** ST-form arithmetic: k = 0 add, 1 mul, 4 sub (a - b), 5 subr (b - a), 6 div (a / b), 7 divr (b / a). */
function arith(cpu: Cpu, k: number, a: number, b: number): number {
  if (k === 5 || k === 7) {
    const t = a;
    a = b;
    b = t;
    k--;
  }
  let r: number;
  let err = 0;
  switch (k) {
    case 0:
    case 4: {
      if (k === 4) b = -b;
      r = a + b;
      const bb = r - a;
      err = a - (r - bb) + (b - bb);
      break;
    }
    case 1:
      r = a * b;
      if (!Number.isNaN(r) && Math.abs(r) !== Infinity && r !== 0) err = productError(a, b, r);
      else if (r === 0 && a !== 0 && b !== 0) err = a > 0 === b > 0 ? 1e-320 : -1e-320;
      break;
    default:
      if (b === 0 && !Number.isNaN(a) && a !== 0 && Math.abs(a) !== Infinity) ex |= ZE;
      r = a / b;
      if (!Number.isNaN(r) && Math.abs(r) !== Infinity && r !== 0 && b !== 0) {
        const p = r * b;
        const rem = a - p - productError(r, b, p);
        err = b > 0 ? rem : -rem;
      }
      break;
  }
  if (Number.isNaN(r)) {
    if (Number.isNaN(a) || Number.isNaN(b)) return nanResult(a, b);
    ex |= IE;
    return INDEF;
  }
  if (Math.abs(r) === Infinity && Math.abs(a) !== Infinity && Math.abs(b) !== Infinity && !(ex & ZE)) {
    ex |= OE | PE;
    const rc = (cpu.fpuCw >> 10) & 3;
    // Directed rounding gives the largest finite value instead of an infinity.
    if (rc === 3 || (rc === 1 && r > 0) || (rc === 2 && r < 0)) return r > 0 ? Number.MAX_VALUE : -Number.MAX_VALUE;
    return r;
  }
  return rounding(cpu, r, err);
}

function compareCodes(_cpu: Cpu, a: number, b: number, unordered: boolean): number {
  if (Number.isNaN(a) || Number.isNaN(b)) {
    if (!unordered || isSNaN(a) || isSNaN(b)) ex |= IE;
    return C3 | C2 | C0;
  }
  return a > b ? 0 : a < b ? C0 : C3;
}

function setCc(cpu: Cpu, c: number): void {
  cpu.fpuSw = (cpu.fpuSw & ~CC) | c;
}

/** FCOMI/FUCOMI: ZF, PF, CF from the comparison; OF, SF, AF cleared. */
function setEflagsCompare(cpu: Cpu, c: number): void {
  if (blocked(cpu)) return;
  const zf = c & C3 ? 0x40 : 0;
  const pf = c & C2 ? 0x4 : 0;
  const cf = c & C0 ? 0x1 : 0;
  cpu.flags.setEager(zf | pf | cf);
  cpu.fpuSw &= ~C1;
}

// ---- integers ----
/** Rounds to an integer under RC (flags PE, C1). */
function roundInt(cpu: Cpu, v: number): number {
  if (Number.isNaN(v) || Math.abs(v) === Infinity) return v;
  let r: number;
  switch ((cpu.fpuCw >> 10) & 3) {
    case 0: {
      r = Math.round(v);
      if (r - v === 0.5 && r % 2 !== 0) r -= 1; // ties to even
      break;
    }
    case 1:
      r = Math.floor(v);
      break;
    case 2:
      r = Math.ceil(v);
      break;
    default:
      r = Math.trunc(v);
      break;
  }
  if (r !== v) {
    ex |= PE;
    if (Math.abs(r) > Math.abs(v)) roundedUp = true;
  }
  return r === 0 && v < 0 ? -0 : r;
}

/** FIST/FISTP/FISTTP of `size` bytes (truncating when `trunc`). */
function storeInt(cpu: Cpu, i: Insn, size: number, popAfter: boolean, trunc: boolean): void {
  const lin = memOperand(cpu, i, size);
  const p0 = phys(cpu, 0);
  if (size === 8 && cpu.fpRaw[p0] && !isEmpty(cpu, 0)) {
    const e = (cpu.fpExp[p0]! & 0x7fff) - 16383;
    if (e >= 52 && e <= 63) {
      storeInt64Exact(cpu, lin, p0, e, popAfter, trunc);
      return;
    }
  }
  const v = st(cpu, 0);
  let r = trunc ? Math.trunc(v) : roundInt(cpu, v);
  if (trunc && r !== v && !Number.isNaN(r)) ex |= PE;
  const lim = size === 2 ? 32768 : size === 4 ? 2147483648 : 2 ** 63;
  let indefinite = false;
  if (Number.isNaN(r) || r >= lim || r < -lim) {
    ex = (ex & ~PE) | IE;
    indefinite = true;
    r = -lim;
  }
  if (blocked(cpu)) {
    end(cpu);
    return;
  }
  if (indefinite && !masked(cpu, IE)) {
    end(cpu);
    return;
  }
  if (size === 2) cpu.mem.write16(lin, r & 0xffff);
  else if (size === 4) cpu.mem.write32(lin, r | 0);
  else {
    const hi = Math.floor(r / 4294967296);
    cpu.mem.write64(lin, (r - hi * 4294967296) | 0, hi | 0);
  }
  cpu.fpuSw = (cpu.fpuSw & ~C1) | (roundedUp ? C1 : 0);
  if (popAfter) pop(cpu);
  end(cpu);
}

/** FIST/FISTP/FISTTP m64 of an 80-bit value of 2^52 or more: exactly, from its significand (rare: BigInt). */
function storeInt64Exact(cpu: Cpu, lin: number, p: number, e: number, popAfter: boolean, trunc: boolean): void {
  const neg = (cpu.fpExp[p]! & 0x8000) !== 0;
  const mant = (BigInt(cpu.fpMant[2 * p + 1]! >>> 0) << 32n) | BigInt(cpu.fpMant[2 * p]! >>> 0);
  const shift = BigInt(63 - e);
  let q = mant >> shift;
  const rem = mant - (q << shift);
  if (rem !== 0n) {
    ex |= PE;
    const half = shift > 0n ? 1n << (shift - 1n) : 0n;
    const rc = trunc ? 3 : (cpu.fpuCw >> 10) & 3;
    const away = rc === 0 ? rem > half || (rem === half && (q & 1n) === 1n) : rc === 1 ? neg : rc === 2 ? !neg : false;
    if (away) {
      q += 1n;
      roundedUp = true;
    }
  }
  let v = neg ? -q : q;
  if (v > 0x7fffffffffffffffn || v < -0x8000000000000000n) {
    ex = (ex & ~PE) | IE;
    if (!masked(cpu, IE)) {
      end(cpu);
      return;
    }
    v = -0x8000000000000000n;
  }
  cpu.mem.write64(lin, Number(v & 0xffffffffn) | 0, Number((v >> 32n) & 0xffffffffn) | 0);
  cpu.fpuSw = (cpu.fpuSw & ~C1) | (roundedUp ? C1 : 0);
  if (popAfter) pop(cpu);
  end(cpu);
}

/** FILD m64: exact (integers beyond 2^53 are kept as 80-bit values). */
function loadInt64(cpu: Cpu, lo: number, hi: number): void {
  const v = hi * 4294967296 + (lo >>> 0);
  if (Math.abs(v) < 9007199254740992) {
    push(cpu, v);
    return;
  }
  if (!pushSlot(cpu)) return;
  cpu.fpuTop = (cpu.fpuTop - 1) & 7;
  let sign = 0;
  if (hi < 0) {
    sign = 0x8000;
    lo = -lo | 0;
    hi = (~hi + (lo === 0 ? 1 : 0)) | 0;
  }
  // hi !== 0 here (|v| >= 2^53); normalise.
  const n = Math.clz32(hi);
  const mh = n === 0 ? hi : (hi << n) | (lo >>> (32 - n));
  const ml = lo << n;
  setRaw(cpu, cpu.fpuTop, ml, mh, sign | (16383 + 63 - n));
}

// ---- constants (64-bit significands, rounded to nearest; `up` when that rounding went up) ----
const CONSTANTS: [number, number, number, boolean][] = [
  [0x3fff, 0x80000000, 0, false], // 1
  [0x4000, 0xd49a784b, 0xcd1b8afe, false], // log2(10)
  [0x3fff, 0xb8aa3b29, 0x5c17f0bc, true], // log2(e)
  [0x4000, 0xc90fdaa2, 0x2168c235, true], // pi
  [0x3ffd, 0x9a209a84, 0xfbcff799, true], // log10(2)
  [0x3ffe, 0xb17217f7, 0xd1cf79ac, true], // ln(2)
];

function loadConstant(cpu: Cpu, k: number): void {
  if (k === 6 || k === 0) {
    push(cpu, k === 0 ? 1 : 0);
    return;
  }
  const [exp, hi, lo0, up] = CONSTANTS[k]!;
  let lo = lo0;
  const rc = (cpu.fpuCw >> 10) & 3;
  if (k > 0 && up && (rc === 1 || rc === 3)) lo -= 1;
  else if (k > 0 && !up && rc === 2) lo += 1;
  if (!pushSlot(cpu)) return;
  cpu.fpuTop = (cpu.fpuTop - 1) & 7;
  setRaw(cpu, cpu.fpuTop, lo | 0, hi | 0, exp);
}

// ---- memory operand forms (D8-DF with mod != 3) ----
function readMemOperand(cpu: Cpu, i: Insn, kind: number): number {
  // kind: 0 m32real, 1 m32int, 2 m64real, 3 m16int
  switch (kind) {
    case 0: {
      const lin = memOperand(cpu, i, 4);
      f32w[0] = cpu.mem.read32(lin);
      return f32[0]!;
    }
    case 1:
      return cpu.mem.read32(memOperand(cpu, i, 4));
    case 2: {
      const lin = memOperand(cpu, i, 8);
      bw[0] = cpu.mem.read64(lin);
      bw[1] = cpu.vHi;
      return bits[0]!;
    }
    default:
      return (cpu.mem.read16(memOperand(cpu, i, 2)) << 16) >> 16;
  }
}

/** D8/DA/DC/DE with a memory operand: ST(0) = ST(0) op m, FCOM/FICOM (reg 2, 3). */
function memArith(cpu: Cpu, i: Insn, kind: number): void {
  begin(cpu, i);
  const m = readMemOperand(cpu, i, kind);
  if (kind === 0 && isSNaN(m)) ex |= IE;
  const a = st(cpu, 0);
  const reg = i.reg & 7;
  if (reg === 2 || reg === 3) {
    const c = compareCodes(cpu, a, m, false);
    if (!blocked(cpu)) {
      setCc(cpu, c);
      if (reg === 3) pop(cpu);
    }
    end(cpu);
    return;
  }
  if (isEmpty(cpu, 0) && !masked(cpu, IE)) {
    end(cpu);
    return;
  }
  const r = arith(cpu, reg, a, m);
  if (!blocked(cpu)) {
    setSt(cpu, 0, r);
    cpu.fpuSw = (cpu.fpuSw & ~C1) | (roundedUp ? C1 : 0);
  }
  end(cpu);
}

/** Register forms of D8 (ST0 = ST0 op STi), DC (STi = STi op' ST0), DE (DC then pop). */
function regArith(cpu: Cpu, i: Insn, toSti: boolean, popAfter: boolean): void {
  begin(cpu, i);
  const reg = i.reg & 7;
  const n = i.rm & 7;
  const s0 = st(cpu, 0);
  const si = st(cpu, n);
  if (reg === 2 || reg === 3) {
    const c = compareCodes(cpu, s0, si, false);
    if (!blocked(cpu)) {
      setCc(cpu, c);
      if (reg === 3) pop(cpu);
    }
    end(cpu);
    return;
  }
  if (ex & SF && !masked(cpu, IE)) {
    end(cpu);
    return;
  }
  const r = toSti ? arith(cpu, reg >= 4 ? reg ^ 1 : reg, si, s0) : arith(cpu, reg, s0, si);
  if (!blocked(cpu)) {
    setSt(cpu, toSti ? n : 0, r);
    cpu.fpuSw = (cpu.fpuSw & ~C1) | (roundedUp ? C1 : 0);
    if (popAfter) pop(cpu);
  }
  end(cpu);
}

/** Stores ST(0) as binary32 (RC honoured, PE, OE). */
function toF32(cpu: Cpu, v: number): number {
  const s = Math.fround(v);
  if (Number.isNaN(v)) {
    if (isSNaN(v)) ex |= IE;
    bits[0] = v;
    f32w[0] = (bw[1]! & 0x80000000) | 0x7fc00000 | ((bw[1]! & 0x7ffff) << 3) | (bw[0]! >>> 29);
    return f32[0]!;
  }
  if (s === v) return s;
  if (Math.abs(s) === Infinity && Math.abs(v) !== Infinity) ex |= OE;
  ex |= PE;
  const rc = (cpu.fpuCw >> 10) & 3;
  let out = s;
  if (rc === 1 && s > v) out = nextF32(s, -1);
  else if (rc === 2 && s < v) out = nextF32(s, 1);
  else if (rc === 3 && Math.abs(s) > Math.abs(v)) out = nextF32(s, s > 0 ? -1 : 1);
  if (out > v) roundedUp = true;
  return out;
}

function storeReal(cpu: Cpu, i: Insn, size: number, popAfter: boolean): void {
  begin(cpu, i);
  const lin = memOperand(cpu, i, size);
  const p = phys(cpu, 0);
  if (isEmpty(cpu, 0)) underflow(cpu);
  if (size === 10) {
    if (ex && !masked(cpu, IE)) {
      end(cpu);
      return;
    }
    if (ex) {
      to80(INDEF);
      cpu.mem.probeWrite(lin, 10);
      cpu.mem.write64(lin, oLo, oHi);
      cpu.mem.write16(lin + 8, oExp);
    } else {
      ensureRaw(cpu, p);
      cpu.mem.probeWrite(lin, 10);
      cpu.mem.write64(lin, cpu.fpMant[2 * p]!, cpu.fpMant[2 * p + 1]!);
      cpu.mem.write16(lin + 8, cpu.fpExp[p]!);
    }
  } else {
    const v = ex ? INDEF : physValue(cpu, p);
    if (ex & IE && !masked(cpu, IE)) {
      end(cpu);
      return;
    }
    if (size === 4) {
      f32[0] = toF32(cpu, v);
      if (ex & IE && !masked(cpu, IE)) {
        end(cpu);
        return;
      }
      cpu.mem.write32(lin, f32w[0]!);
    } else {
      if (isSNaN(v)) ex |= IE;
      if (ex & IE && !masked(cpu, IE)) {
        end(cpu);
        return;
      }
      bits[0] = v;
      if (Number.isNaN(v)) bw[1] = bw[1]! | 0x80000;
      cpu.mem.write64(lin, bw[0]!, bw[1]!);
    }
  }
  cpu.fpuSw = (cpu.fpuSw & ~C1) | (roundedUp ? C1 : 0);
  if (popAfter) pop(cpu);
  end(cpu);
}

function loadReal(cpu: Cpu, i: Insn, kind: number): void {
  begin(cpu, i);
  if (kind === 10) {
    const lin = memOperand(cpu, i, 10);
    const lo = cpu.mem.read64(lin);
    const hi = cpu.vHi;
    const exp = cpu.mem.read16(lin + 8) & 0xffff;
    if (pushSlot(cpu)) {
      cpu.fpuTop = (cpu.fpuTop - 1) & 7;
      setRaw(cpu, cpu.fpuTop, lo, hi, exp);
      cpu.fpuSw &= ~C1;
    }
    end(cpu);
    return;
  }
  const v = readMemOperand(cpu, i, kind);
  if (kind !== 1 && kind !== 3 && isSNaN(v)) {
    ex |= IE;
    if (!masked(cpu, IE)) {
      end(cpu);
      return;
    }
  }
  let q = v;
  if (Number.isNaN(v)) {
    bits[0] = v;
    bw[1] = bw[1]! | 0x80000;
    q = bits[0]!;
  }
  push(cpu, q);
  if (!(ex & SF)) cpu.fpuSw &= ~C1;
  end(cpu);
}

// ---- environment ----
/** The full tag word (2 bits per physical register: 00 valid, 01 zero, 10 special, 11 empty). */
function fullTags(cpu: Cpu): number {
  let tw = 0;
  for (let p = 0; p < 8; p++) {
    let t = 3;
    if ((cpu.fpuTags >> p) & 1) {
      ensureRaw(cpu, p);
      const e = cpu.fpExp[p]! & 0x7fff;
      const hi = cpu.fpMant[2 * p + 1]!;
      const lo = cpu.fpMant[2 * p]!;
      if (e === 0 && (hi | lo) === 0) t = 1;
      else if (e === 0x7fff || e === 0 || hi >= 0) t = 2;
      else t = 0;
    }
    tw |= t << (2 * p);
  }
  return tw;
}

const statusWord = (cpu: Cpu) => (cpu.fpuSw & ~0x3800) | (cpu.fpuTop << 11);

function envFormat32(i: Insn): boolean {
  return i.opsize !== 2;
}

function storeEnv(cpu: Cpu, i: Insn, lin: number): number {
  const real = !cpu.protectedMode || (cpu.eflags & (1 << 17)) !== 0;
  const w = envFormat32(i) ? 4 : 2;
  const put = (k: number, v: number) => (w === 4 ? cpu.mem.write32(lin + k * 4, v) : cpu.mem.write16(lin + k * 2, v));
  cpu.mem.probeWrite(lin, w === 4 ? 28 : 14);
  put(0, cpu.fpuCw | (w === 4 ? 0xffff0000 : 0));
  put(1, statusWord(cpu) | (w === 4 ? 0xffff0000 : 0));
  put(2, fullTags(cpu) | (w === 4 ? 0xffff0000 : 0));
  if (real) {
    const lip = (cpu.fpuCs << 4) + cpu.fpuIp; // real mode: linear addresses
    const ldp = (cpu.fpuDs << 4) + cpu.fpuDp;
    put(3, lip & 0xffff);
    put(4, (w === 4 ? ((lip >>> 16) & 0xffff) << 12 : ((lip >>> 16) & 0xf) << 12) | cpu.fpuOp);
    put(5, ldp & 0xffff);
    put(6, w === 4 ? ((ldp >>> 16) & 0xffff) << 12 : ((ldp >>> 16) & 0xf) << 12);
  } else if (w === 4) {
    put(3, cpu.fpuIp);
    put(4, cpu.fpuCs | (cpu.fpuOp << 16));
    put(5, cpu.fpuDp);
    put(6, cpu.fpuDs);
  } else {
    put(3, cpu.fpuIp & 0xffff);
    put(4, cpu.fpuCs);
    put(5, cpu.fpuDp & 0xffff);
    put(6, cpu.fpuDs);
  }
  return w === 4 ? 28 : 14;
}

function loadEnv(cpu: Cpu, i: Insn, lin: number): number {
  const real = !cpu.protectedMode || (cpu.eflags & (1 << 17)) !== 0;
  const w = envFormat32(i) ? 4 : 2;
  const get = (k: number) => (w === 4 ? cpu.mem.read32(lin + k * 4) : cpu.mem.read16(lin + k * 2) & 0xffff);
  const cw = get(0) & 0xffff;
  const sw = get(1) & 0xffff;
  const tw = get(2) & 0xffff;
  const v3 = get(3);
  const v4 = get(4);
  const v5 = get(5);
  const v6 = get(6);
  cpu.fpuCw = (cw & 0x1f7f) | 0x40;
  cpu.fpuTop = (sw >> 11) & 7;
  cpu.fpuSw = sw & ~0x3800;
  let tags = 0;
  for (let p = 0; p < 8; p++) if (((tw >> (2 * p)) & 3) !== 3) tags |= 1 << p;
  cpu.fpuTags = tags;
  if (real) {
    cpu.fpuIp = (v3 & 0xffff) | (((v4 >>> 12) & 0xffff) << 16);
    cpu.fpuOp = v4 & 0x7ff;
    cpu.fpuCs = 0;
    cpu.fpuDp = (v5 & 0xffff) | (((v6 >>> 12) & 0xffff) << 16);
    cpu.fpuDs = 0;
  } else {
    cpu.fpuIp = w === 4 ? v3 >>> 0 : v3;
    cpu.fpuCs = v4 & 0xffff;
    cpu.fpuOp = w === 4 ? (v4 >>> 16) & 0x7ff : cpu.fpuOp;
    cpu.fpuDp = w === 4 ? v5 >>> 0 : v5;
    cpu.fpuDs = v6 & 0xffff;
  }
  updateEs(cpu);
  return w === 4 ? 28 : 14;
}

/** ES and B follow the unmasked exception flags (after FLDCW, FLDENV, FRSTOR, FXRSTOR). */
function updateEs(cpu: Cpu): void {
  if (cpu.fpuSw & ~cpu.fpuCw & 0x3f) cpu.fpuSw |= ES | BUSY;
  else cpu.fpuSw &= ~(ES | BUSY);
}

export function fninit(cpu: Cpu): void {
  cpu.fpuCw = 0x37f;
  cpu.fpuSw = 0;
  cpu.fpuTop = 0;
  cpu.fpuTags = 0;
  cpu.fpuIp = 0;
  cpu.fpuCs = 0;
  cpu.fpuDp = 0;
  cpu.fpuDs = 0;
  cpu.fpuOp = 0;
}

function writeReg80(cpu: Cpu, lin: number, p: number): void {
  ensureRaw(cpu, p);
  cpu.mem.write64(lin, cpu.fpMant[2 * p]!, cpu.fpMant[2 * p + 1]!);
  cpu.mem.write16(lin + 8, cpu.fpExp[p]!);
}

const rstLo = new Int32Array(8);
const rstHi = new Int32Array(8);
const rstExp = new Int32Array(8);

// ---- transcendental and miscellaneous ST(0) operations (D9 E0-FF) ----
const TWO63 = 2 ** 63;

function d9Special(cpu: Cpu, i: Insn): void {
  const b = 0xc0 | ((i.reg & 7) << 3) | (i.rm & 7);
  if (b >= 0xe8 && b <= 0xee) {
    begin(cpu, i);
    loadConstant(cpu, b - 0xe8);
    if (!(ex & SF)) cpu.fpuSw &= ~C1;
    end(cpu);
    return;
  }
  if (b === 0xd0) {
    begin(cpu, i);
    return;
  } // FNOP
  begin(cpu, i);
  switch (b) {
    case 0xe0: // FCHS
    case 0xe1: {
      // FABS
      const p = phys(cpu, 0);
      if (isEmpty(cpu, 0)) {
        underflow(cpu);
        if (masked(cpu, IE)) setSt(cpu, 0, INDEF);
        break;
      }
      if (cpu.fpRaw[p]) cpu.fpExp[p] = b === 0xe0 ? cpu.fpExp[p]! ^ 0x8000 : cpu.fpExp[p]! & 0x7fff;
      else cpu.fpr[p] = b === 0xe0 ? -cpu.fpr[p]! : Math.abs(cpu.fpr[p]!);
      cpu.fpuSw &= ~C1;
      break;
    }
    case 0xe4: {
      // FTST
      const v = st(cpu, 0);
      if (!blocked(cpu)) setCc(cpu, compareCodes(cpu, v, 0, false));
      break;
    }
    case 0xe5: {
      // FXAM
      const p = phys(cpu, 0);
      let c: number;
      if (isEmpty(cpu, 0)) c = C3 | C0;
      else {
        ensureRaw(cpu, p);
        const e = cpu.fpExp[p]! & 0x7fff;
        const hi = cpu.fpMant[2 * p + 1]!;
        const lo = cpu.fpMant[2 * p]!;
        if (e === 0x7fff) c = hi >= 0 ? 0 : ((hi & 0x7fffffff) | lo) === 0 ? C2 | C0 : C0;
        else if (e === 0) c = (hi | lo) === 0 ? C3 : C3 | C2;
        else c = hi < 0 ? C2 : 0;
      }
      ensureRaw(cpu, p);
      const sign = (cpu.fpExp[p]! & 0x8000) !== 0;
      setCc(cpu, c | (sign ? C1 : 0));
      break;
    }
    case 0xf0: // F2XM1
      unary(cpu, (x) => (x >= -1 && x <= 1 ? Math.expm1(x * Math.LN2) : x === -Infinity ? -1 : 2 ** x - 1));
      break;
    case 0xf1: // FYL2X: ST1 = ST1 * log2(ST0), pop
      binaryPop(cpu, (x, y) => {
        if (x < 0 || (x === 0 && y === 0)) return invalid();
        if (x === 0 && !Number.isNaN(y)) {
          ex |= ZE;
          return y > 0 ? -Infinity : Infinity;
        }
        return y * Math.log2(x);
      });
      break;
    case 0xf9: // FYL2XP1
      binaryPop(cpu, (x, y) => y * (Math.log1p(x) / Math.LN2));
      break;
    case 0xf3: // FPATAN: ST1 = atan2(ST1, ST0), pop
      binaryPop(cpu, (x, y) => Math.atan2(y, x));
      break;
    case 0xf2: {
      // FPTAN
      const x = st(cpu, 0);
      if (Math.abs(x) >= TWO63) {
        cpu.fpuSw |= C2;
        break;
      }
      const r = Number.isNaN(x) ? nanResult(x, x) : Math.abs(x) === Infinity ? invalid() : Math.tan(x);
      if (blocked(cpu)) break;
      if (!isEmpty(cpu, 7) && !(ex & SF)) {
        pushSlot(cpu);
        break;
      }
      if (r !== x || x === 0) ex |= x === 0 ? 0 : PE;
      setSt(cpu, 0, r);
      push(cpu, 1);
      cpu.fpuSw &= ~(C2 | C1);
      break;
    }
    case 0xfe: // FSIN
    case 0xff: // FCOS
    case 0xfb: {
      // FSINCOS
      const x = st(cpu, 0);
      if (Math.abs(x) >= TWO63) {
        cpu.fpuSw |= C2;
        break;
      }
      const bad = Number.isNaN(x) ? nanResult(x, x) : Math.abs(x) === Infinity ? invalid() : 0;
      if (blocked(cpu)) break;
      if (b === 0xfb) {
        if (!isEmpty(cpu, 7)) {
          pushSlot(cpu);
          break;
        }
        setSt(cpu, 0, bad !== 0 || Number.isNaN(x) ? bad : Math.sin(x));
        push(cpu, bad !== 0 || Number.isNaN(x) ? bad : Math.cos(x));
      } else setSt(cpu, 0, bad !== 0 || Number.isNaN(x) ? bad : b === 0xfe ? Math.sin(x) : Math.cos(x));
      if (x !== 0 && !Number.isNaN(x) && Math.abs(x) !== Infinity) ex |= PE;
      cpu.fpuSw &= ~(C2 | C1);
      break;
    }
    case 0xf4: {
      // FXTRACT: ST0 = significand, then push... exponent first, significand on top
      const x = st(cpu, 0);
      if (blocked(cpu)) break;
      if (!isEmpty(cpu, 7)) {
        pushSlot(cpu);
        break;
      }
      let e: number;
      let m: number;
      if (Number.isNaN(x)) e = m = nanResult(x, x);
      else if (Math.abs(x) === Infinity) {
        e = Infinity;
        m = x;
      } else if (x === 0) {
        ex |= ZE;
        if (!masked(cpu, ZE)) break;
        e = -Infinity;
        m = x;
      } else {
        to80(x);
        e = (oExp & 0x7fff) - 16383;
        m = x * 2 ** -e;
        if (Math.abs(m) === Infinity || m === 0) m = x * 2 ** -Math.trunc(e / 2) * 2 ** -(e - Math.trunc(e / 2));
      }
      setSt(cpu, 0, e);
      push(cpu, m);
      break;
    }
    case 0xf5: // FPREM1
    case 0xf8: {
      // FPREM
      const x = st(cpu, 0);
      const y = st(cpu, 1);
      if (blocked(cpu)) break;
      if (Number.isNaN(x) || Number.isNaN(y)) {
        setSt(cpu, 0, nanResult(x, y));
        break;
      }
      if (Math.abs(x) === Infinity || y === 0) {
        const r = invalid();
        if (!blocked(cpu)) setSt(cpu, 0, r);
        break;
      }
      if (Math.abs(y) === Infinity || x === 0) {
        setCc(cpu, 0);
        break;
      }
      let r = x % y; // exact (truncated quotient)
      let q = Math.abs((x - r) / y);
      if (b === 0xf5) {
        const ay = Math.abs(y);
        const ar = Math.abs(r);
        if (ar > ay - ar || (ar === ay - ar && q % 2 === 1)) {
          r = r > 0 ? r - ay : r + ay;
          q += 1;
        }
      }
      q = q < 9007199254740992 ? q % 8 : 0;
      setSt(cpu, 0, r === 0 ? (x < 0 ? -0 : 0) : r);
      setCc(cpu, (q & 4 ? C0 : 0) | (q & 2 ? C3 : 0) | (q & 1 ? C1 : 0));
      break;
    }
    case 0xf6: // FDECSTP
      cpu.fpuTop = (cpu.fpuTop - 1) & 7;
      cpu.fpuSw &= ~C1;
      break;
    case 0xf7: // FINCSTP
      cpu.fpuTop = (cpu.fpuTop + 1) & 7;
      cpu.fpuSw &= ~C1;
      break;
    case 0xfa: {
      // FSQRT
      const x = st(cpu, 0);
      if (blocked(cpu)) break;
      let r: number;
      if (Number.isNaN(x)) r = nanResult(x, x);
      else if (x < 0) r = invalid();
      else {
        r = Math.sqrt(x);
        if (r !== 0 && r !== Infinity) {
          const p = r * r;
          r = rounding(cpu, r, x - p - productError(r, r, p));
        }
      }
      if (!blocked(cpu)) {
        setSt(cpu, 0, r);
        cpu.fpuSw = (cpu.fpuSw & ~C1) | (roundedUp ? C1 : 0);
      }
      break;
    }
    case 0xfc: {
      // FRNDINT
      const x = st(cpu, 0);
      if (blocked(cpu)) break;
      const r = Number.isNaN(x) ? nanResult(x, x) : roundInt(cpu, x);
      if (!blocked(cpu)) {
        setSt(cpu, 0, r);
        cpu.fpuSw = (cpu.fpuSw & ~C1) | (roundedUp ? C1 : 0);
      }
      break;
    }
    case 0xfd: {
      // FSCALE: ST0 * 2^trunc(ST1)
      const x = st(cpu, 0);
      const y = st(cpu, 1);
      if (blocked(cpu)) break;
      let r: number;
      if (Number.isNaN(x) || Number.isNaN(y)) r = nanResult(x, y);
      else if ((x === 0 && y === Infinity) || (Math.abs(x) === Infinity && y === -Infinity)) r = invalid();
      else {
        let n = Math.trunc(y);
        r = x;
        while (n > 1000 && Math.abs(r) !== Infinity && r !== 0) {
          r *= 2 ** 1000;
          n -= 1000;
        }
        while (n < -1000 && r !== 0 && Math.abs(r) !== Infinity) {
          r *= 2 ** -1000;
          n += 1000;
        }
        r *= 2 ** Math.max(-1074, Math.min(1023, n));
        if (Math.abs(r) === Infinity && Math.abs(x) !== Infinity) ex |= OE | PE;
      }
      if (!blocked(cpu)) setSt(cpu, 0, r);
      break;
    }
    default: {
      unimplemented(cpu, i);
      return;
    }
  }
  end(cpu);
}

function invalid(): number {
  ex |= IE;
  return INDEF;
}

function unary(cpu: Cpu, fn: (x: number) => number): void {
  const x = st(cpu, 0);
  if (blocked(cpu)) return;
  const r = Number.isNaN(x) ? nanResult(x, x) : fn(x);
  if (!blocked(cpu)) {
    if (r !== x) ex |= PE;
    setSt(cpu, 0, r);
  }
}

/** ST(1) = fn(ST(0), ST(1)), pop. */
function binaryPop(cpu: Cpu, fn: (x: number, y: number) => number): void {
  const x = st(cpu, 0);
  const y = st(cpu, 1);
  if (blocked(cpu)) return;
  const r = Number.isNaN(x) || Number.isNaN(y) ? nanResult(x, y) : fn(x, y);
  if (blocked(cpu)) return;
  setSt(cpu, 1, r);
  if (!Number.isNaN(r)) ex |= PE;
  pop(cpu);
}

// ---- the opcode handlers ----
function fxch(cpu: Cpu, n: number): void {
  const p0 = phys(cpu, 0);
  const pi = phys(cpu, n);
  if (isEmpty(cpu, 0) || isEmpty(cpu, n)) {
    underflow(cpu);
    if (!masked(cpu, IE)) return;
    if (isEmpty(cpu, 0)) setSt(cpu, 0, INDEF);
    if (isEmpty(cpu, n)) setSt(cpu, n, INDEF);
  }
  // Swap through the spare scratch slot (index 8 does not exist: use a temporary copy).
  const v = cpu.fpr[p0]!;
  const l = cpu.fpMant[2 * p0]!;
  const h = cpu.fpMant[2 * p0 + 1]!;
  const e = cpu.fpExp[p0]!;
  const r = cpu.fpRaw[p0]!;
  copyPhys(cpu, pi, p0);
  cpu.fpr[pi] = v;
  cpu.fpMant[2 * pi] = l;
  cpu.fpMant[2 * pi + 1] = h;
  cpu.fpExp[pi] = e;
  cpu.fpRaw[pi] = r;
  cpu.fpuSw &= ~C1;
}

/** FST/FSTP ST(i): a bit-exact copy of ST(0). */
function storeSt(cpu: Cpu, n: number, popAfter: boolean): void {
  if (isEmpty(cpu, 0)) {
    underflow(cpu);
    if (!masked(cpu, IE)) return;
    setSt(cpu, n, INDEF);
  } else copyPhys(cpu, phys(cpu, 0), phys(cpu, n));
  cpu.fpuSw &= ~C1;
  if (popAfter) pop(cpu);
}

const FCMOV_CC = [2, 4, 6, 0xa];

function fcmov(cpu: Cpu, i: Insn, negate: boolean): void {
  begin(cpu, i);
  const n = i.rm & 7;
  if (isEmpty(cpu, 0) || isEmpty(cpu, n)) {
    underflow(cpu);
    if (masked(cpu, IE)) setSt(cpu, 0, INDEF);
    end(cpu);
    return;
  }
  if (condition(cpu, FCMOV_CC[i.reg & 3]! | (negate ? 1 : 0))) copyPhys(cpu, phys(cpu, n), phys(cpu, 0));
  cpu.fpuSw &= ~C1;
  end(cpu);
}

function comi(cpu: Cpu, i: Insn, unordered: boolean, popAfter: boolean): void {
  begin(cpu, i);
  const a = st(cpu, 0);
  const b = st(cpu, i.rm & 7);
  const c = compareCodes(cpu, a, b, unordered);
  setEflagsCompare(cpu, c);
  if (!blocked(cpu) && popAfter) pop(cpu);
  end(cpu);
}

function ucom(cpu: Cpu, i: Insn, pops: number): void {
  begin(cpu, i);
  const c = compareCodes(cpu, st(cpu, 0), st(cpu, pops === 2 ? 1 : i.rm & 7), true);
  if (!blocked(cpu)) {
    setCc(cpu, c);
    for (let k = 0; k < pops; k++) pop(cpu);
  }
  end(cpu);
}

const opD8: Handler = (cpu, i) => (i.mod === 3 ? regArith(cpu, i, false, false) : memArith(cpu, i, 0));
const opDA: Handler = (cpu, i) => {
  if (i.mod !== 3) {
    memArith(cpu, i, 1);
    return;
  }
  if ((i.reg & 7) < 4) {
    fcmov(cpu, i, false);
    return;
  }
  if ((i.reg & 7) === 5 && (i.rm & 7) === 1) {
    ucom(cpu, i, 2);
    return;
  } // FUCOMPP
  unimplemented(cpu, i);
};
const opDC: Handler = (cpu, i) => (i.mod === 3 ? regArith(cpu, i, true, false) : memArith(cpu, i, 2));
const opDE: Handler = (cpu, i) => {
  if (i.mod !== 3) {
    memArith(cpu, i, 3);
    return;
  }
  const reg = i.reg & 7;
  if (reg === 3) {
    if ((i.rm & 7) !== 1) {
      unimplemented(cpu, i);
      return;
    }
    // FCOMPP
    begin(cpu, i);
    const c = compareCodes(cpu, st(cpu, 0), st(cpu, 1), false);
    if (!blocked(cpu)) {
      setCc(cpu, c);
      pop(cpu);
      pop(cpu);
    }
    end(cpu);
    return;
  }
  regArith(cpu, i, true, reg !== 2);
};

const opD9: Handler = (cpu, i) => {
  const reg = i.reg & 7;
  if (i.mod === 3) {
    if (reg === 0) {
      // FLD ST(i)
      begin(cpu, i);
      const n = i.rm & 7;
      if (isEmpty(cpu, n)) {
        underflow(cpu);
        if (masked(cpu, IE)) push(cpu, INDEF);
        end(cpu);
        return;
      }
      const from = phys(cpu, n);
      if (pushSlot(cpu)) {
        cpu.fpuTop = (cpu.fpuTop - 1) & 7;
        copyPhys(cpu, from, cpu.fpuTop);
        cpu.fpuSw &= ~C1;
      }
      end(cpu);
      return;
    }
    if (reg === 1) {
      begin(cpu, i);
      fxch(cpu, i.rm & 7);
      end(cpu);
      return;
    }
    if (reg === 3) {
      // FSTP1 (an alias of FSTP ST(i))
      begin(cpu, i);
      storeSt(cpu, i.rm & 7, true);
      end(cpu);
      return;
    }
    if (reg === 2 && (i.rm & 7) !== 0) {
      unimplemented(cpu, i);
      return;
    }
    d9Special(cpu, i);
    return;
  }
  switch (reg) {
    case 0: {
      loadReal(cpu, i, 0);
      return;
    }
    case 2: {
      storeReal(cpu, i, 4, false);
      return;
    }
    case 3: {
      storeReal(cpu, i, 4, true);
      return;
    }
    case 4: {
      // FLDENV
      checkFpuAvailable(cpu);
      loadEnv(cpu, i, operandLinear(cpu, i, envFormat32(i) ? 28 : 14));
      return;
    }
    case 5: {
      // FLDCW
      checkFpuAvailable(cpu);
      if (cpu.fpuSw & ES) fault(MF);
      cpu.fpuCw = ((cpu.mem.read16(operandLinear(cpu, i, 2)) & 0x1f7f) | 0x40) & 0xffff;
      updateEs(cpu);
      return;
    }
    case 6: {
      // FNSTENV: then all exceptions masked
      beginControl(cpu);
      storeEnv(cpu, i, operandLinear(cpu, i, envFormat32(i) ? 28 : 14));
      cpu.fpuCw |= 0x3f;
      return;
    }
    case 7:
      beginControl(cpu);
      cpu.mem.write16(operandLinear(cpu, i, 2), cpu.fpuCw);
      return;
    default: {
      unimplemented(cpu, i);
      return;
    }
  }
};

const opDB: Handler = (cpu, i) => {
  const reg = i.reg & 7;
  if (i.mod === 3) {
    if (reg < 4) {
      fcmov(cpu, i, true);
      return;
    }
    if (reg === 5) {
      comi(cpu, i, true, false);
      return;
    }
    if (reg === 6) {
      comi(cpu, i, false, false);
      return;
    }
    if (reg === 4) {
      const rm = i.rm & 7;
      beginControl(cpu);
      if (rm === 2)
        cpu.fpuSw &= ~0x80ff; // FNCLEX
      else if (rm === 3) fninit(cpu);
      else if (rm > 4) unimplemented(cpu, i); // E0-E1 FENI/FDISI, E4 FSETPM: no-ops on 387+
      return;
    }
    unimplemented(cpu, i);
    return;
  }
  switch (reg) {
    case 0: {
      loadReal(cpu, i, 1);
      return;
    }
    case 1:
      begin(cpu, i);
      {
        storeInt(cpu, i, 4, true, true);
        return;
      }
    case 2:
      begin(cpu, i);
      {
        storeInt(cpu, i, 4, false, false);
        return;
      }
    case 3:
      begin(cpu, i);
      {
        storeInt(cpu, i, 4, true, false);
        return;
      }
    case 5: {
      loadReal(cpu, i, 10);
      return;
    }
    case 7: {
      storeReal(cpu, i, 10, true);
      return;
    }
    default: {
      unimplemented(cpu, i);
      return;
    }
  }
};

const opDD: Handler = (cpu, i) => {
  const reg = i.reg & 7;
  if (i.mod === 3) {
    begin(cpu, i);
    const n = i.rm & 7;
    switch (reg) {
      case 0: // FFREE
        cpu.fpuTags &= ~(1 << phys(cpu, n));
        break;
      case 1:
        fxch(cpu, n);
        break;
      case 2:
        storeSt(cpu, n, false);
        break;
      case 3:
        storeSt(cpu, n, true);
        break;
      case 4: {
        ucom(cpu, i, 0);
        return;
      }
      case 5: {
        ucom(cpu, i, 1);
        return;
      }
      default: {
        unimplemented(cpu, i);
        return;
      }
    }
    end(cpu);
    return;
  }
  switch (reg) {
    case 0: {
      loadReal(cpu, i, 2);
      return;
    }
    case 1:
      begin(cpu, i);
      {
        storeInt(cpu, i, 8, true, true);
        return;
      }
    case 2: {
      storeReal(cpu, i, 8, false);
      return;
    }
    case 3: {
      storeReal(cpu, i, 8, true);
      return;
    }
    case 4: {
      // FRSTOR
      checkFpuAvailable(cpu);
      const size = envFormat32(i) ? 28 : 14;
      const lin = operandLinear(cpu, i, size + 80);
      for (let k = 0; k < 8; k++) {
        rstLo[k] = cpu.mem.read64(lin + size + 10 * k);
        rstHi[k] = cpu.vHi;
        rstExp[k] = cpu.mem.read16(lin + size + 10 * k + 8) & 0xffff;
      }
      loadEnv(cpu, i, lin);
      for (let k = 0; k < 8; k++) {
        const p = phys(cpu, k);
        const tags = cpu.fpuTags;
        setRaw(cpu, p, rstLo[k]!, rstHi[k]!, rstExp[k]!);
        cpu.fpuTags = tags;
      }
      return;
    }
    case 6: {
      // FNSAVE, then FNINIT
      beginControl(cpu);
      const size = envFormat32(i) ? 28 : 14;
      const lin = operandLinear(cpu, i, size + 80);
      cpu.mem.probeWrite(lin, size + 80);
      storeEnv(cpu, i, lin);
      for (let k = 0; k < 8; k++) writeReg80(cpu, lin + size + 10 * k, phys(cpu, k));
      fninit(cpu);
      return;
    }
    case 7: // FNSTSW m16
      beginControl(cpu);
      cpu.mem.write16(operandLinear(cpu, i, 2), statusWord(cpu));
      return;
    default: {
      unimplemented(cpu, i);
      return;
    }
  }
};

const opDF: Handler = (cpu, i) => {
  const reg = i.reg & 7;
  if (i.mod === 3) {
    if (reg === 4 && (i.rm & 7) === 0) {
      // FNSTSW AX
      beginControl(cpu);
      cpu.lo[0] = (cpu.lo[0]! & ~0xffff) | statusWord(cpu);
      return;
    }
    if (reg === 5) {
      comi(cpu, i, true, true);
      return;
    }
    if (reg === 6) {
      comi(cpu, i, false, true);
      return;
    }
    if (reg === 0) {
      // FFREEP
      begin(cpu, i);
      cpu.fpuTags &= ~(1 << phys(cpu, i.rm & 7));
      pop(cpu);
      end(cpu);
      return;
    }
    unimplemented(cpu, i);
    return;
  }
  switch (reg) {
    case 0: {
      loadReal(cpu, i, 3);
      return;
    }
    case 1:
      begin(cpu, i);
      {
        storeInt(cpu, i, 2, true, true);
        return;
      }
    case 2:
      begin(cpu, i);
      {
        storeInt(cpu, i, 2, false, false);
        return;
      }
    case 3:
      begin(cpu, i);
      {
        storeInt(cpu, i, 2, true, false);
        return;
      }
    case 5: {
      // FILD m64
      begin(cpu, i);
      const lin = memOperand(cpu, i, 8);
      const lo = cpu.mem.read64(lin);
      loadInt64(cpu, lo, cpu.vHi);
      if (!(ex & SF)) cpu.fpuSw &= ~C1;
      end(cpu);
      return;
    }
    case 7:
      begin(cpu, i);
      {
        storeInt(cpu, i, 8, true, false);
        return;
      }
    default: {
      unimplemented(cpu, i);
      return;
    } // FBLD, FBSTP
  }
};

def(0xd8, opD8);
def(0xd9, opD9);
def(0xda, opDA);
def(0xdb, opDB);
def(0xdc, opDC);
def(0xdd, opDD);
def(0xde, opDE);
def(0xdf, opDF);
// FWAIT: #NM with CR0.TS and MP; a pending unmasked exception raises #MF.
def(0x9b, (cpu) => {
  checkWaitAvailable(cpu);
  if (cpu.fpuSw & ES) fault(MF);
});

/** MMX instructions: the pending-exception check, then the MMX state (TOP = 0, every register valid). */
export function enterMmx(cpu: Cpu): void {
  checkFpuAvailable(cpu, true);
  if (cpu.fpuSw & ES) fault(MF);
  cpu.fpuTop = 0;
  cpu.fpuTags = 0xff;
}

// EMMS: every register empty.
def(MAP_0F + 0x77, (cpu) => {
  checkFpuAvailable(cpu, true);
  if (cpu.fpuSw & ES) fault(MF);
  cpu.fpuTags = 0;
  cpu.fpuTop = 0;
});

// ---- FXSAVE / FXRSTOR (0F AE /0 /1; REX.W: 64-bit instruction and data pointers) ----
const FX_MXCSR_MASK = 0xffff;

function fxLinear(cpu: Cpu, i: Insn): number {
  if (i.mod === 3) ud();
  checkFpuAvailable(cpu);
  const lin = cpu.mem.linear(i.seg, effectiveAddress(cpu, i), 512);
  if (lin % 16 !== 0) gp(0);
  return lin;
}

defGroup(MAP_0F + 0xae, 0, (cpu, i) => {
  const lin = fxLinear(cpu, i);
  const m = cpu.mem;
  m.probeWrite(lin, 512);
  m.write16(lin, cpu.fpuCw);
  m.write16(lin + 2, statusWord(cpu));
  m.write16(lin + 4, cpu.fpuTags & 0xff);
  m.write16(lin + 6, cpu.fpuOp);
  if (i.opsize === 8) {
    m.write64(lin + 8, cpu.fpuIp | 0, Math.floor(cpu.fpuIp / 4294967296) | 0);
    m.write64(lin + 16, cpu.fpuDp | 0, Math.floor(cpu.fpuDp / 4294967296) | 0);
  } else {
    m.write32(lin + 8, cpu.fpuIp | 0);
    m.write32(lin + 12, cpu.fpuCs & 0xffff);
    m.write32(lin + 16, cpu.fpuDp | 0);
    m.write32(lin + 20, cpu.fpuDs & 0xffff);
  }
  m.write32(lin + 24, cpu.mxcsr);
  m.write32(lin + 28, FX_MXCSR_MASK);
  for (let k = 0; k < 8; k++) {
    writeReg80(cpu, lin + 32 + 16 * k, phys(cpu, k));
    m.write16(lin + 42 + 16 * k, 0);
    m.write32(lin + 44 + 16 * k, 0);
  }
  if (cpu.cr4 & CR4_OSFXSR) {
    const n = cpu.codeSize === 8 ? 16 : 8;
    for (let k = 0; k < n * 4; k++) m.write32(lin + 160 + 4 * k, cpu.xmm[k]!);
  }
});

defGroup(MAP_0F + 0xae, 1, (cpu, i) => {
  const lin = fxLinear(cpu, i);
  const m = cpu.mem;
  const mxcsr = m.read32(lin + 24);
  if (mxcsr & ~FX_MXCSR_MASK) gp(0);
  m.read32(lin + 508); // the whole area is readable before anything changes
  for (let k = 0; k < 8; k++) {
    rstLo[k] = m.read64(lin + 32 + 16 * k);
    rstHi[k] = cpu.vHi;
    rstExp[k] = m.read16(lin + 40 + 16 * k) & 0xffff;
  }
  const cw = m.read16(lin) & 0xffff;
  const sw = m.read16(lin + 2) & 0xffff;
  const tags = m.read16(lin + 4) & 0xff;
  const op = m.read16(lin + 6) & 0x7ff;
  let ip: number;
  let dp: number;
  let cs = 0;
  let ds = 0;
  if (i.opsize === 8) {
    const l = m.read64(lin + 8);
    ip = cpu.vHi * 4294967296 + (l >>> 0);
    const d = m.read64(lin + 16);
    dp = cpu.vHi * 4294967296 + (d >>> 0);
  } else {
    ip = m.read32(lin + 8) >>> 0;
    cs = m.read16(lin + 12) & 0xffff;
    dp = m.read32(lin + 16) >>> 0;
    ds = m.read16(lin + 20) & 0xffff;
  }
  if (cpu.cr4 & CR4_OSFXSR) {
    const n = cpu.codeSize === 8 ? 16 : 8;
    for (let k = 0; k < n * 4; k++) cpu.xmm[k] = m.read32(lin + 160 + 4 * k);
  }
  cpu.mxcsr = mxcsr;
  cpu.fpuCw = (cw & 0x1f7f) | 0x40;
  cpu.fpuTop = (sw >> 11) & 7;
  cpu.fpuSw = sw & ~0x3800;
  cpu.fpuOp = op;
  cpu.fpuIp = ip;
  cpu.fpuDp = dp;
  cpu.fpuCs = cs;
  cpu.fpuDs = ds;
  for (let k = 0; k < 8; k++) setRaw(cpu, phys(cpu, k), rstLo[k]!, rstHi[k]!, rstExp[k]!);
  cpu.fpuTags = tags;
  updateEs(cpu);
});
