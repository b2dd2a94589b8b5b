// Multiplication and division: MUL, IMUL, DIV, IDIV (group 3: F6/F7 /4-/7), IMUL r, r/m (0F AF) and
// IMUL r, r/m, imm (69, 6B) on 8-, 16-, 32- and 64-bit operands (Intel SDM vol. 2, "MUL", "IMUL", "DIV",
// "IDIV"). Products up to 128 bits are computed on 32-bit limbs (no BigInt: IMUL r64 is common in compiled
// code); 128-by-64-bit division uses BigInt (it is rare).
//
// Flags: MUL sets CF = OF = (upper half of the product != 0); IMUL sets CF = OF = (the product does not fit
// the destination, i.e. differs from its truncation sign-extended). SF, ZF, AF and PF are undefined: as an
// Intel Xeon does (measured natively), SF is the sign of the low half of the product, PF its low byte's parity,
// and ZF and AF are cleared, even for a zero product. DIV and IDIV leave every flag undefined: Intel leaves them
// unchanged, and so do we. #DE for a zero divisor or a quotient that
// does not fit; the registers are then unchanged.
import type { Cpu } from "../cpu.js";
import { RAX, RDX } from "../cpu.js";
import { DE, fault } from "../fault.js";
import { CF, OF, PARITY, SF, SIGN } from "../flags.js";
import type { Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import { immediate, readReg, readRm, writeReg } from "../operands.js";

// ---- 32- and 64-bit products on limbs ----

/** High half of the last mul32u (unsigned). */
let mHi = 0;

/** Unsigned 32 x 32 -> 64: low half returned (unsigned), high half in mHi (unsigned). */
function mul32u(a: number, b: number): number {
  a >>>= 0;
  b >>>= 0;
  const a0 = a & 0xffff;
  const a1 = a >>> 16;
  const b0 = b & 0xffff;
  const b1 = b >>> 16;
  const ll = a0 * b0;
  const lh = a0 * b1;
  const hl = a1 * b0;
  const mid = (ll >>> 16) + (lh & 0xffff) + (hl & 0xffff);
  mHi = (a1 * b1 + (lh >>> 16) + (hl >>> 16) + Math.floor(mid / 65536)) >>> 0;
  return (((mid & 0xffff) << 16) | (ll & 0xffff)) >>> 0;
}

/** Signed 32 x 32 -> 64: low half returned (unsigned), high half in mHi (signed int32). */
function mul32s(a: number, b: number): number {
  const lo = mul32u(a, b);
  let hi = mHi;
  if ((a | 0) < 0) hi -= b >>> 0;
  if ((b | 0) < 0) hi -= a >>> 0;
  mHi = hi | 0;
  return lo;
}

/** The 128-bit product's four 32-bit words, low first (unsigned). */
const P = new Float64Array(4);

/** 64 x 64 -> 128, unsigned or signed (two's complement), into P. */
function mul64(aLo: number, aHi: number, bLo: number, bHi: number, signed: boolean): void {
  const x0 = mul32u(aLo, bLo);
  const x1 = mHi;
  const y0 = mul32u(aLo, bHi);
  const y1 = mHi;
  const z0 = mul32u(aHi, bLo);
  const z1 = mHi;
  const w0 = mul32u(aHi, bHi);
  const w1 = mHi;
  const s1 = x1 + y0 + z0;
  const c1 = Math.floor(s1 / 4294967296);
  const s2 = y1 + z1 + w0 + c1;
  const c2 = Math.floor(s2 / 4294967296);
  let p2 = s2 % 4294967296;
  let p3 = (w1 + c2) % 4294967296;
  if (signed) {
    // Two's complement: subtract the other operand from the high 64 bits for each negative operand.
    if ((aHi | 0) < 0) {
      const d = p2 - (bLo >>> 0);
      p2 = d < 0 ? d + 4294967296 : d;
      p3 = (p3 - (bHi >>> 0) - (d < 0 ? 1 : 0)) >>> 0;
    }
    if ((bHi | 0) < 0) {
      const d = p2 - (aLo >>> 0);
      p2 = d < 0 ? d + 4294967296 : d;
      p3 = (p3 - (aHi >>> 0) - (d < 0 ? 1 : 0)) >>> 0;
    }
  }
  P[0] = x0;
  P[1] = s1 % 4294967296;
  P[2] = p2;
  P[3] = p3 >>> 0;
}

/** Flags of a multiplication: CF = OF = overflow; SF and PF from the low result of `size` bytes; ZF = AF = 0. */
function mulFlags(cpu: Cpu, size: number, lo: number, hi: number, overflow: boolean): void {
  const sp = PARITY[lo & 0xff]! | ((size === 8 ? (hi | 0) < 0 : lo & SIGN[size]!) ? SF : 0);
  cpu.flags.setEager(sp | (overflow ? CF | OF : 0));
}

// ---- MUL, IMUL (one operand) ----

function mul1(cpu: Cpu, i: Insn, size: number, signed: boolean): void {
  const b = readRm(cpu, i, size);
  const bHi = cpu.vHi;
  switch (size) {
    case 1: {
      const a = cpu.lo[RAX]! & 0xff;
      const r = signed ? (((a << 24) >> 24) * ((b << 24) >> 24)) & 0xffff : a * b;
      writeReg(cpu, i, RAX, 2, r);
      const of = signed ? (r << 24) >> 24 !== (r << 16) >> 16 : r > 0xff;
      mulFlags(cpu, 1, r & 0xff, 0, of);
      return;
    }
    case 2: {
      const a = cpu.lo[RAX]! & 0xffff;
      const r = signed ? (((a << 16) >> 16) * ((b << 16) >> 16)) | 0 : a * b;
      writeReg(cpu, i, RAX, 2, r & 0xffff);
      writeReg(cpu, i, RDX, 2, (r >>> 16) & 0xffff);
      const of = signed ? (r << 16) >> 16 !== r : r > 0xffff;
      mulFlags(cpu, 2, r & 0xffff, 0, of);
      return;
    }
    case 4: {
      const a = cpu.lo[RAX]!;
      const lo = signed ? mul32s(a, b) : mul32u(a, b);
      const hi = mHi;
      writeReg(cpu, i, RAX, 4, lo | 0);
      writeReg(cpu, i, RDX, 4, hi | 0);
      const of = signed ? (hi | 0) !== (lo | 0) >> 31 : hi !== 0;
      mulFlags(cpu, 4, lo, 0, of);
      return;
    }
    default: {
      mul64(cpu.lo[RAX]!, cpu.hi[RAX]!, b, bHi, signed);
      const lo = P[0]!;
      const hi = P[1]!;
      const ext = signed && (hi | 0) < 0 ? 0xffffffff : 0;
      const of = P[2] !== ext || P[3] !== ext;
      cpu.lo[RAX] = lo;
      cpu.hi[RAX] = hi;
      cpu.lo[RDX] = P[2]!;
      cpu.hi[RDX] = P[3]!;
      mulFlags(cpu, 8, lo, hi | 0, signed ? of : P[2] !== 0 || P[3] !== 0);
    }
  }
}

// ---- IMUL r, r/m and IMUL r, r/m, imm ----

/** dest = a * b truncated to `size` (2, 4, 8), signed, with CF = OF = overflow. */
function imulTrunc(cpu: Cpu, i: Insn, size: number, a: number, aHi: number, b: number, bHi: number): void {
  if (size === 2) {
    const r = ((a << 16) >> 16) * ((b << 16) >> 16);
    writeReg(cpu, i, i.reg, 2, r & 0xffff);
    mulFlags(cpu, 2, r & 0xffff, 0, (r << 16) >> 16 !== r);
  } else if (size === 4) {
    const lo = mul32s(a, b);
    const hi = mHi;
    writeReg(cpu, i, i.reg, 4, lo | 0);
    mulFlags(cpu, 4, lo, 0, hi !== (lo | 0) >> 31);
  } else {
    mul64(a, aHi, b, bHi, true);
    const lo = P[0]!;
    const hi = P[1]!;
    const ext = (hi | 0) < 0 ? 0xffffffff : 0;
    writeReg(cpu, i, i.reg, 8, lo | 0, hi | 0);
    mulFlags(cpu, 8, lo, hi | 0, P[2] !== ext || P[3] !== ext);
  }
}

def(MAP_0F + 0xaf, (cpu, i) => {
  const size = i.opsize;
  const b = readRm(cpu, i, size);
  const bHi = cpu.vHi;
  const a = readReg(cpu, i, i.reg, size);
  imulTrunc(cpu, i, size, a, cpu.vHi, b, bHi);
});
// 69 (imm16/32, sign-extended to 64) and 6B (imm8 sign-extended): the decoder stored both sign-extended.
for (const op of [0x69, 0x6b]) {
  def(op, (cpu, i) => {
    const size = i.opsize;
    const a = readRm(cpu, i, size);
    const aHi = cpu.vHi;
    const b = immediate(cpu, i, size);
    imulTrunc(cpu, i, size, a, aHi, b, cpu.vHi);
  });
}

// ---- DIV, IDIV ----

/** Quotient and remainder of the last division helper. */
let qOut = 0;
let rOut = 0;

/**
 * Unsigned (hi * 2^32 + lo) / d with hi < d (so the quotient fits 32 bits): exact in doubles by dividing
 * 16 bits at a time.
 */
function div64by32(hi: number, lo: number, d: number): void {
  let r = hi;
  let x = r * 65536 + (lo >>> 16);
  const q1 = Math.floor(x / d);
  r = x - q1 * d;
  x = r * 65536 + (lo & 0xffff);
  const q0 = Math.floor(x / d);
  rOut = x - q0 * d;
  qOut = q1 * 65536 + q0;
}

function div1(cpu: Cpu, i: Insn, size: number, signed: boolean): void {
  const d = readRm(cpu, i, size);
  const dHi = cpu.vHi;
  switch (size) {
    case 1: {
      if (d === 0) fault(DE);
      const n = cpu.lo[RAX]! & 0xffff;
      let q: number;
      let r: number;
      if (signed) {
        const sn = (n << 16) >> 16;
        const sd = (d << 24) >> 24;
        q = Math.trunc(sn / sd);
        r = sn - q * sd;
        if (q > 127 || q < -128) fault(DE);
      } else {
        q = Math.floor(n / d);
        r = n - q * d;
        if (q > 0xff) fault(DE);
      }
      writeReg(cpu, i, RAX, 2, (q & 0xff) | ((r & 0xff) << 8));
      return;
    }
    case 2: {
      if (d === 0) fault(DE);
      const n = (cpu.lo[RDX]! & 0xffff) * 65536 + (cpu.lo[RAX]! & 0xffff);
      let q: number;
      let r: number;
      if (signed) {
        const sn = n | 0;
        const sd = (d << 16) >> 16;
        q = Math.trunc(sn / sd);
        r = sn - q * sd;
        if (q > 32767 || q < -32768) fault(DE);
      } else {
        q = Math.floor(n / d);
        r = n - q * d;
        if (q > 0xffff) fault(DE);
      }
      writeReg(cpu, i, RAX, 2, q & 0xffff);
      writeReg(cpu, i, RDX, 2, r & 0xffff);
      return;
    }
    case 4: {
      if (d === 0) fault(DE);
      let hi = cpu.lo[RDX]! >>> 0;
      let lo = cpu.lo[RAX]! >>> 0;
      if (!signed) {
        if (hi >= d) fault(DE);
        div64by32(hi, lo, d);
        writeReg(cpu, i, RAX, 4, qOut | 0);
        writeReg(cpu, i, RDX, 4, rOut | 0);
        return;
      }
      const negN = (hi | 0) < 0;
      if (negN) {
        // |dividend| as a 64-bit pair.
        lo = (-lo >>> 0) | 0;
        hi = (~hi + (lo === 0 ? 1 : 0)) >>> 0;
        lo >>>= 0;
      }
      const sd = d | 0;
      const ad = Math.abs(sd);
      if (hi >= ad) fault(DE);
      div64by32(hi, lo, ad);
      const neg = negN !== sd < 0;
      if (qOut > (neg ? 0x80000000 : 0x7fffffff)) fault(DE);
      writeReg(cpu, i, RAX, 4, (neg ? -qOut : qOut) | 0);
      writeReg(cpu, i, RDX, 4, (negN ? -rOut : rOut) | 0);
      return;
    }
    default: {
      if ((d | dHi) === 0) fault(DE);
      if (div64Fast(cpu, d, dHi, signed)) return;
      const n = (cpu.regBig(RDX) << 64n) | cpu.regBig(RAX);
      const dv = (BigInt(dHi >>> 0) << 32n) | BigInt(d >>> 0);
      let q: bigint;
      let r: bigint;
      if (signed) {
        const sn = BigInt.asIntN(128, n);
        const sd = BigInt.asIntN(64, dv);
        q = sn / sd;
        r = sn % sd;
        if (q > 0x7fffffffffffffffn || q < -0x8000000000000000n) fault(DE);
      } else {
        q = n / dv;
        r = n % dv;
        if (q > 0xffffffffffffffffn) fault(DE);
      }
      cpu.setRegBig(RAX, BigInt.asUintN(64, q));
      cpu.setRegBig(RDX, BigInt.asUintN(64, r));
    }
  }
}

const TWO53 = 2 ** 53;

/**
 * 128-by-64-bit division without BigInt in the common cases: a dividend and divisor below 2^53 in magnitude
 * (floor(x / d) of doubles is exact for x < 2^53), or an unsigned divisor below 2^32 (16 bits at a time).
 * Returns false to leave the rest to BigInt.
 */
function div64Fast(cpu: Cpu, d: number, dHi: number, signed: boolean): boolean {
  const nLo = cpu.lo[RAX]!;
  const nHi = cpu.hi[RAX]!;
  const top = cpu.lo[RDX]! | cpu.hi[RDX]!;
  if (signed) {
    // RDX must be RAX's sign extension, and both operands below 2^53 in magnitude.
    const ext = nHi < 0 ? -1 : 0;
    if (cpu.lo[RDX] !== ext || cpu.hi[RDX] !== ext) return false;
    const n = nHi * 4294967296 + (nLo >>> 0);
    const dv = dHi * 4294967296 + (d >>> 0);
    if (n >= TWO53 || n <= -TWO53 || dv >= TWO53 || dv <= -TWO53) return false;
    const q = Math.trunc(n / dv);
    cpu.setRegNumber(RAX, q);
    cpu.setRegNumber(RDX, n - q * dv);
    return true;
  }
  if (top === 0 && nHi >>> 0 < 0x200000 && dHi >>> 0 < 0x200000) {
    const n = (nHi >>> 0) * 4294967296 + (nLo >>> 0);
    const dv = (dHi >>> 0) * 4294967296 + (d >>> 0);
    const q = Math.floor(n / dv);
    cpu.setRegNumber(RAX, q);
    cpu.setRegNumber(RDX, n - q * dv);
    return true;
  }
  if (dHi !== 0) return false;
  // Divisor below 2^32: RDX < divisor keeps the quotient within 64 bits; long division 16 bits at a time.
  const dv = d >>> 0;
  if (cpu.hi[RDX] !== 0 || cpu.lo[RDX]! >>> 0 >= dv) return false;
  let r = cpu.lo[RDX]! >>> 0;
  let qHi = 0;
  let qLo = 0;
  for (let k = 3; k >= 0; k--) {
    const chunk = k >= 2 ? (nHi >>> ((k - 2) * 16)) & 0xffff : (nLo >>> (k * 16)) & 0xffff;
    const x = r * 65536 + chunk;
    const q = Math.floor(x / dv);
    r = x - q * dv;
    if (k >= 2) qHi = qHi * 65536 + q;
    else qLo = qLo * 65536 + q;
  }
  cpu.lo[RAX] = qLo;
  cpu.hi[RAX] = qHi;
  cpu.lo[RDX] = r;
  cpu.hi[RDX] = 0;
  return true;
}

for (const opcode of [0xf6, 0xf7]) {
  const sizeOf = (i: Insn) => (opcode === 0xf7 ? i.opsize : 1);
  defGroup(opcode, 4, (cpu, i) => mul1(cpu, i, sizeOf(i), false));
  defGroup(opcode, 5, (cpu, i) => mul1(cpu, i, sizeOf(i), true));
  defGroup(opcode, 6, (cpu, i) => div1(cpu, i, sizeOf(i), false));
  defGroup(opcode, 7, (cpu, i) => div1(cpu, i, sizeOf(i), true));
}
