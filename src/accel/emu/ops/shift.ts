// Shifts and rotates: group 2 (C0, C1, D0-D3: ROL, ROR, RCL, RCR, SHL/SAL, SHR, SAR) and the double
// shifts SHLD/SHRD (0F A4, A5, AC, AD), on 8-, 16-, 32- and 64-bit operands (Intel SDM vol. 2,
// "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR", "SHLD", "SHRD").
//
// The count is masked to 5 bits (6 with a 64-bit operand); a masked count of 0 changes no flag (the memory
// operand is still read, so its faults still happen, and a 32-bit register is still written, so its upper half
// is cleared, as Intel processors do). What the SDM leaves undefined follows what an Intel Xeon does (measured
// by running these instructions natively against the emulator over all 8-bit operands and counts and random
// wider ones):
//   - OF after a count above 1: the count-1 formula applied to the first one-bit step, i.e. to the original
//     operand (SHL/SAL, ROL, RCL: MSB XOR the bit below it; SHR: MSB; SAR: 0; ROR: MSB XOR LSB; RCR: MSB XOR
//     CF); the same for SHLD (MSB(DEST) XOR the bit below it) and SHRD (MSB(DEST) XOR LSB(SRC)). Except ROL
//     and ROR by an immediate count above 1 (C0, C1), which leave OF unchanged.
//   - AF after a shift (SHL, SHR, SAR, SHLD, SHRD) with a non-zero count: cleared. Rotates leave it.
//   - RCL/RCR of an 8- or 16-bit operand by a multiple of 9 or 17: nothing moves and no flag changes.
//   - CF after SHL/SHR by at least the operand width (8/16-bit operands only): the last bit shifted out of an
//     operand extended with zeros, i.e. 0 past the width (SAR: the sign bit).
//   - SHLD/SHRD of a 16-bit operand by 17-31: the result of shifting the 48-bit string DEST:SRC:DEST; CF is
//     the last bit shifted out of it.
import type { Cpu } from "../cpu.js";
import { RCX } from "../cpu.js";
import { ARITH, CF, MASK, OF, PARITY, SF, SIGN, ZF } from "../flags.js";
import type { Insn } from "../insn.js";
import { MAP_0F } from "../insn.js";
import { def, defGroup } from "../opcodes.js";
import { operandLinear, readMem, readReg, writeMem, writeReg } from "../operands.js";

const ROL = 0;
const ROR = 1;
const RCL = 2;
const RCR = 3;
const SHR = 5;
const SAR = 7;

/** The high half of the last 64-bit result (no allocation for pairs). */
let H = 0;

/** 64-bit left shift by 0..64 of (lo, hi): low half returned, high half in H. */
function shl64(lo: number, hi: number, n: number): number {
  if (n === 0) {
    H = hi | 0;
    return lo | 0;
  }
  if (n < 32) {
    H = (hi << n) | (lo >>> (32 - n));
    return lo << n;
  }
  H = n < 64 ? lo << (n - 32) : 0;
  return 0;
}

/** 64-bit logical right shift by 0..64. */
function shr64(lo: number, hi: number, n: number): number {
  if (n === 0) {
    H = hi | 0;
    return lo | 0;
  }
  if (n < 32) {
    H = hi >>> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  H = 0;
  return n < 64 ? hi >>> (n - 32) : 0;
}

/** 64-bit arithmetic right shift by 0..63. */
function sar64(lo: number, hi: number, n: number): number {
  if (n === 0) {
    H = hi | 0;
    return lo | 0;
  }
  if (n < 32) {
    H = hi >> n;
    return (lo >>> n) | (hi << (32 - n));
  }
  H = hi >> 31;
  return hi >> (n - 32);
}

/** Bit k (0..63) of (lo, hi). */
function bit64(lo: number, hi: number, k: number): number {
  return k < 32 ? (lo >>> k) & 1 : (hi >>> (k - 32)) & 1;
}

/** SF, ZF and PF of a result of `size` bytes (1-4). */
function szp(size: number, r: number): number {
  return PARITY[r & 0xff]! | ((r & MASK[size]!) === 0 ? ZF : 0) | (r & SIGN[size]! ? SF : 0);
}

function szp64(lo: number, hi: number): number {
  return PARITY[lo & 0xff]! | ((lo | hi) === 0 ? ZF : 0) | (hi < 0 ? SF : 0);
}

/** Flags a shift or rotate computed: the bits, and which of them it affects. */
let flagBits = 0;
let flagMask = 0;

/**
 * Group 2 on a value of 1, 2 or 4 bytes (unsigned), `n` the masked count (1..31). Returns the result and
 * leaves the flags in flagBits/flagMask.
 */
function shiftSmall(kind: number, size: number, a: number, n: number, cfIn: number, imm: boolean): number {
  const w = size * 8;
  const mask = MASK[size]!;
  const sign = SIGN[size]!;
  let r: number;
  let c: number;
  switch (kind) {
    case ROL: {
      const k = n & (w - 1);
      r = k === 0 ? a : ((a << k) | (a >>> (w - k))) & mask;
      c = r & 1;
      flagMask = imm && n > 1 ? CF : CF | OF;
      flagBits = c | ((a ^ (a << 1)) & sign ? OF : 0);
      return r >>> 0;
    }
    case ROR: {
      const k = n & (w - 1);
      r = k === 0 ? a : ((a >>> k) | (a << (w - k))) & mask;
      c = r & sign ? 1 : 0;
      flagMask = imm && n > 1 ? CF : CF | OF;
      flagBits = c | ((a & 1) ^ (a & sign ? 1 : 0) ? OF : 0);
      return r >>> 0;
    }
    case RCL: {
      // A (w+1)-bit rotation through CF: the count is taken modulo 9 and 17 for 8- and 16-bit operands.
      const k = w === 32 ? n : n % (w + 1);
      flagMask = CF | OF;
      if (k === 0) {
        // A count that is a multiple of 9 (17): nothing moves and no flag changes.
        flagMask = 0;
        r = a;
        c = cfIn;
      } else {
        r = (a << k) | (cfIn << (k - 1));
        if (k > 1) r |= a >>> (w + 1 - k);
        r &= mask;
        c = (a >>> (w - k)) & 1;
      }
      flagBits = c | ((a ^ (a << 1)) & sign ? OF : 0);
      return r >>> 0;
    }
    case RCR: {
      const k = w === 32 ? n : n % (w + 1);
      flagMask = CF | OF;
      if (k === 0) {
        // A count that is a multiple of 9 (17): nothing moves and no flag changes.
        flagMask = 0;
        r = a;
        c = cfIn;
      } else {
        r = (a >>> k) | (cfIn << (w - k));
        if (k > 1) r |= a << (w + 1 - k);
        r &= mask;
        c = (a >>> (k - 1)) & 1;
      }
      flagBits = c | (((a & sign ? 1 : 0) ^ cfIn) !== 0 ? OF : 0);
      return r >>> 0;
    }
    case SHR: {
      r = n >= w ? 0 : a >>> n;
      c = n > w ? 0 : (a >>> (n - 1)) & 1;
      flagMask = ARITH;
      flagBits = c | szp(size, r) | (a & sign ? OF : 0);
      return r >>> 0;
    }
    case SAR: {
      const s = (a << (32 - w)) >> (32 - w);
      r = (s >> n) & mask;
      c = (s >> (n - 1)) & 1;
      flagMask = ARITH;
      flagBits = c | szp(size, r);
      return r >>> 0;
    }
    default: {
      // SHL and SAL (/4 and /6).
      r = n >= 32 ? 0 : (a << n) & mask;
      c = n > w ? 0 : (a >>> (w - n)) & 1;
      flagMask = ARITH;
      flagBits = c | szp(size, r) | ((a ^ (a << 1)) & sign ? OF : 0);
      return r >>> 0;
    }
  }
}

/** Group 2 on a 64-bit value; `n` the masked count (1..63). Low half returned, high half in H. */
function shift64(kind: number, a: number, aHi: number, n: number, cfIn: number, imm: boolean): number {
  let lo: number;
  let hi: number;
  let c: number;
  flagMask = CF | OF;
  switch (kind) {
    case ROL: {
      lo = shl64(a, aHi, n);
      hi = H;
      lo |= shr64(a, aHi, 64 - n);
      hi |= H;
      c = lo & 1;
      if (imm && n > 1) flagMask = CF;
      flagBits = c | ((aHi ^ (aHi << 1)) < 0 ? OF : 0);
      break;
    }
    case ROR: {
      lo = shr64(a, aHi, n);
      hi = H;
      lo |= shl64(a, aHi, 64 - n);
      hi |= H;
      c = hi < 0 ? 1 : 0;
      if (imm && n > 1) flagMask = CF;
      flagBits = c | ((a & 1) ^ (aHi < 0 ? 1 : 0) ? OF : 0);
      break;
    }
    case RCL: {
      lo = shl64(a, aHi, n);
      hi = H;
      if (n - 1 < 32) lo |= cfIn << (n - 1);
      else hi |= cfIn << (n - 33);
      lo |= shr64(a, aHi, 65 - n);
      hi |= H;
      c = bit64(a, aHi, 64 - n);
      flagBits = c | ((aHi ^ (aHi << 1)) < 0 ? OF : 0);
      break;
    }
    case RCR: {
      lo = shr64(a, aHi, n);
      hi = H;
      if (64 - n < 32) lo |= cfIn << (64 - n);
      else hi |= cfIn << (32 - n);
      lo |= shl64(a, aHi, 65 - n);
      hi |= H;
      c = bit64(a, aHi, n - 1);
      flagBits = c | ((aHi < 0 ? 1 : 0) ^ cfIn ? OF : 0);
      break;
    }
    case SHR: {
      lo = shr64(a, aHi, n);
      hi = H;
      c = bit64(a, aHi, n - 1);
      flagMask = ARITH;
      flagBits = c | szp64(lo, hi) | (aHi < 0 ? OF : 0);
      break;
    }
    case SAR: {
      lo = sar64(a, aHi, n);
      hi = H;
      c = bit64(a, aHi, n - 1);
      flagMask = ARITH;
      flagBits = c | szp64(lo, hi);
      break;
    }
    default: {
      lo = shl64(a, aHi, n);
      hi = H;
      c = bit64(a, aHi, 64 - n);
      flagMask = ARITH;
      flagBits = c | szp64(lo, hi) | ((aHi ^ (aHi << 1)) < 0 ? OF : 0);
      break;
    }
  }
  H = hi | 0;
  return lo >>> 0;
}

/** Merges the computed flags into the status flags (only those the instruction affects). */
function commitFlags(cpu: Cpu): void {
  const f = cpu.flags;
  if (flagMask === ARITH) f.setEager(flagBits);
  else if (flagMask !== 0) f.setEager((f.get() & ~flagMask) | (flagBits & flagMask));
}

/** Group 2 on the r/m operand of `size` bytes by `count` (unmasked). */
function group2(cpu: Cpu, i: Insn, size: number, count: number, imm: boolean): void {
  const kind = i.reg & 7;
  const n = count & (size === 8 ? 0x3f : 0x1f);
  const mem = i.mod !== 3;
  const lin = mem ? operandLinear(cpu, i, size) : 0;
  const a = mem ? readMem(cpu, lin, size) : readReg(cpu, i, i.rm, size);
  const aHi = cpu.vHi;
  if (n === 0) {
    // Nothing shifts and no flag changes, but a 32-bit register is still written (zero-extended).
    if (!mem && size === 4) writeReg(cpu, i, i.rm, 4, a);
    return;
  }
  const cfIn = kind === RCL || kind === RCR ? cpu.flags.cf() : 0;
  let r: number;
  let rHi = 0;
  if (size === 8) {
    r = shift64(kind, a, aHi, n, cfIn, imm);
    rHi = H;
  } else {
    r = shiftSmall(kind, size, a, n, cfIn, imm);
  }
  if (mem) writeMem(cpu, lin, size, r, rHi);
  else writeReg(cpu, i, i.rm, size, r, rHi);
  commitFlags(cpu);
}

for (let reg = 0; reg < 8; reg++) {
  // /6 is SAL, an alias of SHL (SDM table A-6 leaves it undocumented; processors execute it as SHL).
  defGroup(0xc0, reg, (cpu, i) => group2(cpu, i, 1, i.imm, true));
  defGroup(0xc1, reg, (cpu, i) => group2(cpu, i, i.opsize, i.imm, true));
  defGroup(0xd0, reg, (cpu, i) => group2(cpu, i, 1, 1, false));
  defGroup(0xd1, reg, (cpu, i) => group2(cpu, i, i.opsize, 1, false));
  defGroup(0xd2, reg, (cpu, i) => group2(cpu, i, 1, cpu.lo[RCX]!, false));
  defGroup(0xd3, reg, (cpu, i) => group2(cpu, i, i.opsize, cpu.lo[RCX]!, false));
}

/** SHLD (left) / SHRD (right) r/m, r by `count`. */
function doubleShift(cpu: Cpu, i: Insn, left: boolean, count: number): void {
  const size = i.opsize;
  const n = count & (size === 8 ? 0x3f : 0x1f);
  const mem = i.mod !== 3;
  const lin = mem ? operandLinear(cpu, i, size) : 0;
  const d = mem ? readMem(cpu, lin, size) : readReg(cpu, i, i.rm, size);
  const dHi = cpu.vHi;
  const s = readReg(cpu, i, i.reg, size);
  const sHi = cpu.vHi;
  if (n === 0) {
    if (!mem && size === 4) writeReg(cpu, i, i.rm, 4, d);
    return;
  }
  let r: number;
  let rHi = 0;
  let c: number;
  let fl: number;
  if (size === 8) {
    if (left) {
      r = shl64(d, dHi, n) | shr64(s, sHi, 64 - n);
      rHi = H;
      shl64(d, dHi, n);
      rHi |= H;
      c = bit64(d, dHi, 64 - n);
    } else {
      r = shr64(d, dHi, n);
      rHi = H;
      r |= shl64(s, sHi, 64 - n);
      rHi |= H;
      c = bit64(d, dHi, n - 1);
    }
    r >>>= 0;
    fl = c | szp64(r, rHi) | ((left ? (dHi ^ (dHi << 1)) < 0 : (dHi < 0 ? 1 : 0) ^ (s & 1)) ? OF : 0);
  } else if (size === 4) {
    if (left) {
      r = ((d << n) | (s >>> (32 - n))) >>> 0;
      c = (d >>> (32 - n)) & 1;
    } else {
      r = ((d >>> n) | (s << (32 - n))) >>> 0;
      c = (d >>> (n - 1)) & 1;
    }
    fl = c | szp(4, r) | ((left ? (d ^ (d << 1)) & 0x80000000 : (d >>> 31) ^ (s & 1)) ? OF : 0);
  } else {
    // The 48-bit string DEST:SRC:DEST (exact in a double).
    const p = d * 4294967296 + s * 65536 + d;
    if (left) {
      r = Math.floor(p / 2 ** (32 - n)) % 65536;
      c = Math.floor(p / 2 ** (48 - n)) % 2;
    } else {
      r = Math.floor(p / 2 ** n) % 65536;
      c = Math.floor(p / 2 ** (n - 1)) % 2;
    }
    fl = c | szp(2, r) | ((left ? (d ^ (d << 1)) & 0x8000 : ((d >> 15) & 1) ^ (s & 1)) ? OF : 0);
  }
  if (mem) writeMem(cpu, lin, size, r, rHi);
  else writeReg(cpu, i, i.rm, size, r, rHi);
  cpu.flags.setEager(fl);
}

def(MAP_0F + 0xa4, (cpu, i) => doubleShift(cpu, i, true, i.imm));
def(MAP_0F + 0xa5, (cpu, i) => doubleShift(cpu, i, true, cpu.lo[RCX]!));
def(MAP_0F + 0xac, (cpu, i) => doubleShift(cpu, i, false, i.imm));
def(MAP_0F + 0xad, (cpu, i) => doubleShift(cpu, i, false, cpu.lo[RCX]!));
